"""Bearer tokens: a mini program's session, sent as `Authorization: Bearer …` to any /api/* route.

A token is a web_sessions row like a browser's (so logging out everywhere else, a password change, an
administrator's logout and deletion end it the same way), keyed by the sha256 of the token and marked by
its login method. Under /api/ a request that carries a token is authenticated by it alone, never by a
cookie, sets no cookie and needs no CSRF token; a missing, unknown, expired or ended token is a JSON 401
with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp_session import Session

from webapp.accounts.account import Account
from webapp.keys import bearer_key, clock_key, database_key
from webapp.security import digest
from webapp.sessions import TOUCH_INTERVAL, set_account, use_session
from webapp.wechat.mini.store import BEARER_SQL, TOUCH_SQL

API_PREFIX = "/api/"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,128}", re.ASCII)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def unauthorized(error: str | None = None) -> web.Response:
    """RFC 6750's answer: 401 with a Bearer challenge (and what was wrong with the token, if one came)."""
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return web.json_response({"error": error or "unauthorized"}, status=401,
                             headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"})


def presented_token(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer` header ("" when the header is there but malformed); None without."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and TOKEN_RE.fullmatch(token) else ""


async def gate(request: web.Request) -> web.Response | None:
    """Authenticate /api/* by bearer token when one is presented; the refusal of a bad one, or of none
    where one is needed; None to go on."""
    if not request.path.startswith(API_PREFIX):
        return None
    if request.match_info.http_exception is not None:
        raise request.match_info.http_exception  # no such API (e.g. the mini program is not configured): 404/405
    token = presented_token(request)
    if token is not None and (not token or not await _authenticate(request, token)):
        return unauthorized("invalid_token")
    if token is None and getattr(request.match_info.handler, "bearer_only", False):
        return unauthorized()  # before the CSRF check: without a token there is nothing to forge
    return None


def bearer_challenge(request: web.Request, response: web.StreamResponse) -> None:
    """At response preparation (webapp.middlewares.prepare_response): every 401 under /api/ (the error pages' too) carries the Bearer challenge."""
    if response.status == 401 and request.path.startswith(API_PREFIX) and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = "Bearer"


async def _authenticate(request: web.Request, token: str) -> bool:
    """Load the token's account (one round trip); its session stands in for the cookie's, never saved."""
    now, key = request.app[clock_key](), digest(token)
    async with request.app[database_key].connection() as conn:
        row = await conn.fetchrow(BEARER_SQL, key, now)
        if row is None:
            return False
        if now - row["last_seen_at"] >= TOUCH_INTERVAL:  # the sessions list's "last active", coarse
            await conn.execute(TOUCH_SQL, key, now)
    data: dict[str, Any] = row["data"] if isinstance(row["data"], dict) else {}
    set_account(request, Account.from_row(row))
    use_session(request, Session(None, data={"created": int(time.time()), "session": data}, new=False))
    request[bearer_key] = token
    return True


def bearer_only(handler: Handler) -> Handler:
    """Mark a /api/* handler that authenticates by bearer token alone (a cookie session is never enough)."""
    handler.bearer_only = True  # type: ignore[attr-defined]
    return handler


def bearer_token(request: web.Request) -> str | None:
    """The valid bearer token this request was authenticated with, if any."""
    return request.get(bearer_key)
