"""The page after a WeChat callback (what happened and what to do next) and "I already have an account"."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.accounts import service as accounts_service
from webapp.accounts.account import Account
from webapp.accounts.errors import AccountDisabled, InvalidCredentials, TooManyAttempts
from webapp.accounts.forms import field_text
from webapp.accounts.session import current_user, login_user
from webapp.accounts.views import disabled_message, origin, too_many_attempts
from webapp.cookies import delete_later, pending, set_later
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key, outcome_signer_key, passwords_key
from webapp.security import safe_next
from webapp.templating import flash, render
from webapp.wechat import flow, merge, service
from webapp.wechat.outcome import FAILURE_STATUS, Outcome

OUTCOME_COOKIE = "webapp_wx_outcome"
FRESH_ACCOUNT_S = 600  # "I already have an account" is offered for this long after the account was made


async def remember_outcome(request: web.Request, outcome: Outcome, *, next_path: str, **extra: Any) -> None:
    """Keep the outcome for the page that explains it: a signed cookie, so anonymous browsers store nothing."""
    now = request.app[clock_key]().timestamp()
    value = {**outcome.to_json(), "next": next_path, "at": now, **extra}
    set_later(request, OUTCOME_COOKIE, request.app[outcome_signer_key].sign(value, now=now), max_age=FRESH_ACCOUNT_S)


def recalled_outcome(request: web.Request) -> dict[str, Any] | None:
    """The outcome remembered for this browser, if it is genuine and recent."""
    now = request.app[clock_key]().timestamp()
    value = request.app[outcome_signer_key].unsign(
        pending(request, OUTCOME_COOKIE), now=now, max_age_s=FRESH_ACCOUNT_S
    )
    return value if isinstance(value, dict) else None


def forget_outcome(request: web.Request) -> None:
    """Drop the remembered outcome (it no longer applies)."""
    delete_later(request, OUTCOME_COOKIE)


def _messages(reason: str) -> tuple[str, str]:
    table = {
        "bad_link": (_("This login link is not valid"), _("The link is incomplete or was changed. Start the WeChat login again.")),
        "expired_link": (_("This login link has expired"), _("WeChat logins must be finished within 10 minutes. Start again.")),
        "other_browser": (_("Finish in the browser you started in"), _("This login was started in another browser. Open it there, or start again here.")),
        "used_link": (_("This login link was already used"), _("Each WeChat login link works once. Start again.")),
        "code_expired": (_("The QR code has expired"), _("Scan again: open the WeChat login and scan the new QR code.")),
        "busy": (_("WeChat is busy"), _("WeChat asked us to slow down. Try again in a moment.")),
        "unavailable": (_("WeChat did not answer"), _("We could not reach WeChat. Try again in a moment.")),
        "misconfigured": (_("WeChat login is unavailable"), _("WeChat login is temporarily unavailable on this site. Please try again later or log in with your password.")),
        "error": (_("WeChat login failed"), _("Something went wrong at WeChat. Try again in a moment.")),
        "conflict_retry": (_("WeChat login failed"), _("Please try again.")),
        "merge_unavailable": (_("This account cannot be linked"), _("Log in with your password, then bind WeChat in settings.")),
        "bad_answer": (_("WeChat login failed"), _("WeChat sent an answer we cannot use. Try again in a moment, or log in another way.")),
        "disabled": (_("This account is disabled"), disabled_message()),
        "reauth_other_wechat": (_("That is not the WeChat bound to your account"), _("To confirm it's you, scan with the WeChat already bound to this account, or use your password. You are still logged in as before.")),
    }
    return table.get(reason, table["error"])


async def outcome_page(request: web.Request) -> web.Response:
    """Explain the last WeChat outcome of this browser; home if there is none."""
    data = recalled_outcome(request)
    if data is None:
        raise web.HTTPFound(request.app.router["home"].url_for())
    outcome = Outcome.from_json(data)
    context = _context(request, data)
    status = 200
    if outcome.kind == "failed":
        context["title"], context["message"] = _messages(outcome.reason)
        status = FAILURE_STATUS.get(outcome.reason, 400)
    elif outcome.kind == "conflict":
        status = 409
        other = merge_offer(data, await current_user(request))
        context["can_merge"] = other is not None and await merge.can_merge(
            request.app[database_key], into_user_id=data["user_id"], other_user_id=other
        )
    elif outcome.kind == "login":
        context["can_link"] = await _fresh_account(request, data) is not None
    return await render(request, "wechat/outcome.html", context, status=status)


def _context(request: web.Request, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What templates/wechat/outcome.html needs, from the outcome kept in the session."""
    next_path = safe_next(data.get("next"))
    return {
        "outcome": Outcome.from_json(data), "next_path": next_path, "purpose": data.get("purpose", "login"),
        "retry_url": _retry_url(request, data, next_path), "in_wechat": flow.in_wechat(request),
        "errors": {}, "form": {}, "can_merge": False, **extra,
    }


def _retry_url(request: web.Request, data: dict[str, Any], next_path: str) -> str:
    """Where "try again" starts over: the settings' WeChat section, the confirm page, or a new login."""
    if data.get("purpose") == "bind":
        return str(request.app.router["settings"].url_for()) + "#wechat"
    if data.get("purpose") == "reauth":
        return str(request.app.router["confirm"].url_for().with_query(next=next_path))
    return str(request.app.router["wechat_start"].url_for().with_query(next=next_path))


def merge_offer(data: dict[str, Any] | None, user: Account | None) -> int | None:
    """The account holding the WeChat this user just scanned to bind, if the outcome offers a merge."""
    if data is None or user is None or data.get("purpose") != "bind" or data.get("user_id") != user.id:
        return None
    outcome = Outcome.from_json(data)
    if outcome.kind != "conflict" or outcome.reason or outcome.other_user_id is None:
        return None
    return outcome.other_user_id


async def _fresh_account(request: web.Request, data: dict[str, Any]) -> Account | None:
    """The account this WeChat login just created, while it may still be merged into another."""
    user = await current_user(request)
    fresh_id = data.get("fresh_user_id")
    at = data.get("at")
    age = request.app[clock_key]().timestamp() - (at if isinstance(at, (int, float)) else 0)
    if user is None or user.id != fresh_id or user.has_password or not 0 <= age <= FRESH_ACCOUNT_S:
        return None
    return user


async def link_existing_account(request: web.Request) -> web.StreamResponse:
    """Log in with a password and move the just-created WeChat account's identity onto that account."""
    data = recalled_outcome(request)
    fresh = await _fresh_account(request, data) if data is not None else None
    if fresh is None or data is None:
        await flash(request, _("That offer has expired. Log in with your password, then bind WeChat in settings."), "error")
        raise web.HTTPFound(request.app.router["settings"].url_for())
    form = await request.post()
    username, password = field_text(form, "username"), field_text(form, "password")
    db, now = request.app[database_key], request.app[clock_key]()
    try:
        existing = await accounts_service.authenticate(
            db, request.app[passwords_key], username=username, password=password, origin=origin(request), now=now
        )
    except (InvalidCredentials, TooManyAttempts, AccountDisabled) as exc:
        error = (
            too_many_attempts(exc.minutes) if isinstance(exc, TooManyAttempts)
            else disabled_message() if isinstance(exc, AccountDisabled) else _("Wrong username or password.")
        )
        context = _context(request, data, can_link=True, errors={"link": error}, form={"username": username[:200]})
        return await render(request, "wechat/outcome.html", context, status=400)
    outcome = await service.merge_fresh_account(
        db, fresh_user_id=fresh.id, into_user_id=existing.id, actor=flow.actor(request, ""), now=now
    )
    if outcome.kind != "bound":
        await remember_outcome(request, outcome, next_path=safe_next(data.get("next")))
        raise web.HTTPFound(request.app.router["wechat_continue"].url_for())
    forget_outcome(request)
    await login_user(request, existing, method="password")
    await flash(request, _("WeChat is now bound to your account."), "success")
    raise web.HTTPFound(safe_next(data.get("next")))
