"""What pages outside this package show of WeChat: the settings section and the login options."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.accounts.session import has_recent_auth
from webapp.keys import db_key, settings_key
from webapp.models import User
from webapp.profile import identity_json
from webapp.wechat import flow, repository


async def settings_panel(request: web.Request, user: User) -> dict[str, Any]:
    """Context for templates/wechat/settings_panel.html."""
    settings = request.app[settings_key]
    async with request.app[db_key]() as s:
        identities = await repository.identities_of(s, user.id)
    return {
        "wechat_identities": [
            {
                **identity_json(i),
                "kind": i.app_kind,
                "access_expires_label": i.access_expires_at.strftime("%Y-%m-%d %H:%M UTC") if i.access_expires_at else "",
            }
            for i in identities
        ],
        "wechat_can_bind": flow.available_flow(request, step_up=True) is not None and not identities,
        "wechat_can_unbind": bool(identities) and user.password_hash is not None,
        "wechat_last_method": bool(identities) and user.password_hash is None,
        "wechat_recent_auth": await has_recent_auth(request),
        "wechat_configured": flow.website_app(settings) is not None or flow.official_account(settings) is not None,
    }


async def login_options(request: web.Request, next_path: str) -> dict[str, Any]:
    """Context for templates/wechat/login_options.html: redirect link and embedded QR."""
    settings = request.app[settings_key]
    chosen = flow.available_flow(request)
    context: dict[str, Any] = {"wechat_flow": chosen, "wechat_embed": None}
    if chosen is None:
        return context
    context["wechat_start_url"] = str(request.app.router["wechat_start"].url_for().with_query(next=next_path))
    app = flow.website_app(settings)
    if chosen == "qr" and app is not None:
        state, _app = await flow.new_state(request, flow="embedded", purpose="login", next_path=next_path)
        context["wechat_embed"] = {
            "js_url": settings.wechat_js_url,
            "appid": app.appid,
            "redirect_uri": settings.callback_url,
            "state": state,
            "self_redirect": request.query.get("self_redirect", "true") != "false",
        }
    return context
