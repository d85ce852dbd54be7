"""The one redirect_uri: check the state and its browser, claim it for the code once, apply the outcome.

Also the embedded QR's hand-off: its callback may run in WeChat's cookie-less iframe, finish server-side
and send the top window to `finish`, which only the browser that started the flow can use.
"""

from __future__ import annotations

import re

from aiohttp import web

from webapp.accounts.account import Account
from webapp.accounts.session import (
    current_user,
    login_user,
    mark_recent_auth,
)
from webapp.browser import current_binding
from webapp.i18n import gettext as _
from webapp.keys import cipher_key, clock_key, database_key, settings_key, state_signer_key, wechat_client_key
from webapp.observability import metrics
from webapp.responses import found
from webapp.sessions import draft_session
from webapp.templating import flash, render
from webapp.wechat import flow, flowcookie, grants, logins, service, states
from webapp.wechat.errors import WeChatError
from webapp.wechat.outcome import FAILURE_STATUS, Outcome, failure
from webapp.wechat.pages import remember_outcome

CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}", re.ASCII)


async def callback(request: web.Request) -> web.StreamResponse:
    """The one redirect_uri: check the state and its browser, exchange the code once, then leave this URL."""
    # Raw values: anything odd (controls included) is simply "not a valid link", checked by the patterns.
    state, code = request.query.get("state", ""), request.query.get("code", "")
    in_frame = request.headers.get("Sec-Fetch-Dest") == "iframe"
    ticket = request.app[state_signer_key].read(state) if states.is_well_formed(state) else None
    if ticket is None or (code and not CODE_PATTERN.fullmatch(code)):
        return await _problem(request, "bad_link", in_frame=in_frame)
    embedded = ticket.flow == "embedded"
    mine = request.app[state_signer_key].bound_to(ticket, current_binding(request))
    if ticket.expired(request.app[clock_key]()):
        payload = flowcookie.recall(request, ticket) if mine else None
        return await _problem(request, "expired_link", in_frame=in_frame or embedded, payload=payload)
    # The embedded QR's callback may run in WeChat's cookie-less iframe: it finishes server-side and hands
    # over to the top window, which must prove it is the browser that started (see finish).
    handed_off = embedded and (in_frame or not mine)
    if not mine and not (embedded and in_frame):
        metrics.oauth_state("rejected")
        return await _problem(request, "other_browser", in_frame=in_frame)
    payload = flowcookie.recall(request, ticket) if mine else None
    if payload is None and embedded:
        payload = flowcookie.FlowPayload("login")
    if payload is None:  # this browser started it, but its flow cookie is gone (expired with the state)
        return await _problem(request, "expired_link", in_frame=in_frame)
    if not code:  # the person cancelled (older WeChat redirects with the state alone)
        return await _apply(request, ticket, payload, Outcome("cancelled"), count=True)
    return await _deliver(request, ticket, payload, code, handed_off=handed_off)


async def _deliver(
    request: web.Request, ticket: states.Ticket, payload: flowcookie.FlowPayload, code: str, *, handed_off: bool
) -> web.StreamResponse:
    """Claim the state for this code; the first delivery exchanges it, a repeat gets the first one's result."""
    db = request.app[database_key]
    app = flow.app_by_id(request.app[settings_key], _appid(request, ticket))
    for _attempt in range(3):
        async with db.connection() as conn:
            claim = await states.claim(
                conn, ticket, purpose=payload.purpose, appid=app.appid if app else "", next_path=payload.next_path,
                code=code, now=request.app[clock_key](),
            )
        metrics.oauth_state("completed" if claim.kind == "owner" else "rejected")
        if claim.kind == "replayed":
            return await _replayed(request, payload)
        if claim.kind == "owner":
            outcome = await _complete(request, ticket, payload, code, session_here=not handed_off)
            _count_login(ticket, payload, outcome)
            break
        result = await states.wait_result(db, ticket.key)  # the same code again: a double delivery, a reload
        if result != "gone":
            outcome = Outcome.from_json(result) if isinstance(result, dict) else Outcome("failed", reason="unavailable")
            break
    else:
        outcome = Outcome("failed", reason="unavailable")
    if handed_off:  # a failure left no row behind: the top window is told which one
        return await _handoff(request, ticket.state, failed=outcome.reason if outcome.kind == "failed" else "")
    # The flow cookie stays until the state expires: a second delivery in this browser still needs it.
    return await _apply(request, ticket, payload, outcome)


def _appid(request: web.Request, ticket: states.Ticket) -> str:
    """The appid of the app that serves the ticket's flow."""
    settings = request.app[settings_key]
    app = flow.official_account(settings) if ticket.flow.startswith("mp_") else flow.website_app(settings)
    return app.appid if app else ""


def _count_login(ticket: states.Ticket, payload: flowcookie.FlowPayload, outcome: Outcome) -> None:
    """One login attempt in the metrics (logins only; binds and re-authentication are not logins)."""
    if payload.purpose != "login" or outcome.kind == "need_userinfo":
        return
    label = {"login": "success", "cancelled": "cancelled", "conflict": "conflict", "snapshot": "snapshot"}.get(
        outcome.kind, {"disabled": "disabled", "code_expired": "expired"}.get(outcome.reason, "error")
    )
    metrics.login(flow.METHODS.get(ticket.flow, "wechat_qr"), label)


async def _complete(
    request: web.Request, ticket: states.Ticket, payload: flowcookie.FlowPayload, code: str, *, session_here: bool
) -> Outcome:
    """Exchange the code and apply the rules of the flow's purpose; the result is recorded with the claim.

    session_here: this request logs its browser in, so a login writes the new session in its own statement.
    A failure that changed nothing releases the claim instead: junk callbacks leave no rows.
    """
    db, now = request.app[database_key], request.app[clock_key]()
    app = flow.app_by_id(request.app[settings_key], _appid(request, ticket))
    try:
        if app is None:
            return await _record(request, ticket, Outcome("failed", reason="misconfigured"))
        client = request.app[wechat_client_key]
        grant = await grants.exchange(client, app, code)
        if isinstance(grant, Outcome):
            return await _record(request, ticket, grant)
        cipher, actor = request.app[cipher_key], flow.actor(request, ticket.flow)
        if payload.purpose == "bind" and payload.user_id is not None:
            grant = await grants.with_profile(client, app, grant)  # a bound identity shows its profile
            return await service.bind(
                db, cipher, app, grant, user_id=payload.user_id, actor=actor, now=now, state=ticket.key
            )
        if payload.purpose == "reauth" and payload.user_id is not None:
            return await service.reauthenticate(
                db, cipher, app, grant, user_id=payload.user_id, actor=actor, now=now, state=ticket.key
            )
        return await service.login(
            db, cipher, app, grant, actor=actor, now=now, state=ticket.key,
            fetch_profile=lambda g: grants.with_profile(client, app, g),
            session=draft_session(request, now) if session_here else None,
            consent_url=request.app[settings_key].privacy_url,  # the login page says so beside the QR and button
        )
    except WeChatError as exc:  # e.g. a profile that names another person than the token: nothing written
        assert app is not None
        return await _record(request, ticket, failure(exc, app=app))
    except BaseException:  # a bug or a cancellation: a waiting second delivery must not hang
        await _record(request, ticket, Outcome("failed", reason="error"))
        raise


async def _record(request: web.Request, ticket: states.Ticket, outcome: Outcome) -> Outcome:
    """Keep a result a second delivery must see; release the claim of one that changed nothing."""
    async with request.app[database_key].connection() as conn:
        if outcome.kind in ("failed", "cancelled"):
            await states.release(conn, ticket.key)
        else:
            await logins.save_result(conn, ticket.key, outcome)
    return outcome


async def _apply(
    request: web.Request, ticket: states.Ticket, payload: flowcookie.FlowPayload, outcome: Outcome, *,
    count: bool = False,
) -> web.StreamResponse:
    """Act on the outcome in this browser, then redirect to a clean URL."""
    if count:
        _count_login(ticket, payload, outcome)
    method = flow.METHODS.get(ticket.flow, "wechat")
    if outcome.kind == "login" and outcome.user_id is not None:
        account = await _account(request, outcome)
        if account is None:
            return await _problem(request, "disabled")
        await login_user(request, account, method=method, stored=outcome.session)
        if outcome.created:
            await remember_outcome(request, outcome, next_path=payload.next_path, fresh_user_id=account.id)
            return found(request.app.router["wechat_continue"].url_for())
        return found(payload.next_path)
    if outcome.kind in ("bound", "already_bound"):
        message = _("WeChat is now bound to your account.") if outcome.kind == "bound" else _("This WeChat was already bound to your account.")
        await flash(request, message, "success")
        return found(request.app.router["settings"].url_for())
    user = await current_user(request)
    if outcome.kind == "reauthenticated" and user is not None and user.id == payload.user_id:
        await mark_recent_auth(request, method="wechat")
        return found(payload.next_path)
    await remember_outcome(request, outcome, next_path=payload.next_path, purpose=payload.purpose, method=method)
    return found(request.app.router["wechat_continue"].url_for())


async def _account(request: web.Request, outcome: Outcome) -> Account | None:
    """The account just logged in (loaded by the login itself, or again for a repeated delivery)."""
    fields = await service.logged_in_account(request.app[database_key], outcome)
    return Account.from_row(fields) if fields is not None else None


async def _handoff(request: web.Request, state: str, *, failed: str = "") -> web.Response:
    """Inside WeChat's QR iframe (no session cookie there): send the top window to finish."""
    query = {"state": state, **({"failed": failed} if failed else {})}
    finish = request.app.router["wechat_finish"].url_for().with_query(query)
    return await _frame_page(request, str(finish))


async def _frame_page(request: web.Request, top_url: str) -> web.Response:
    response = await render(request, "wechat/handoff.html", {"finish_url": top_url})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _replayed(request: web.Request, payload: flowcookie.FlowPayload) -> web.StreamResponse:
    """A used state in the browser that started it: fine for whoever is already logged in, an error otherwise."""
    if await current_user(request) is not None and payload.purpose == "login":
        return found(payload.next_path)
    return await _problem(request, "used_link", payload=payload)


async def _problem(
    request: web.Request, reason: str, *, in_frame: bool = False, payload: flowcookie.FlowPayload | None = None
) -> web.StreamResponse:
    """Explain a bad link; inside the embedded QR's frame, hand the top window a fresh QR instead."""
    next_path = payload.next_path if payload is not None else "/"
    if in_frame and reason in ("expired_link", "bad_link", "other_browser"):
        login = request.app.router["login"].url_for().with_query(next=next_path, qr="expired")
        return await _frame_page(request, str(login))
    purpose = payload.purpose if payload is not None else "login"
    await remember_outcome(request, Outcome("failed", reason=reason), next_path=next_path, purpose=purpose)
    return found(request.app.router["wechat_continue"].url_for())


async def finish(request: web.Request) -> web.StreamResponse:
    """The top window takes over an embedded login finished server-side (single use, same browser only)."""
    state = request.query.get("state", "")
    signer = request.app[state_signer_key]
    ticket = signer.read(state) if states.is_well_formed(state) else None
    if ticket is None or ticket.flow != "embedded":
        return await _problem(request, "bad_link")
    if not signer.bound_to(ticket, current_binding(request)):
        return await _problem(request, "other_browser")
    payload = flowcookie.recall(request, ticket) or flowcookie.FlowPayload("login")
    if ticket.expired(request.app[clock_key]()):
        return await _problem(request, "expired_link", payload=payload)
    failed = request.query.get("failed", "")
    if failed in FAILURE_STATUS:  # the frame's exchange failed and released its claim (only what to say is read)
        return await _problem(request, failed, payload=payload)
    taken, result = await _take_handoff(request, ticket)
    if taken == "used":
        return await _replayed(request, payload)
    if taken != "ok" or not isinstance(result, dict):
        return await _problem(request, "expired_link", payload=payload)
    return await _apply(request, ticket, payload, Outcome.from_json(result))


async def _take_handoff(request: web.Request, ticket: states.Ticket) -> tuple[str, object]:
    """The frame's result for the top window, waiting if the frame's request is still at WeChat."""
    db = request.app[database_key]
    async with db.connection() as conn:
        taken, result = await states.take_handoff(conn, ticket.key)
    if taken == "working" and isinstance(await states.wait_result(db, ticket.key), dict):
        async with db.connection() as conn:
            taken, result = await states.take_handoff(conn, ticket.key)
    return taken, result
