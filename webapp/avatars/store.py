"""SQL of the avatar copy queue (users.avatar_source / avatar_fetch_due_at / avatar_fetch_failures) and of user_avatars.

A claim moves the due time one lease ahead (a worker that dies mid-copy only delays the row), and
every write is conditional on the source still being the one fetched: a newer picture queued in
between is never overwritten by an older one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from webapp.avatars.fetch import Fetched

LEASE = timedelta(minutes=5)
MAX_FAILURES = 10  # transient failures before giving up until the next profile change (≈17 h of backoff)
MAX_BACKOFF = timedelta(hours=6)

_CLAIM_SQL = """
UPDATE users u SET avatar_fetch_due_at = $2
FROM (SELECT id FROM users WHERE avatar_fetch_due_at <= $1
      ORDER BY avatar_fetch_due_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
WHERE u.id = due.id
RETURNING u.id, u.avatar_source, u.avatar_fetch_failures
"""
_SAVE_SQL = """
WITH queued AS (
    UPDATE users SET avatar_fetch_due_at = NULL, avatar_fetch_failures = 0
    WHERE id = $1 AND avatar_source = $2 RETURNING id
)
INSERT INTO user_avatars (user_id, sha256, content_type, content, source_url, fetched_at)
SELECT id, $3, $4, $5, $2, $6 FROM queued
ON CONFLICT (user_id) DO UPDATE SET sha256 = EXCLUDED.sha256, content_type = EXCLUDED.content_type,
    content = EXCLUDED.content, source_url = EXCLUDED.source_url, fetched_at = EXCLUDED.fetched_at
    WHERE user_avatars.source_url <> 'upload'
"""
# A picture the person chose replaces any other, and stops the copying of WeChat's (the queue is cleared).
_UPLOAD_SQL = """
WITH cleared AS (
    UPDATE users SET avatar_source = '', avatar_fetch_due_at = NULL, avatar_fetch_failures = 0 WHERE id = $1
)
INSERT INTO user_avatars (user_id, sha256, content_type, content, source_url, fetched_at)
VALUES ($1, $2, $3, $4, 'upload', $5)
ON CONFLICT (user_id) DO UPDATE SET sha256 = EXCLUDED.sha256, content_type = EXCLUDED.content_type,
    content = EXCLUDED.content, source_url = EXCLUDED.source_url, fetched_at = EXCLUDED.fetched_at
"""
_REMOVE_SQL = """
WITH cleared AS (
    UPDATE users SET avatar_source = '', avatar_fetch_due_at = NULL, avatar_fetch_failures = 0 WHERE id = $1
)
DELETE FROM user_avatars WHERE user_id = $1 AND ($2 OR source_url <> 'upload')
"""
_FAILED_SQL = """
UPDATE users SET avatar_fetch_failures = LEAST(avatar_fetch_failures + 1, 32767), avatar_fetch_due_at = $3
WHERE id = $1 AND avatar_source = $2
"""
_LOAD_SQL = "SELECT content_type, content FROM user_avatars WHERE user_id = $1 AND left(sha256, 16) = $2"


async def claim_due(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Users whose avatar is due for copying, each leased to this worker for LEASE."""
    rows: list[asyncpg.Record] = await conn.fetch(_CLAIM_SQL, now, now + LEASE, limit)
    return rows


async def save(conn: asyncpg.Connection, *, user_id: int, source: str, image: Fetched, now: datetime) -> bool:
    """Store the copy if `source` is still the account's picture; True when stored."""
    status: str = await conn.execute(_SAVE_SQL, user_id, source, image.sha256, image.content_type, image.content, now)
    return status.endswith(" 1")


async def failed(
    conn: asyncpg.Connection, *, user_id: int, source: str, failures: int, permanent: bool, now: datetime
) -> bool:
    """Back off (doubling from a minute), or give up; True when this was the last try."""
    give_up = permanent or failures + 1 >= MAX_FAILURES
    due = None if give_up else now + min(timedelta(minutes=2**failures), MAX_BACKOFF)
    await conn.execute(_FAILED_SQL, user_id, source, due)
    return give_up


async def forget(conn: asyncpg.Connection, *, user_id: int) -> None:
    """Nothing to copy (the source was cleared): leave the queue."""
    await conn.execute("UPDATE users SET avatar_fetch_due_at = NULL WHERE id = $1 AND avatar_source = ''", user_id)


async def load(conn: asyncpg.Connection, *, user_id: int, prefix: str) -> asyncpg.Record | None:
    """The stored picture whose hash starts with `prefix` (the URL's), or None."""
    return await conn.fetchrow(_LOAD_SQL, user_id, prefix)


async def save_upload(conn: asyncpg.Connection, *, user_id: int, image: Fetched, now: datetime) -> None:
    """Make `image` (already re-encoded) the account's picture, in place of any copy from WeChat."""
    await conn.execute(_UPLOAD_SQL, user_id, image.sha256, image.content_type, image.content, now)


async def remove(conn: asyncpg.Connection, *, user_id: int, uploaded_too: bool = True) -> bool:
    """Drop the account's picture (only a WeChat copy when not `uploaded_too`); True when one was dropped."""
    status: str = await conn.execute(_REMOVE_SQL, user_id, uploaded_too)
    return status.endswith(" 1")


async def keep(conn: asyncpg.Connection, *, user_id: int) -> bool:
    """Make the copied WeChat picture the person's own (it then stays after an unbind); True when there was one."""
    async with conn.transaction():
        status: str = await conn.execute(
            "UPDATE user_avatars SET source_url = 'upload' WHERE user_id = $1 AND source_url <> 'upload'", user_id
        )
        await conn.execute(
            "UPDATE users SET avatar_source = '', avatar_fetch_due_at = NULL, avatar_fetch_failures = 0 WHERE id = $1",
            user_id,
        )
    return status.endswith(" 1")


async def is_from_wechat(conn: asyncpg.Connection, *, user_id: int) -> bool:
    """True when the account's picture is the copy of a WeChat picture (not one the person chose)."""
    source = await conn.fetchval("SELECT source_url FROM user_avatars WHERE user_id = $1", user_id)
    return source is not None and source != "upload"
