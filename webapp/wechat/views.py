"""WeChat login and binding handlers: start, callback, hand-off, outcome page, bind, unbind."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session
from yarl import URL

from webapp.accounts.session import current_user, has_recent_auth, login_required, login_user
from webapp.i18n import gettext as _
from webapp.keys import cipher_key, clock_key, db_key, settings_key, wechat_client_key
from webapp.models import OAuthState, User
from webapp.security import safe_next
from webapp.templating import flash, render
from webapp.wechat import flow, pages, service, states
from webapp.wechat.outcome import Outcome
from webapp.wechat.pages import OUTCOME_KEY, remember_outcome


async def start(request: web.Request) -> web.Response:
    """Send the browser to WeChat: official account inside WeChat, QR page elsewhere."""
    next_path = safe_next(request.query.get("next"))
    chosen = flow.available_flow(request, step_up=request.query.get("scope") == "userinfo")
    if chosen is None:
        raise web.HTTPNotFound()
    state, app = await flow.new_state(request, flow=chosen, purpose="login", next_path=next_path)
    raise web.HTTPFound(URL(flow.authorize_url(request, chosen, app, state), encoded=True))


async def callback(request: web.Request) -> web.StreamResponse:
    """The one redirect_uri: check the state, exchange the code once, then leave this URL at once."""
    state, code = request.query.get("state"), request.query.get("code")
    sm, now = request.app[db_key], request.app[clock_key]()
    if not states.is_well_formed(state):
        return await _problem(request, "bad_link")
    assert state is not None
    row = await states.load_live(sm, state, now=now)
    if row is None:
        return await _problem(request, "expired_link")
    same_browser = states.started_by(row, await flow.current_nonce(request))
    in_iframe = row.flow == "embedded" and (not same_browser or request.headers.get("Sec-Fetch-Dest") == "iframe")
    if not same_browser and not in_iframe:
        return await _problem(request, "other_browser")  # nothing exchanged: the real browser may still come
    if not code:
        outcome = Outcome("cancelled")
    else:
        claim = await states.claim(sm, state, code=code, now=now)
        if claim.kind == "owner":
            outcome = await _complete(request, row, code)
        elif claim.kind == "same_code":  # double delivery or reload: reuse the first delivery's result
            result = await states.wait_result(sm, state)
            outcome = Outcome.from_json(result) if result else Outcome("failed", reason="unavailable")
        else:
            return await _replayed(request, row)
    if in_iframe:
        return await _handoff(request, state)
    return await _apply(request, row, outcome)


async def _complete(request: web.Request, row: OAuthState, code: str) -> Outcome:
    """Exchange the code and apply the login or bind rules; always record a result."""
    sm, now = request.app[db_key], request.app[clock_key]()
    outcome = Outcome("failed", reason="error")
    try:
        app = flow.app_by_id(request.app[settings_key], row.appid)
        if app is None:
            outcome = Outcome("failed", reason="misconfigured")
            return outcome
        grant = await service.fetch_grant(request.app[wechat_client_key], app, code)
        if isinstance(grant, Outcome):
            outcome = grant
        elif row.purpose == "bind" and row.user_id is not None:
            outcome = await service.bind(
                sm, request.app[cipher_key], app, grant, user_id=row.user_id,
                actor=flow.actor(request, row.flow), now=now,
            )
        else:
            outcome = await service.login(
                sm, request.app[cipher_key], app, grant, actor=flow.actor(request, row.flow), now=now
            )
        return outcome
    finally:  # also on cancellation or a bug, so a waiting second delivery is not left hanging
        await states.save_result(sm, row.state, outcome.to_json())


async def _apply(request: web.Request, row: OAuthState, outcome: Outcome) -> web.StreamResponse:
    """Act on the outcome in this browser, then redirect to a clean URL."""
    sm = request.app[db_key]
    if outcome.kind == "login" and outcome.user_id is not None:
        async with sm() as s:
            user = await s.get(User, outcome.user_id)
        if user is None:
            return await _problem(request, "expired_link")
        await login_user(request, user)
        if outcome.created:
            await remember_outcome(request, outcome, next_path=row.next_path, fresh_user_id=user.id)
            raise web.HTTPFound(request.app.router["wechat_continue"].url_for())
        raise web.HTTPFound(row.next_path)
    if outcome.kind in ("bound", "already_bound"):
        message = _("WeChat is now bound to your account.") if outcome.kind == "bound" else _("This WeChat was already bound to your account.")
        await flash(request, message, "success")
        raise web.HTTPFound(request.app.router["settings"].url_for())
    await remember_outcome(request, outcome, next_path=row.next_path, purpose=row.purpose)
    raise web.HTTPFound(request.app.router["wechat_continue"].url_for())


async def _handoff(request: web.Request, state: str) -> web.Response:
    """Inside WeChat's QR iframe (no session cookie there): send the top window to finish."""
    finish = request.app.router["wechat_finish"].url_for().with_query(state=state)
    response = await render(request, "wechat/handoff.html", {"finish_url": str(finish)})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _replayed(request: web.Request, row: OAuthState) -> web.StreamResponse:
    """A used state with another code: fine for whoever is already logged in, an error otherwise."""
    if await current_user(request) is not None and row.purpose == "login":
        raise web.HTTPFound(row.next_path)
    return await _problem(request, "used_link")


async def _problem(request: web.Request, reason: str) -> web.StreamResponse:
    await remember_outcome(request, Outcome("failed", reason=reason), next_path="/")
    raise web.HTTPFound(request.app.router["wechat_continue"].url_for())


async def finish(request: web.Request) -> web.StreamResponse:
    """The top window takes over an embedded login finished server-side (single use, same browser)."""
    state = request.query.get("state")
    sm = request.app[db_key]
    row = await states.load_live(sm, state, now=request.app[clock_key]()) if states.is_well_formed(state) else None
    if row is None or row.result is None:
        return await _problem(request, "expired_link")
    if not states.started_by(row, await flow.current_nonce(request)):
        return await _problem(request, "other_browser")
    if not await states.mark_claimed(sm, row.state):
        return await _replayed(request, row)
    return await _apply(request, row, Outcome.from_json(row.result))


async def continue_page(request: web.Request) -> web.Response:
    """Explain what happened: step-up, snapshot, cancelled, failure, conflict, or a new account."""
    return await pages.outcome_page(request)


async def link_existing(request: web.Request) -> web.StreamResponse:
    """"I already have an account": log in with the password and move this WeChat onto that account."""
    return await pages.link_existing_account(request)


@login_required
async def bind(request: web.Request) -> web.StreamResponse:
    """Start binding WeChat to the logged-in account (needs a recent login)."""
    user = await current_user(request)
    assert user is not None
    if not await has_recent_auth(request):
        return await render(request, "wechat/reauth.html", {"action": "bind"}, status=403)
    chosen = flow.available_flow(request, step_up=True)
    if chosen is None:
        raise web.HTTPNotFound()
    state, app = await flow.new_state(request, flow=chosen, purpose="bind", next_path="/settings", user_id=user.id)
    raise web.HTTPFound(URL(flow.authorize_url(request, chosen, app, state), encoded=True))


@login_required
async def unbind(request: web.Request) -> web.StreamResponse:
    """Unbind WeChat, unless it is the account's last way to log in (needs a recent login)."""
    user = await current_user(request)
    assert user is not None
    if not await has_recent_auth(request):
        return await render(request, "wechat/reauth.html", {"action": "unbind"}, status=403)
    try:
        removed = await service.unbind(
            request.app[db_key], user_id=user.id, actor=flow.actor(request, "unbind"), now=request.app[clock_key]()
        )
    except service.LastLoginMethod:
        await flash(request, _("WeChat is the only way you can log in. Set a password first, then unbind WeChat."), "error")
    else:
        if removed:
            await flash(request, _("WeChat has been unbound from your account."), "success")
    session = await get_session(request)
    session.pop(OUTCOME_KEY, None)
    raise web.HTTPFound(request.app.router["settings"].url_for())
