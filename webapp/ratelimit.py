"""Fixed-window rate limits kept in PostgreSQL: one row per key and window, whatever the traffic.

Used for what anonymous visitors may make the site store (WeChat flows, sign-ups): a client address
(an IPv6 /64, since one host usually owns the whole prefix) gets `limit` per window, on every
process and host at once.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.db import rowcount
from webapp.models import RateLimit

FLOW_WINDOW = timedelta(minutes=10)

# $1 key, $2 window start: the count after this hit.
HIT_SQL = """
INSERT INTO rate_limits AS r (key, window_start, count) VALUES ($1, $2, 1)
ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
RETURNING count
"""


def client_key(ip: str) -> str:
    """The address a limit counts against: the IPv4 address, or the IPv6 /64 prefix."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window containing `now`."""
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


async def hit(conn: asyncpg.Connection, key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one hit; True while the key is within its limit for the current window."""
    count: int = await conn.fetchval(HIT_SQL, key[:128], window_start(now, window))
    return count <= limit


async def purge_old_windows(session: AsyncSession, *, now: datetime, longest: timedelta = timedelta(days=1)) -> int:
    """Delete counters of windows that ended; return how many."""
    result = await session.execute(delete(RateLimit).where(RateLimit.window_start < now - longest))
    return rowcount(result)
