"""Who is logged in: log in (new session id), log out, the current account, recent-authentication checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web

from webapp import requeststate
from webapp.accounts.account import Account
from webapp.keys import clock_key, settings_key
from webapp.sessions import (
    SessionDraft,
    get_session,
    loaded_account,
    mark_prestored,
    new_session,
    set_account,
    storage_of,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def current_user(request: web.Request) -> Account | None:
    """The logged-in account (loaded with the session, once per request); None when anonymous."""
    if requeststate.of(request).account is requeststate.NOT_LOADED:
        await get_session(request)  # loading the session loads its account
    return loaded_account(request)


async def login_user(
    request: web.Request, account: Account, *, method: str, stored: SessionDraft | None = None
) -> None:
    """Start a fresh session for `account`: a new id (no fixation); the login counts as recent.

    `stored`: the login statement already wrote this session's row; only the cookie is left to set.
    """
    old = await get_session(request)
    old_key = old.identity
    session = await new_session(request)
    session["uid"] = account.id
    session["auth_at"] = stored.auth_at if stored else request.app[clock_key]().timestamp()
    session["auth_method"] = method
    if stored is not None:
        session.set_new_identity(stored.key)
        mark_prestored(request, stored.key)
    if old_key:
        await storage_of(request).delete(old_key)
    set_account(request, account)


async def logout_user(request: web.Request) -> None:
    """End the session on the server and in the browser."""
    session = await get_session(request)
    session.invalidate()
    set_account(request, None)


async def mark_recent_auth(request: web.Request, *, method: str) -> None:
    """Record that the user just proved who they are (password, or a scan of their own WeChat)."""
    session = await get_session(request)
    session["auth_at"] = request.app[clock_key]().timestamp()
    session["auth_method"] = method


async def has_recent_auth(request: web.Request) -> bool:
    """True when the user authenticated within RECENT_AUTH_S."""
    session = await get_session(request)
    auth_at = session.get("auth_at")
    if not isinstance(auth_at, (int, float)):
        return False
    age: float = request.app[clock_key]().timestamp() - auth_at
    return 0 <= age <= request.app[settings_key].recent_auth_s


async def session_key(request: web.Request) -> str | None:
    """The current session's cookie value (its id), if it is stored."""
    return (await get_session(request)).identity


def login_required(handler: Handler) -> Handler:
    """Redirect anonymous visitors to the login page, coming back here afterwards (401 under /api/)."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if await current_user(request) is None:
            if request.path.startswith("/api/"):
                raise web.HTTPUnauthorized()
            login = request.app.router["login"].url_for().with_query(next=request.path_qs, why="login_required")
            raise web.HTTPFound(login)
        return await handler(request)

    return wrapper


async def require_user(request: web.Request) -> Account:
    """The account of a handler behind login_required."""
    user = await current_user(request)
    if user is None:
        raise web.HTTPUnauthorized()
    return user
