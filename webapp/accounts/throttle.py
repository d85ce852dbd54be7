"""Failed-login throttling per username and per client IP, kept in PostgreSQL for every process."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.models import LoginFailure

WINDOW = timedelta(minutes=15)
LIMITS = {"user": 5, "ip": 20}


async def minutes_to_wait(session: AsyncSession, *, user_key: str, ip: str, now: datetime) -> int:
    """0 when an attempt is allowed, else whole minutes until the busier counter drops below its limit."""
    waits = [
        await _wait(session, scope="user", key=user_key, now=now),
        await _wait(session, scope="ip", key=ip, now=now),
    ]
    return max(waits)


async def _wait(session: AsyncSession, *, scope: str, key: str, now: datetime) -> int:
    limit = LIMITS[scope]
    recent = (
        await session.scalars(
            select(LoginFailure.failed_at)
            .where(LoginFailure.scope == scope, LoginFailure.key == key[:128], LoginFailure.failed_at > now - WINDOW)
            .order_by(LoginFailure.failed_at.desc())
            .limit(limit)
        )
    ).all()
    if len(recent) < limit:
        return 0
    # Allowed again once the limit-th most recent failure leaves the window.
    seconds = (recent[-1] + WINDOW - now).total_seconds()
    return max(1, math.ceil(seconds / 60))


async def record_failure(session: AsyncSession, *, user_key: str, ip: str, now: datetime) -> None:
    """Count one failed attempt against both the username and the client address."""
    session.add_all(
        [
            LoginFailure(scope="user", key=user_key[:128], failed_at=now),
            LoginFailure(scope="ip", key=ip[:128], failed_at=now),
        ]
    )
    await session.flush()


async def clear_user(session: AsyncSession, *, user_key: str) -> None:
    """Forget a username's failures after a successful login (the IP's count stays)."""
    await session.execute(delete(LoginFailure).where(LoginFailure.scope == "user", LoginFailure.key == user_key[:128]))


async def purge_old_failures(session: AsyncSession, *, now: datetime) -> int:
    """Delete failures that no longer count; return how many."""
    result = await session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW))
    return result.rowcount or 0
