"""The refresher's statements: claim, store results, mark dead grants, park inactive ones, record failures.

Every write is guarded by the refresh_token ciphertext the pass started from: if a login stored new
tokens meanwhile, the pass leaves the row alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from webapp.crypto import TokenCipher

# $1 now, $2 lease end, $3 appids, $4 batch. A profile change pushed by WeChat makes its row due at once.
# The lease is its own unindexed column: taking it rewrites no index (a HOT update).
CLAIM = """
WITH due AS (
    SELECT id FROM wechat_identities
    WHERE refresh_due_at <= $1 AND (refresh_lease_until IS NULL OR refresh_lease_until <= $1)
      AND status = 'active' AND refresh_token_enc IS NOT NULL AND appid = ANY($3::text[])
    ORDER BY refresh_due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED
)
UPDATE wechat_identities w SET refresh_lease_until = $2
WHERE w.id IN (SELECT id FROM due)
RETURNING w.id, w.user_id, w.appid, w.openid, w.scope, w.refresh_token_enc, w.refresh_expires_at,
          w.profile_synced_at, w.profile_sync_requested_at, w.refresh_failures,
          (SELECT u.last_seen_at FROM users u WHERE u.id = w.user_id) AS last_seen_at
"""

_STORE = """
WITH v AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                         $7::text[], $8::timestamptz[])
        AS v(id, old_enc, access_enc, refresh_enc, expires, nickname, avatar, synced)
), stored AS (
    UPDATE wechat_identities w SET
        access_token_enc = v.access_enc, refresh_token_enc = v.refresh_enc, access_expires_at = v.expires,
        refresh_due_at = v.expires - $10::interval, refresh_lease_until = NULL,
        nickname = COALESCE(v.nickname, w.nickname), avatar_url = COALESCE(v.avatar, w.avatar_url),
        profile_synced_at = COALESCE(v.synced, w.profile_synced_at), profile_sync_requested_at = NULL,
        refresh_failures = 0, refresh_error = '', updated_at = $9
    FROM v WHERE w.id = v.id AND w.refresh_token_enc = v.old_enc AND w.status = 'active'
    RETURNING w.id, w.user_id, v.avatar
), avatars AS (
    UPDATE users u SET avatar_source = s.avatar, avatar_fetch_due_at = $9, avatar_fetch_failures = 0
    FROM stored s WHERE u.id = s.user_id AND s.avatar <> '' AND u.avatar_source <> s.avatar
)
SELECT id FROM stored
"""
_REAUTH = """
UPDATE wechat_identities w SET status = 'reauth_required', access_token_enc = NULL, refresh_token_enc = NULL,
    refresh_due_at = NULL, refresh_lease_until = NULL, profile_sync_requested_at = NULL, updated_at = $3
FROM unnest($1::bigint[], $2::text[]) AS v(id, old_enc)
WHERE w.id = v.id AND w.refresh_token_enc = v.old_enc AND w.status = 'active'
RETURNING w.id
"""
_PARK = """
UPDATE wechat_identities w SET refresh_due_at = NULL, refresh_lease_until = NULL, refresh_error = 'inactive',
    profile_sync_requested_at = NULL, updated_at = $3
FROM unnest($1::bigint[], $2::text[]) AS v(id, old_enc)
WHERE w.id = v.id AND w.refresh_token_enc = v.old_enc
RETURNING w.id
"""
_FAILURES = """
UPDATE wechat_identities w SET refresh_failures = LEAST(w.refresh_failures + 1, 10000), refresh_error = v.reason,
    refresh_due_at = v.due, refresh_lease_until = NULL, updated_at = $5
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) AS v(id, old_enc, reason, due)
WHERE w.id = v.id AND w.refresh_token_enc = v.old_enc
"""


async def store_refreshed(
    conn: asyncpg.Connection, cipher: TokenCipher, results: Sequence[Any], *, now: datetime, horizon: timedelta
) -> set[int]:
    """New tokens (and profiles) of refreshed rows; the ids actually stored. WeChat's refresh_token is kept as sent."""
    if not results:
        return set()
    columns = (
        [r.row["id"] for r in results],
        [r.row["refresh_token_enc"] for r in results],
        [cipher.encrypt(r.token.access_token) for r in results],
        [_refresh_ciphertext(cipher, r) for r in results],
        [r.token.access_expires_at for r in results],
        [r.profile.nickname if r.profile else None for r in results],
        [r.profile.avatar_url if r.profile else None for r in results],
        [now if r.profile else None for r in results],
    )
    return {row["id"] for row in await conn.fetch(_STORE, *columns, now, horizon)}


async def mark_reauth(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], *, now: datetime) -> int:
    """The refresh_token is dead: the user must authorize again; tokens are dropped."""
    return len(await conn.fetch(_REAUTH, *_guard(rows), now)) if rows else 0


async def park(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], *, now: datetime) -> int:
    """Stop refreshing grants of inactive accounts (the owner's next visit or login resumes them)."""
    return len(await conn.fetch(_PARK, *_guard(rows), now)) if rows else 0


async def record_failures(
    conn: asyncpg.Connection, failures: Sequence[tuple[asyncpg.Record, str, datetime]], *, now: datetime
) -> None:
    """Each failed row with its reason and the time of its next attempt."""
    if failures:
        ids, olds = _guard([row for row, _reason, _due in failures])
        await conn.execute(_FAILURES, ids, olds, [r for _row, r, _d in failures], [d for _r, _x, d in failures], now)


def _refresh_ciphertext(cipher: TokenCipher, result: Any) -> str:
    """WeChat does not rotate refresh tokens: keep the stored ciphertext when the value is the same one."""
    if getattr(result, "refresh_token_plain", None) == result.token.refresh_token:
        return str(result.row["refresh_token_enc"])
    return cipher.encrypt(result.token.refresh_token)


def _guard(rows: Sequence[asyncpg.Record]) -> tuple[list[int], list[str]]:
    return [r["id"] for r in rows], [r["refresh_token_enc"] for r in rows]
