"""WeChat login and binding handlers: start, callback, hand-off, outcome page, bind, unbind, re-auth by scan."""

from __future__ import annotations

import re

from aiohttp import web
from yarl import URL

from webapp.accounts import resume
from webapp.accounts.account import Account
from webapp.accounts.forms import field_text
from webapp.accounts.session import (
    current_user,
    has_recent_auth,
    login_required,
    login_user,
    mark_recent_auth,
    require_user,
)
from webapp.accounts.views import confirm_url
from webapp.clientinfo import is_phone_without_wechat
from webapp.i18n import gettext as _
from webapp.keys import cipher_key, clock_key, database_key, settings_key, wechat_client_key
from webapp.observability import metrics
from webapp.security import safe_next
from webapp.sessions import draft_session
from webapp.templating import flash, render
from webapp.wechat import binding, flow, grants, logins, pages, phone, service, states
from webapp.wechat.errors import WeChatError
from webapp.wechat.outcome import Outcome, failure
from webapp.wechat.pages import forget_outcome, remember_outcome
from webapp.wechat.states import StateRow

CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}", re.ASCII)


async def start(request: web.Request) -> web.Response:
    """Send the browser to WeChat: official account inside WeChat, QR page elsewhere."""
    next_path = safe_next(request.query.get("next"))
    chosen = flow.available_flow(request, step_up=field_text(request.query, "scope") == "userinfo")
    if chosen is None and is_phone_without_wechat(request):
        return await phone.open_in_wechat_page(request, next_path)
    if chosen is None:
        raise web.HTTPNotFound()
    state, app = await flow.new_state(request, flow=chosen, purpose="login", next_path=next_path)
    raise web.HTTPFound(URL(flow.authorize_url(request, chosen, app, state), encoded=True))


async def embed_state(request: web.Request) -> web.Response:
    """A fresh state for the QR embedded in the login page, asked for by its script (so page views write nothing)."""
    if flow.available_flow(request) != "qr" or await current_user(request) is not None:
        raise web.HTTPNotFound()
    next_path = safe_next(request.query.get("next"))
    state, _app = await flow.new_state(request, flow="embedded", purpose="login", next_path=next_path)
    return web.json_response({"state": state, "expires_in": int(states.STATE_TTL.total_seconds())})


async def callback(request: web.Request) -> web.StreamResponse:
    """The one redirect_uri: check the state, exchange the code once, then leave this URL at once."""
    # Raw values: anything odd (controls included) is simply "not a valid link", checked by the patterns.
    state, code = request.query.get("state", ""), request.query.get("code", "")
    in_frame = request.headers.get("Sec-Fetch-Dest") == "iframe"
    if not states.is_well_formed(state) or (code and not CODE_PATTERN.fullmatch(code)):
        return await _problem(request, "bad_link", in_frame=in_frame)
    db, now, nonce = request.app[database_key], request.app[clock_key](), await flow.current_nonce(request)
    async with db.connection() as conn:
        if code:
            claim = await states.claim(conn, state, code=code, browser_nonce=nonce, now=now)
        else:  # no code: the person cancelled (older WeChat redirects with the state alone)
            row = await states.load_live(conn, state, now=now)
            claim = states.Claim("owner" if row and row.started_by(nonce) else "other_browser" if row else "expired", row)
    row = claim.row
    metrics.oauth_state("completed" if claim.kind == "owner" else "rejected")
    if claim.kind in ("missing", "expired", "other_browser") or row is None:
        reason = {"missing": "bad_link", "expired": "expired_link"}.get(claim.kind, "other_browser")
        return await _problem(request, reason, in_frame=in_frame or (row is not None and row.flow == "embedded"),
                              row=row)
    if claim.kind == "replayed":
        return await _replayed(request, row)
    if not code:
        outcome = Outcome("cancelled")
        _count_login(row, outcome)
    elif claim.kind == "owner":
        handed_off = row.flow == "embedded" and (in_frame or not row.started_by(nonce))
        outcome = await _complete(request, row, code, session_here=not handed_off)
        _count_login(row, outcome)
    else:  # the same code again (double delivery, a reload): the first delivery's result
        result = await states.wait_result(db, state)
        outcome = Outcome.from_json(result) if result else Outcome("failed", reason="unavailable")
    if row.flow == "embedded" and (in_frame or not row.started_by(nonce)):
        return await _handoff(request, state)
    return await _apply(request, row, outcome)


def _count_login(row: StateRow, outcome: Outcome) -> None:
    """One login attempt in the metrics (logins only; binds and re-authentication are not logins)."""
    if row.purpose != "login" or outcome.kind == "need_userinfo":
        return
    label = {"login": "success", "cancelled": "cancelled", "conflict": "conflict", "snapshot": "snapshot"}.get(
        outcome.kind, {"disabled": "disabled", "code_expired": "expired"}.get(outcome.reason, "error")
    )
    metrics.login(flow.METHODS.get(row.flow, "wechat_qr"), label)


async def _complete(request: web.Request, row: StateRow, code: str, *, session_here: bool) -> Outcome:
    """Exchange the code and apply the rules of the state's purpose; the result is always recorded.

    session_here: this request logs its browser in, so a login writes the new session in its own statement.
    """
    db, now = request.app[database_key], request.app[clock_key]()
    app = flow.app_by_id(request.app[settings_key], row.appid)
    try:
        if app is None:
            return await _record(request, row, Outcome("failed", reason="misconfigured"))
        client = request.app[wechat_client_key]
        grant = await grants.exchange(client, app, code)
        if isinstance(grant, Outcome):
            return await _record(request, row, grant)
        cipher, actor = request.app[cipher_key], flow.actor(request, row.flow)
        if row.purpose == "bind" and row.user_id is not None:
            grant = await grants.with_profile(client, app, grant)  # a bound identity shows its profile
            return await service.bind(db, cipher, app, grant, user_id=row.user_id, actor=actor, now=now, state=row.state)
        if row.purpose == "reauth" and row.user_id is not None:
            return await service.reauthenticate(
                db, cipher, app, grant, user_id=row.user_id, actor=actor, now=now, state=row.state
            )
        return await service.login(
            db, cipher, app, grant, actor=actor, now=now, state=row.state,
            fetch_profile=lambda g: grants.with_profile(client, app, g),
            session=draft_session(request, now) if session_here else None,
        )
    except WeChatError as exc:  # e.g. a profile that names another person than the token: nothing written
        assert app is not None
        return await _record(request, row, failure(exc, app=app))
    except BaseException:  # a bug or a cancellation: a waiting second delivery must not hang
        await _record(request, row, Outcome("failed", reason="error"))
        raise


async def _record(request: web.Request, row: StateRow, outcome: Outcome) -> Outcome:
    async with request.app[database_key].connection() as conn:
        await logins.save_result(conn, row.state, outcome)
    return outcome


async def _apply(request: web.Request, row: StateRow, outcome: Outcome) -> web.StreamResponse:
    """Act on the outcome in this browser, then redirect to a clean URL."""
    if outcome.kind == "login" and outcome.user_id is not None:
        account = await _account(request, outcome)
        if account is None:
            return await _problem(request, "disabled")
        await login_user(request, account, method=flow.METHODS.get(row.flow, "wechat"), stored=outcome.session)
        if outcome.created:
            await remember_outcome(request, outcome, next_path=row.next_path, fresh_user_id=account.id)
            raise web.HTTPFound(request.app.router["wechat_continue"].url_for())
        raise web.HTTPFound(row.next_path)
    if outcome.kind in ("bound", "already_bound"):
        message = _("WeChat is now bound to your account.") if outcome.kind == "bound" else _("This WeChat was already bound to your account.")
        await flash(request, message, "success")
        raise web.HTTPFound(request.app.router["settings"].url_for())
    user = await current_user(request)
    if outcome.kind == "reauthenticated" and user is not None and user.id == row.user_id:
        await mark_recent_auth(request, method="wechat")
        raise web.HTTPFound(row.next_path)
    await remember_outcome(
        request, outcome, next_path=row.next_path, purpose=row.purpose, method=flow.METHODS.get(row.flow, "")
    )
    raise web.HTTPFound(request.app.router["wechat_continue"].url_for())


async def _account(request: web.Request, outcome: Outcome) -> Account | None:
    """The account just logged in (loaded by the login itself, or again for a repeated delivery)."""
    fields = await service.logged_in_account(request.app[database_key], outcome)
    return Account.from_row(fields) if fields is not None else None


async def _handoff(request: web.Request, state: str) -> web.Response:
    """Inside WeChat's QR iframe (no session cookie there): send the top window to finish."""
    finish = request.app.router["wechat_finish"].url_for().with_query(state=state)
    return await _frame_page(request, str(finish))


async def _frame_page(request: web.Request, top_url: str) -> web.Response:
    response = await render(request, "wechat/handoff.html", {"finish_url": top_url})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _replayed(request: web.Request, row: StateRow) -> web.StreamResponse:
    """A used state with another code: fine for whoever is already logged in, an error otherwise."""
    if await current_user(request) is not None and row.purpose == "login":
        raise web.HTTPFound(row.next_path)
    return await _problem(request, "used_link", row=row)


async def _problem(
    request: web.Request, reason: str, *, in_frame: bool = False, row: StateRow | None = None
) -> web.StreamResponse:
    """Explain a bad link; inside the embedded QR's frame, hand the top window a fresh QR instead."""
    next_path = row.next_path if row is not None else "/"
    if in_frame and reason in ("expired_link", "bad_link", "other_browser"):
        login = request.app.router["login"].url_for().with_query(next=next_path, qr="expired")
        return await _frame_page(request, str(login))
    purpose = row.purpose if row is not None else "login"
    await remember_outcome(request, Outcome("failed", reason=reason), next_path=next_path, purpose=purpose)
    raise web.HTTPFound(request.app.router["wechat_continue"].url_for())


async def finish(request: web.Request) -> web.StreamResponse:
    """The top window takes over an embedded login finished server-side (single use, same browser)."""
    state = request.query.get("state", "")
    if not states.is_well_formed(state):
        return await _problem(request, "bad_link")
    async with request.app[database_key].connection() as conn:
        row = await states.load_live(conn, state, now=request.app[clock_key]())
        if row is None or row.result is None:
            return await _problem(request, "expired_link", row=row)
        if not row.started_by(await flow.current_nonce(request)):
            return await _problem(request, "other_browser", row=row)
        claimed = await states.mark_claimed(conn, row.state)
    if not claimed:
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
    state, app = await flow.new_state(request, flow=chosen, purpose="reauth", next_path=next_path, user_id=user.id)
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
