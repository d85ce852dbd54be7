"""Server-side sessions in PostgreSQL for aiohttp-session: the cookie carries only a random id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp_session import STORAGE_KEY, AbstractStorage, Session
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.clientinfo import client_ip, coarse_client
from webapp.models import WebSession
from webapp.security import digest, random_token

COOKIE_NAME = "webapp_session"


class PostgresStorage(AbstractStorage):
    """Keeps session data in `web_sessions`, keyed by the sha256 of the cookie's random id."""

    def __init__(
        self,
        sm: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        *,
        max_age: int,
        secure: bool,
    ) -> None:
        super().__init__(
            cookie_name=COOKIE_NAME, max_age=max_age, httponly=True, samesite="Lax", secure=secure, path="/"
        )
        self._sm = sm
        self._clock = clock

    async def load_session(self, request: web.Request) -> Session:
        """Find the live session row named by the cookie, or start an empty new session."""
        key = self.load_cookie(request)
        if key and len(key) <= 128:
            async with self._sm() as s:
                row = await s.scalar(
                    select(WebSession).where(WebSession.id == digest(key), WebSession.expires_at > self._clock())
                )
            if row is not None:
                data = {"created": int(row.created_at.timestamp()), "session": row.data}
                return Session(key, data=data, new=False, max_age=self.max_age)
        return Session(None, data=None, new=True, max_age=self.max_age)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session, *, max_age: int | None = None
    ) -> None:
        """Write the row (a new random id if the session is new) or delete it when emptied."""
        key = session.identity
        if session.empty:
            if key:
                await self.delete(key)
            self.save_cookie(response, "", max_age=session.max_age)
            return
        if key is None:
            key = random_token()
            session.set_new_identity(key)
        await self._upsert(request, key, dict(session))
        self.save_cookie(response, key, max_age=session.max_age)

    async def _upsert(self, request: web.Request, key: str, data: dict[str, Any]) -> None:
        now = self._clock()
        values = {
            "user_id": data.get("uid"),
            "data": data,
            "expires_at": now + timedelta(seconds=self.max_age or 0),
            "client": coarse_client(request.headers.get("User-Agent", "")),
            "ip": client_ip(request),
        }
        stmt = insert(WebSession).values(id=digest(key), created_at=now, **values)
        async with self._sm.begin() as s:
            await s.execute(stmt.on_conflict_do_update(index_elements=[WebSession.id], set_=values))

    async def delete(self, key: str) -> None:
        """Forget a session by its cookie value."""
        async with self._sm.begin() as s:
            await s.execute(delete(WebSession).where(WebSession.id == digest(key)))


def storage_of(request: web.Request) -> PostgresStorage:
    """The session storage serving this request."""
    storage = request[STORAGE_KEY]
    assert isinstance(storage, PostgresStorage)
    return storage


async def delete_other_sessions(session: AsyncSession, *, user_id: int, keep_key: str | None) -> int:
    """Delete every session of a user except the one whose cookie value is `keep_key`."""
    stmt = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_key:
        stmt = stmt.where(WebSession.id != digest(keep_key))
    result = await session.execute(stmt)
    return result.rowcount or 0


async def purge_expired_sessions(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired sessions; return how many."""
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return result.rowcount or 0
