"""Profile changes: the display name, and the username (same rules as sign-up; the unique key decides)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from webapp import events
from webapp.accounts.errors import UsernameTaken
from webapp.accounts.forms import username_key
from webapp.accounts.service import USERNAME_CONSTRAINT, Origin
from webapp.db import Database

_RENAME_SQL = """
UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1 AND display_name IS DISTINCT FROM $2 RETURNING id
"""
_USERNAME_SQL = """
UPDATE users n SET username = $2, username_key = $3, updated_at = $4
FROM users o WHERE n.id = $1 AND o.id = n.id AND n.username IS DISTINCT FROM $2
RETURNING o.username AS previous
"""


async def rename(db: Database, *, user_id: int, display_name: str, origin: Origin, now: datetime) -> bool:
    """Set the display name; True when it changed."""
    async with db.connection() as conn, conn.transaction():
        changed = await conn.fetchval(_RENAME_SQL, user_id, display_name, now)
        if changed is not None:
            await _event(conn, user_id, "display_name_changed", origin, now)
    return changed is not None


async def change_username(db: Database, *, user_id: int, username: str, origin: Origin, now: datetime) -> bool:
    """Set or change the username; True when it changed, UsernameTaken when someone else has its key."""
    try:
        async with db.connection() as conn, conn.transaction():
            row = await conn.fetchrow(_USERNAME_SQL, user_id, username, username_key(username), now)
            if row is not None:
                kind = "username_set" if row["previous"] is None else "username_changed"
                await _event(conn, user_id, kind, origin, now)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != USERNAME_CONSTRAINT:
            raise
        raise UsernameTaken() from exc
    return row is not None


async def _event(conn: asyncpg.Connection, user_id: int, kind: str, origin: Origin, now: datetime) -> None:
    await events.add_event(conn, user_id=user_id, kind=kind, method="", now=now, client=origin.client, ip=origin.ip)
