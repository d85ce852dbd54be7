"""Who is logged in: log in (new session id), log out, the current user, recent-authentication checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web
from aiohttp_session import get_session, new_session

from webapp.accounts import repository
from webapp.csrf import SESSION_FIELD
from webapp.keys import clock_key, db_key, settings_key
from webapp.models import User
from webapp.security import random_token
from webapp.sessions import storage_of

user_key = web.RequestKey("current_user", User | None)  # type: ignore[arg-type]
# Authentication state is made afresh at login; the rest (flash messages, the WeChat browser nonce) carries over.
_RESET_ON_LOGIN = ("uid", "auth_at", SESSION_FIELD)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def current_user(request: web.Request) -> User | None:
    """The logged-in user, loaded once per request; None when anonymous."""
    if user_key in request:
        return request[user_key]
    session = await get_session(request)
    uid = session.get("uid")
    user = None
    if isinstance(uid, int):
        async with request.app[db_key]() as s:
            user = await repository.get_user(s, uid)
        if user is None:  # account deleted: forget the stale session
            session.invalidate()
    request[user_key] = user
    return user


async def login_user(request: web.Request, user: User) -> None:
    """Start a fresh session for `user`: a new id (no fixation) and a new CSRF token."""
    old = await get_session(request)
    kept = {k: v for k, v in old.items() if k not in _RESET_ON_LOGIN}
    old_key = old.identity
    session = await new_session(request)
    session.update(kept)
    session["uid"] = user.id
    session["auth_at"] = request.app[clock_key]().timestamp()
    session[SESSION_FIELD] = random_token()
    if old_key:
        await storage_of(request).delete(old_key)
    request[user_key] = user


async def logout_user(request: web.Request) -> None:
    """End the session on the server and in the browser."""
    session = await get_session(request)
    session.invalidate()
    request[user_key] = None


async def mark_recent_auth(request: web.Request) -> None:
    """Record that the user just proved who they are (password or WeChat)."""
    session = await get_session(request)
    session["auth_at"] = request.app[clock_key]().timestamp()


async def has_recent_auth(request: web.Request) -> bool:
    """True when the user authenticated within the configured window (10 minutes)."""
    session = await get_session(request)
    auth_at = session.get("auth_at")
    if not isinstance(auth_at, (int, float)):
        return False
    age = request.app[clock_key]().timestamp() - auth_at
    return 0 <= age <= request.app[settings_key].recent_auth_s


def login_required(handler: Handler) -> Handler:
    """Redirect anonymous visitors to the login page, coming back here afterwards."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if await current_user(request) is None:
            if request.path.startswith("/api/"):
                raise web.HTTPUnauthorized()
            login = request.app.router["login"].url_for().with_query(next=request.path_qs)
            raise web.HTTPFound(login)
        return await handler(request)

    return wrapper
