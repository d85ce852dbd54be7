"""WeChat login and binding handlers: start, the embedded QR's state, outcome page, bind, unbind, re-auth by scan.

The callback and the embedded QR's hand-off are in callback.py.
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from webapp.accounts import resume
from webapp.accounts.forms import field_text
from webapp.accounts.session import (
    current_user,
    has_recent_auth,
    login_required,
    require_user,
)
from webapp.accounts.views import confirm_url
from webapp.clientinfo import is_phone_without_wechat
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key
from webapp.responses import found
from webapp.security import safe_next
from webapp.templating import flash
from webapp.wechat import binding, flow, pages, phone, service, states
from webapp.wechat.pages import forget_outcome


async def start(request: web.Request) -> web.Response:
    """Send the browser to WeChat: official account inside WeChat, QR page elsewhere (writes nothing)."""
    next_path = safe_next(request.query.get("next"))
    chosen = flow.available_flow(request, step_up=field_text(request.query, "scope") == "userinfo")
    if chosen is None and is_phone_without_wechat(request):
        return await phone.open_in_wechat_page(request, next_path)
    if chosen is None:
        raise web.HTTPNotFound()
    state, app = flow.new_state(request, flow=chosen, purpose="login", next_path=next_path)
    return found(URL(flow.authorize_url(request, chosen, app, state), encoded=True))


async def embed_state(request: web.Request) -> web.Response:
    """A fresh state for the QR embedded in the login page, asked for by its script (writes nothing)."""
    if flow.available_flow(request) != "qr" or await current_user(request) is not None:
        raise web.HTTPNotFound()
    next_path = safe_next(request.query.get("next"))
    try:
        state, _app = flow.new_state(request, flow="embedded", purpose="login", next_path=next_path, from_script=True)
    except flow.NoBinding:  # the page that runs this script gives the binding; without cookies there is none
        return web.json_response({"error": "no_binding"}, status=409)
    return web.json_response({"state": state, "expires_in": int(states.STATE_TTL.total_seconds())})


async def continue_page(request: web.Request) -> web.Response:
    """Explain what happened: step-up, snapshot, cancelled, failure, conflict, or a new account."""
    return await pages.outcome_page(request)


async def link_existing(request: web.Request) -> web.StreamResponse:
    """"I already have an account": log in with the password and move this WeChat onto that account."""
    return await pages.link_existing_account(request)


@login_required
async def bind(request: web.Request) -> web.StreamResponse:
    """Start binding WeChat to the logged-in account (needs a recent login)."""
    user = await require_user(request)
    if not await has_recent_auth(request):
        resume.remember(request, "bind", user_id=user.id, next_path="/settings#wechat")  # confirming carries it on
        raise web.HTTPFound(confirm_url(request, "/settings#wechat"))
    authorize = await binding.start_bind(request, user)
    if authorize is None and is_phone_without_wechat(request):
        raise web.HTTPFound("/settings#wechat")  # the WeChat section says how to bind from this phone
    if authorize is None:
        raise web.HTTPNotFound()
    raise web.HTTPFound(URL(authorize, encoded=True))


@login_required
async def reauth(request: web.Request) -> web.StreamResponse:
    """Confirm it's you by scanning a WeChat already bound to this account."""
    user = await require_user(request)
    next_path = safe_next(field_text(await request.post(), "next"), "/settings")
    chosen = flow.available_flow(request, step_up=True)
    if chosen is None or not user.wechat:
        await flash(request, _("No WeChat that can confirm it's you is bound to this account here. Use your password."), "error")
        raise web.HTTPFound(confirm_url(request, next_path))
    state, app = flow.new_state(request, flow=chosen, purpose="reauth", next_path=next_path, user_id=user.id)
    raise web.HTTPFound(URL(flow.authorize_url(request, chosen, app, state), encoded=True))


@login_required
async def unbind(request: web.Request) -> web.StreamResponse:
    """Unbind WeChat, unless it is the account's last way to log in (needs a recent login)."""
    user = await require_user(request)
    if not await has_recent_auth(request):
        raise web.HTTPFound(confirm_url(request, "/settings#wechat"))
    try:
        removed = await service.unbind(
            request.app[database_key], user_id=user.id, actor=flow.actor(request, "unbind"), now=request.app[clock_key]()
        )
    except service.LastLoginMethod:
        await flash(request, _("WeChat is the only way you can log in. Set a password first, then unbind WeChat."), "error")
    else:
        if removed:
            await flash(request, _("WeChat has been unbound from your account."), "success")
    forget_outcome(request)
    raise web.HTTPFound(request.app.router["settings"].url_for())
