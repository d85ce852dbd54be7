"""Server-side sessions in PostgreSQL for aiohttp-session: the cookie carries only a random id.

Only logged-in sessions are stored: anonymous visitors keep what they need in cookies (see
webapp.cookies), so reading pages writes nothing. Loading a session is one query that also brings
the user and their WeChat identities. The sliding expiry is written at most every TOUCH_INTERVAL,
not on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from aiohttp_session import AbstractStorage, Session
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from webapp import requeststate
from webapp.clientinfo import client_ip, coarse_client
from webapp.cookies import read as read_cookie
from webapp.cookies import set_cookie_header
from webapp.db import CONNECTION_ERRORS, Database, rowcount
from webapp.models import WebSession
from webapp.security import digest, random_token

if TYPE_CHECKING:  # the accounts package gives the query and the Account at run time (see app.py)
    from webapp.accounts.account import Account

COOKIE_NAME = "webapp_session"
TOUCH_INTERVAL = timedelta(minutes=5)
# The login method of a mini program's bearer token (webapp.wechat.mini): its row is never a cookie's session.
BEARER_METHOD = "wechat_mini"


@dataclass(frozen=True)
class SessionDraft:
    """A logged-in session a login statement writes itself (one round trip fewer); the cookie follows."""

    key: str = field(repr=False)  # the cookie value
    id: str = field(repr=False)  # its sha256, the row's id
    auth_at: float
    expires_at: datetime
    client: str
    ip: str

    def args(self) -> tuple[object, ...]:
        """id, auth_at, expires_at, client, ip: the parameters of a session CTE."""
        return (self.id, self.auth_at, self.expires_at, self.client, self.ip)


def draft_session(request: web.Request, now: datetime) -> SessionDraft:
    """A new session for whoever logs in during this request."""
    key = random_token()
    return SessionDraft(
        key=key, id=digest(key), auth_at=now.timestamp(), expires_at=now + timedelta(seconds=storage_of(request).max_age or 0),
        client=coarse_client(request.headers.get("User-Agent", "")), ip=client_ip(request),
    )


def mark_prestored(request: web.Request, key: str) -> None:
    """The session row of `key` is already written (by the login statement): saving only sets the cookie."""
    requeststate.of(request).prestored = key


def loaded_account(request: web.BaseRequest) -> Account | None:
    """The account of the session this request loaded (or a bearer token's); None if none, or not loaded."""
    account = requeststate.of(request).account
    return None if account is requeststate.NOT_LOADED else account


def set_account(request: web.BaseRequest, account: Account | None) -> None:
    """The account this request acts for from now on (a login, a logout, a bearer token's)."""
    requeststate.of(request).account = account

_INSERT_SQL = """
WITH s AS (
    INSERT INTO web_sessions (id, user_id, data, created_at, last_seen_at, expires_at, client, ip)
    -- Only for an account that still exists (locked until commit): a login racing the account's
    -- deletion stores nothing rather than failing on the foreign key.
    SELECT $1::text, u.id, $3::jsonb, $4::timestamptz, $4::timestamptz, $5::timestamptz, $6::text, $7::text
    FROM users u WHERE u.id = $2::bigint AND u.disabled_at IS NULL FOR KEY SHARE
    ON CONFLICT (id) DO UPDATE SET user_id = $2, data = $3, last_seen_at = $4, expires_at = $5
    RETURNING user_id
), seen AS (
    UPDATE users SET last_seen_at = $4 WHERE id = (SELECT user_id FROM s) AND last_seen_at < $4 - interval '1 hour'
    RETURNING id
)
UPDATE wechat_identities SET refresh_due_at = $4, refresh_error = ''  -- the owner is back: refresh again
WHERE user_id = (SELECT id FROM seen) AND refresh_due_at IS NULL AND refresh_error = 'inactive'
  AND status = 'active' AND refresh_token_enc IS NOT NULL
"""
_DELETE_SQL = "DELETE FROM web_sessions WHERE id = $1"


class PostgresStorage(AbstractStorage):
    """Keeps logged-in sessions in `web_sessions`, keyed by the sha256 of the cookie's random id."""

    def __init__(
        self, db: Database, clock: Callable[[], datetime], *, max_age: int, secure: bool,
        load_sql: str, account_of: Callable[[Any], Account],
    ) -> None:
        """`load_sql` fetches a live session with its account in one query; `account_of` reads its row."""
        super().__init__(
            cookie_name=COOKIE_NAME, max_age=max_age, httponly=True, samesite="Lax", secure=secure, path="/"
        )
        self._db = db
        self._clock = clock
        self._load_sql, self._account_of = load_sql, account_of

    def load_cookie(self, request: web.Request) -> str | None:
        """The session cookie, or None when it is not something this site could have written."""
        return read_cookie(request, self.cookie_name)

    async def load_session(self, request: web.Request) -> Session:
        """The live session named by the cookie (its account on the request too), or a new empty one."""
        key = self.load_cookie(request)
        state = requeststate.of(request)
        state.account = None
        if not isinstance(key, str) or not 20 <= len(key) <= 128:
            return Session(None, data=None, new=True, max_age=self.max_age)
        now = self._clock()
        row = await self._fetch(digest(key), now)
        if row is None or (isinstance(row["data"], dict) and row["data"].get("auth_method") == BEARER_METHOD):
            return Session(None, data=None, new=True, max_age=self.max_age)
        data = row["data"] if isinstance(row["data"], dict) else {}
        # Expiry is the row's (sliding, in the database); aiohttp-session's own check against `created` is
        # neutralised by giving it the current time.
        session = Session(key, data={"created": int(time.time()), "session": data}, new=False, max_age=self.max_age)
        state.account = self._account_of(row)
        if now - row["last_seen_at"] >= TOUCH_INTERVAL:
            session.changed()  # the middleware saves it: new expiry, cookie renewed
        return session

    async def _fetch(self, session_id: str, now: datetime) -> Any:
        # A read is safe to repeat: a connection dropped by a database restart costs one retry, not an error.
        for attempt in (1, 2):
            try:
                return await self._db.fetchrow(self._load_sql, session_id, now)
            except CONNECTION_ERRORS:
                if attempt == 2:
                    raise
        return None

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session, *, max_age: int | None = None
    ) -> None:
        """Store a logged-in session (a new random id when new); delete it when emptied; never store anonymous ones."""
        key = session.identity
        if session.empty or "uid" not in session:
            if key:
                await self.delete(key)
                self.save_cookie(response, "", max_age=session.max_age)
            return
        if key is None:
            key = random_token()
            session.set_new_identity(key)
        if requeststate.of(request).prestored != key:
            await self._upsert(request, key, dict(session))
        self.save_cookie(response, key, max_age=session.max_age)

    def save_cookie(self, response: web.StreamResponse, cookie_data: str, *, max_age: int | None = None) -> None:
        """aiohttp-session's cookie, its Set-Cookie header written directly (see webapp.cookies.set_cookie_header)."""
        if not cookie_data:  # a deletion: aiohttp-session's own
            super().save_cookie(response, cookie_data, max_age=max_age)
            return
        expires = None if max_age is None else time.strftime("%a, %d-%b-%Y %T GMT", time.gmtime(time.time() + max_age))
        secure = bool(self.cookie_params.get("secure"))
        response.headers.add(
            "Set-Cookie", set_cookie_header(self.cookie_name, cookie_data, secure=secure, max_age=max_age, expires=expires)
        )

    async def _upsert(self, request: web.Request, key: str, data: dict[str, Any]) -> None:
        now = self._clock()
        data.pop("created", None)
        client = coarse_client(request.headers.get("User-Agent", ""))
        async with self._db.connection() as conn:
            await conn.execute(
                _INSERT_SQL, digest(key), data["uid"], orjson.dumps(data).decode(), now, now + timedelta(seconds=self.max_age or 0),
                client, client_ip(request),
            )

    async def delete(self, key: str) -> None:
        """Forget a session by its cookie value."""
        async with self._db.connection() as conn:
            await conn.execute(_DELETE_SQL, digest(key))


async def save_changed(request: web.Request, response: web.StreamResponse | web.HTTPException) -> None:
    """After the handler: store a session it changed, and set its cookie on the response (aiohttp-session's rule).

    A streamed answer (a file, a websocket) carries no session; one already sent cannot take a cookie.
    """
    if not isinstance(response, (web.Response, web.HTTPException)):
        return
    session = requeststate.of(request).session
    if session is None or not session._changed:  # aiohttp-session's own flag (its middleware reads it too)
        return
    if response.prepared:
        raise RuntimeError("Cannot save session data into prepared response")
    await storage_of(request).save_session(request, response, session)


storage_key = web.AppKey("session_storage", PostgresStorage)


def storage_of(request: web.Request) -> PostgresStorage:
    """The session storage serving this request."""
    return request.app[storage_key]


async def get_session(request: web.Request) -> Session:
    """This request's session: loaded once (with its account, see load_session), a new empty one when anonymous.

    aiohttp-session's get_session without its string request keys (each store warned and looked up
    the storage on every request); the Session and the storage are still aiohttp-session's.
    """
    state = requeststate.of(request)
    session = state.session
    if session is None:
        session = state.session = await request.app[storage_key].load_session(request)
    return session


async def new_session(request: web.Request) -> Session:
    """Replace this request's session with a new, empty one (saved, under a new id, if filled)."""
    session = requeststate.of(request).session = await request.app[storage_key].new_session()
    return session


def use_session(request: web.Request, session: Session) -> None:
    """Make `session` this request's, never saved unless changed (a bearer token's stands in for a cookie's)."""
    requeststate.of(request).session = session


def loaded_session(request: web.BaseRequest) -> Session | None:
    """The session if this request already loaded it; never loads one."""
    return requeststate.of(request).session


async def purge_expired_sessions(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired sessions; return how many."""
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return rowcount(result)
