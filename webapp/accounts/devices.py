"""The account's sessions as its owner sees them (coarse device, first and last seen), and ending one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from webapp import events
from webapp.accounts.service import Origin
from webapp.db import Database
from webapp.security import digest

# A session is named on the page by the start of its row id (itself the sha256 of the cookie): enough to
# tell an account's sessions apart, useless as a cookie.
HANDLE = re.compile(r"[0-9a-f]{16}")
LIST_LIMIT = 50

_LIST_SQL = """
SELECT left(id, 16) AS handle, id = $2 AS current, client, created_at, last_seen_at
FROM web_sessions WHERE user_id = $1 AND expires_at > $3
ORDER BY id = $2 DESC, last_seen_at DESC, created_at DESC LIMIT $4
"""
_END_SQL = "DELETE FROM web_sessions WHERE user_id = $1 AND left(id, 16) = $2 AND id <> $3 RETURNING client"


@dataclass(frozen=True)
class Device:
    """One live session of the account."""

    handle: str
    current: bool
    client: str
    created_at: datetime
    last_seen_at: datetime


async def sessions_of(db: Database, *, user_id: int, current_key: str | None, now: datetime) -> list[Device]:
    """The live sessions, this one first, then the most recently used."""
    current = digest(current_key) if current_key else ""
    async with db.connection() as conn:
        rows = await conn.fetch(_LIST_SQL, user_id, current, now, LIST_LIMIT)
    return [Device(**dict(r)) for r in rows]


async def end_session(
    db: Database, *, user_id: int, handle: str, keep_key: str | None, origin: Origin, now: datetime
) -> bool:
    """End one other session of the user; False when it no longer exists (or is this one)."""
    if not HANDLE.fullmatch(handle):
        return False
    async with db.connection() as conn, conn.transaction():
        ended = await conn.fetchval(_END_SQL, user_id, handle, digest(keep_key) if keep_key else "")
        if ended is not None:
            await events.add_event(conn, user_id=user_id, kind="session_ended", method="", now=now,
                                   client=origin.client, ip=origin.ip)
    return ended is not None
