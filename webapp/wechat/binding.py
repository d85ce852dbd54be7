"""Starting a bind, from the settings button or carried on after "confirm it's you"."""

from __future__ import annotations

from aiohttp import web

from webapp.accounts.account import Account
from webapp.wechat import flow


async def start_bind(request: web.Request, user: Account) -> str | None:
    """WeChat's authorization URL binding to `user` (a new state), or None when this browser cannot bind."""
    chosen = flow.available_flow(request, step_up=True)
    if chosen is None:
        return None
    state, app = flow.new_state(request, flow=chosen, purpose="bind", next_path="/settings", user_id=user.id)
    return flow.authorize_url(request, chosen, app, state)


def can_bind(request: web.Request, user: Account) -> bool:
    """Binding is offered: a flow serves this browser and the account has no WeChat yet."""
    return not user.wechat and flow.available_flow(request, step_up=True) is not None
