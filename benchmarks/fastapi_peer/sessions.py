"""Server-side sessions in PostgreSQL: the cookie carries only a signed session id.

A pure ASGI middleware (Starlette's recommended shape) that puts the session's data in `scope["session"]`,
where `request.session` (and so Authlib's state storage) finds it, and writes it back when it changed.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from benchmarks.fastapi_peer.models import SessionRecord, utcnow

COOKIE = "peer_session"
MAX_AGE_S = 14 * 24 * 3600
CYCLE = "peer.session_cycle"  # scope key: give the session a new id on this response (login)


def cycle_session(request: Request) -> None:
    """Give the session a new id when this response is sent (on login, against session fixation)."""
    request.scope[CYCLE] = True


class PostgresSessionMiddleware:
    """Load the session named by the signed cookie; save, cycle or delete it as the response starts."""

    def __init__(self, app: ASGIApp, *, secret_key: str, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.app = app
        self.signer = TimestampSigner(secret_key, salt="peer.session")
        self.sessionmaker = sessionmaker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sid = self._session_id(scope)
        data = await self._load(sid) if sid else None
        if data is None:
            sid = None
        scope["session"] = dict(data or {})
        before = json.dumps(data or {}, sort_keys=True)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._save(scope, sid, before)
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _session_id(self, scope: Scope) -> str | None:
        """The session id in the request's cookie, if its signature holds and it is not too old."""
        raw = next((v for k, v in scope["headers"] if k == b"cookie"), b"").decode("latin-1")
        morsel = SimpleCookie(raw).get(COOKIE) if raw else None
        if morsel is None:
            return None
        try:
            return self.signer.unsign(morsel.value, max_age=MAX_AGE_S).decode()
        except BadSignature:
            return None

    async def _load(self, sid: str) -> dict[str, Any] | None:
        """The session's data, or None when it does not exist or has expired."""
        async with self.sessionmaker() as db:
            data: dict[str, Any] | None = await db.scalar(
                select(SessionRecord.data).where(SessionRecord.id == sid, SessionRecord.expires_at > utcnow()))
            return data

    async def _save(self, scope: Scope, sid: str | None, before: str) -> str | None:
        """Write the session if it changed (a new id when asked to cycle); return the Set-Cookie value, if any."""
        data: dict[str, Any] = scope["session"]
        cycle = scope.get(CYCLE, False)
        if json.dumps(data, sort_keys=True) == before and not cycle:
            return None
        async with self.sessionmaker() as db:
            if sid is not None and (cycle or not data):
                await db.execute(delete(SessionRecord).where(SessionRecord.id == sid))
                sid = None
            if data:
                sid = sid or secrets.token_urlsafe(32)
                row = {"id": sid, "data": data, "expires_at": utcnow() + timedelta(seconds=MAX_AGE_S)}
                await db.execute(insert(SessionRecord).values(**row).on_conflict_do_update(
                    index_elements=[SessionRecord.id], set_={"data": row["data"], "expires_at": row["expires_at"]}))
            await db.commit()
        if sid is None:
            return f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        signed = self.signer.sign(sid).decode()
        return f"{COOKIE}={signed}; Max-Age={MAX_AGE_S}; Path=/; HttpOnly; SameSite=Lax"
