"""Merging on a bind conflict: a WeChat whose account here holds nothing else moves into the binding account.

The scan that ended in the conflict proves the person owns that WeChat; its account qualifies when it
has no password and every identity it has is that one WeChat (one unionid, or a single identity
without one). The binding account must be able to take it (no other identity for the same app, no
other unionid). Both accounts are locked, the identities and unionid move, the copied avatar moves
when the binding account has none, the empty account's security history moves too (it was the same
person's), a `merged` event is recorded, and the empty account is deleted, its sessions with it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from webapp import events
from webapp.db import Database
from webapp.wechat import logins
from webapp.wechat.outcome import Outcome
from webapp.wechat.service import Actor

_ACCOUNTS_SQL = """
SELECT u.id, u.password_hash IS NOT NULL AS has_password, u.disabled_at IS NOT NULL AS disabled,
       u.avatar_source, EXISTS (SELECT 1 FROM user_avatars a WHERE a.user_id = u.id) AS has_avatar,
       (SELECT count(*) FROM wechat_identities i WHERE i.user_id = u.id) AS identities,
       (SELECT count(DISTINCT i.unionid) FROM wechat_identities i WHERE i.user_id = u.id) AS identity_unions
FROM users u WHERE u.id = ANY($1::bigint[]) ORDER BY u.id
"""


async def can_merge(db: Database, *, into_user_id: int, other_user_id: int) -> bool:
    """Whether the other account's WeChat may move into this one (read only: the page offering it)."""
    async with db.connection() as conn:
        return await _check(conn, into_user_id, other_user_id, lock=False) is None


async def merge_into(db: Database, *, into_user_id: int, other_user_id: int, actor: Actor, now: datetime) -> Outcome:
    """Move the other account's WeChat into this one and delete the other; a failed Outcome when it no longer qualifies."""
    async with db.connection() as conn, conn.transaction():
        problem = await _check(conn, into_user_id, other_user_id, lock=True)
        if problem is not None:
            return Outcome("failed", user_id=into_user_id, reason=problem)
        await _move(conn, into_user_id, other_user_id)
        await events.add_event(conn, user_id=into_user_id, kind="merged", method=actor.method, client=actor.client,
                               ip=actor.ip, now=now)
    return Outcome("bound", user_id=into_user_id)


async def _check(conn: asyncpg.Connection, into_user_id: int, other_user_id: int, *, lock: bool) -> str | None:
    """None when the merge is allowed, else the reason it is not (both accounts locked with `lock`)."""
    if into_user_id == other_user_id:
        return "merge_unavailable"
    sql = _ACCOUNTS_SQL + (" FOR UPDATE" if lock else "")
    rows = {r["id"]: r for r in await conn.fetch(sql, [into_user_id, other_user_id])}
    into, other = rows.get(into_user_id), rows.get(other_user_id)
    if into is None or other is None or into["disabled"] or other["disabled"]:
        return "merge_unavailable"
    moving, target = await logins.wechat_of(conn, other_user_id), await logins.wechat_of(conn, into_user_id)
    one_wechat = len(moving["unionids"]) <= 1 and (moving["unionids"] or other["identities"] == 1)
    if other["has_password"] or not other["identities"] or not one_wechat or other["identity_unions"] > 1:
        return "merge_unavailable"
    if moving["appids"] & target["appids"] or (target["unionids"] and moving["unionids"]):
        return "merge_unavailable"
    return None


async def _move(conn: asyncpg.Connection, into_user_id: int, other_user_id: int) -> None:
    """Everything of the other account's that is the person's: WeChat, avatar, history; then it goes."""
    await logins.move_wechat(conn, from_user_id=other_user_id, to_user_id=into_user_id)
    await conn.execute(
        """UPDATE user_avatars SET user_id = $2 WHERE user_id = $1
           AND NOT EXISTS (SELECT 1 FROM user_avatars WHERE user_id = $2)""", other_user_id, into_user_id)
    await conn.execute(
        """UPDATE users t SET avatar_source = o.avatar_source, avatar_fetch_due_at = o.avatar_fetch_due_at
           FROM users o WHERE t.id = $2 AND o.id = $1 AND t.avatar_source = '' AND o.avatar_source <> ''""",
        other_user_id, into_user_id)
    await conn.execute("UPDATE security_events SET user_id = $2 WHERE user_id = $1", other_user_id, into_user_id)
    await conn.execute("DELETE FROM users WHERE id = $1", other_user_id)
