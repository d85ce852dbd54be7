"""Failed-password throttling per username and per client address, atomic under concurrency.

Before a password is verified, a failure is *reserved* for both the username and the address in one
short transaction holding an advisory lock per key: of any number of simultaneous guesses, at most
the limit ever reach the verification. A correct password releases its reservation; a wrong one
leaves it as the recorded failure. Kept in PostgreSQL, so every process and host shares the counts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.accounts.errors import TooManyAttempts
from webapp.db import rowcount
from webapp.models import LoginFailure

WINDOW = timedelta(minutes=15)
LIMITS = {"user": 5, "ip": 20}

_COUNT_SQL = """
SELECT scope, count(*) AS n, min(failed_at) AS oldest FROM login_failures
WHERE ((scope = 'user' AND key = $1) OR (scope = 'ip' AND key = $2)) AND failed_at > $3
GROUP BY scope
"""
_RESERVE_SQL = """
INSERT INTO login_failures (scope, key, failed_at) VALUES ('user', $1, $3), ('ip', $2, $3) RETURNING id
"""


@dataclass(frozen=True)
class Reservation:
    """The failure rows written ahead of a verification; deleted again if the password is right."""

    ids: tuple[int, ...]
    user_key: str


def _lock_id(scope: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"throttle:{scope}:{key}".encode()).digest()[:8], "big", signed=True)


async def reserve(conn: asyncpg.Connection, *, user_key: str, ip: str, now: datetime) -> Reservation:
    """Reserve one failure for the username and the address, or raise TooManyAttempts."""
    user_key, ip = user_key[:128], ip[:128]
    locks = sorted({_lock_id("user", user_key), _lock_id("ip", ip)})  # one order everywhere: no deadlock
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", locks)
        over = [
            (row["scope"], _minutes_left(row["oldest"], now))
            for row in await conn.fetch(_COUNT_SQL, user_key, ip, now - WINDOW)
            if row["n"] >= LIMITS[row["scope"]]
        ]
        if over:
            raise TooManyAttempts(max(m for _, m in over), scopes=tuple(s for s, _ in over))
        ids = [r["id"] for r in await conn.fetch(_RESERVE_SQL, user_key, ip, now)]
    return Reservation(tuple(ids), user_key)


async def succeeded(conn: asyncpg.Connection, reservation: Reservation) -> None:
    """The password was right: drop the reservation and the username's earlier failures."""
    await conn.execute(
        "DELETE FROM login_failures WHERE id = ANY($1::bigint[]) OR (scope = 'user' AND key = $2)",
        list(reservation.ids),
        reservation.user_key,
    )


def _minutes_left(oldest: datetime, now: datetime) -> int:
    # Allowed again once the oldest failure in the window leaves it (no more than the limit are ever stored).
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds() / 60))


async def purge_old_failures(session: AsyncSession, *, now: datetime) -> int:
    """Delete failures that no longer count; return how many."""
    result = await session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW))
    return rowcount(result)
