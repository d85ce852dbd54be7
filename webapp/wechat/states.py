"""OAuth `state`: random, single use, 10 minutes, bound to the browser that started the flow.

The payload (purpose, next, user for a bind, flow) stays here on the server; WeChat only sees
the random key. Claiming is one atomic UPDATE, so of two deliveries of the same callback exactly one
exchanges the code; the other waits for and reuses the first one's result.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.models import OAuthState
from webapp.security import digest, random_alnum

STATE_TTL = timedelta(minutes=10)
STATE_PATTERN = re.compile(r"[A-Za-z0-9]{1,128}", re.ASCII)
Flow = Literal["qr", "embedded", "mp_base", "mp_userinfo"]
Purpose = Literal["login", "bind"]

# Waiters for a first delivery still being processed in this process (cross-process: polling).
_pending: dict[str, asyncio.Event] = {}


@dataclass(frozen=True)
class Claim:
    """Result of trying to claim a state for a code: who gets to exchange it."""

    kind: Literal["owner", "same_code", "replayed", "missing"]
    row: OAuthState | None


def is_well_formed(state: str | None) -> bool:
    """True for `[A-Za-z0-9]{1,128}`, WeChat's official-account rule."""
    return bool(state) and STATE_PATTERN.fullmatch(state or "") is not None


async def create(
    sm: async_sessionmaker[AsyncSession],
    *,
    purpose: Purpose,
    flow: Flow,
    appid: str,
    next_path: str,
    browser_nonce: str,
    now: datetime,
    user_id: int | None = None,
) -> str:
    """Store a new state with its payload and return the random key."""
    state = random_alnum(32)
    async with sm.begin() as s:
        s.add(
            OAuthState(
                state=state, purpose=purpose, flow=flow, appid=appid, next_path=next_path, user_id=user_id,
                browser_hash=digest(browser_nonce), created_at=now, expires_at=now + STATE_TTL,
            )
        )
    return state


async def load_live(sm: async_sessionmaker[AsyncSession], state: str, *, now: datetime) -> OAuthState | None:
    """The state row if it exists and has not expired."""
    async with sm() as s:
        return await s.scalar(select(OAuthState).where(OAuthState.state == state, OAuthState.expires_at > now))


def started_by(row: OAuthState, browser_nonce: str | None) -> bool:
    """True when this browser (its session's nonce) started the flow."""
    return bool(browser_nonce) and row.browser_hash == digest(browser_nonce or "")


async def claim(sm: async_sessionmaker[AsyncSession], state: str, *, code: str, now: datetime) -> Claim:
    """Atomically mark the state consumed by `code`; tell the caller whether it owns the exchange."""
    code_hash = digest(code)
    async with sm.begin() as s:
        row = await s.scalar(
            update(OAuthState)
            .where(OAuthState.state == state, OAuthState.consumed_at.is_(None), OAuthState.expires_at > now)
            .values(consumed_at=now, code_hash=code_hash)
            .returning(OAuthState)
        )
        if row is not None:
            _pending.setdefault(state, asyncio.Event())
            return Claim("owner", row)
        row = await s.scalar(select(OAuthState).where(OAuthState.state == state))
    if row is None:
        return Claim("missing", None)
    return Claim("same_code" if row.code_hash == code_hash else "replayed", row)


async def save_result(sm: async_sessionmaker[AsyncSession], state: str, result: dict[str, Any]) -> None:
    """Record the outcome of the first delivery and wake anyone waiting for it."""
    async with sm.begin() as s:
        await s.execute(update(OAuthState).where(OAuthState.state == state).values(result=result))
    event = _pending.pop(state, None)
    if event is not None:
        event.set()


async def wait_result(
    sm: async_sessionmaker[AsyncSession], state: str, *, timeout_s: float = 20.0
) -> dict[str, Any] | None:
    """The first delivery's outcome, waiting for it if it is still being processed."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    delay = 0.05
    while True:
        async with sm() as s:
            result = await s.scalar(select(OAuthState.result).where(OAuthState.state == state))
        remaining = deadline - asyncio.get_running_loop().time()
        if result is not None or remaining <= 0:
            return result
        event = _pending.get(state)
        try:
            # In this process: woken by save_result. In another process's delivery: poll with backoff.
            await asyncio.wait_for(event.wait() if event else asyncio.sleep(delay), min(remaining, 1.0))
        except TimeoutError:
            pass
        delay = min(delay * 2, 1.0)


async def mark_claimed(sm: async_sessionmaker[AsyncSession], state: str) -> bool:
    """Hand-off of an embedded login to the top window: true only the first time."""
    async with sm.begin() as s:
        row = await s.scalar(
            update(OAuthState)
            .where(OAuthState.state == state, OAuthState.result.is_not(None))
            .where(~OAuthState.result.has_key("claimed"))
            .values(result=OAuthState.result.op("||")(func.jsonb_build_object("claimed", True)))
            .returning(OAuthState.state)
        )
    return row is not None
