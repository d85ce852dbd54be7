"""A large database: the users table topped up to a million (each with a website identity and a unionid).

The rows are made by PostgreSQL itself (generate_series), a batch per statement. They are never logged
in: their tokens are one identical dummy ciphertext, their access tokens are not due for an hour, and
their openids cannot be any simulator user's. They are there to make every index and table the site
reads as large as a million users make them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from benchmarks.bench import Bench, progress
from benchmarks.browser import Endpoints
from benchmarks.database import asyncpg_dsn, column_names, table_sizes
from benchmarks.site_phases import api_me, returning_logins
from webapp.crypto import TokenCipher
from webapp.wechat_sim import fixture

BATCH = 100_000
SEED = """
WITH params AS (SELECT $1::int AS n, $2::timestamptz AS now, $3::bigint AS after, $4::text AS appid, $5::text AS token),
u AS (
    INSERT INTO users (display_name, created_at, updated_at, last_seen_at)
    SELECT 'seed ' || g, now - make_interval(days => (g % 365)::int), now, now - make_interval(days => (g % 365)::int)
    FROM params, generate_series(after + 1, after + n) AS g
    RETURNING id
), union_rows AS (
    INSERT INTO wechat_unions (unionid, user_id, created_at)
    SELECT 'useed' || lpad(id::text, 23, '0'), id, now FROM u, params
    RETURNING unionid, user_id
)
INSERT INTO wechat_identities (
    user_id, appid, app_kind, openid, unionid, nickname, avatar_url, scope, access_token_enc, refresh_token_enc,
    access_expires_at, refresh_expires_at, status, profile_synced_at, created_at, updated_at{due_column})
SELECT user_id, appid, 'website', 'oseed' || lpad(user_id::text, 23, '0'), unionid, 'seed', '', 'snsapi_login',
    token, token, now + make_interval(secs => 3600 + user_id % 3600), now + interval '29 days', 'active', now, now, now
    {due_value}
FROM union_rows, params
"""
# The refresher's own due time, where the schema has one: the access token's expiry less a quarter of an hour.
DUE_COLUMN, DUE_VALUE = ", refresh_due_at", ", now + make_interval(secs => 2700 + user_id % 3600)"


async def seed_users(url: str, total: int, cipher: TokenCipher) -> dict[str, Any]:
    """Add users (with identity and union rows) until `total` users exist; ANALYZE; say how long it took."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        before = int(await conn.fetchval("SELECT count(*) FROM users"))
        dummy, now, started = cipher.encrypt("seed-dummy-token"), datetime.now(UTC), time.perf_counter()
        # Consistent by construction: skip the per-row foreign-key triggers (superuser only; pgserver's user is).
        await conn.execute("SET synchronous_commit = off; SET session_replication_role = replica")
        has_due = "refresh_due_at" in await column_names(conn, "wechat_identities")
        seed = SEED.format(due_column=DUE_COLUMN if has_due else "", due_value=DUE_VALUE if has_due else "")
        for done in range(0, max(0, total - before), BATCH):
            await conn.execute(seed, min(BATCH, total - before - done), now, before + done, fixture.WEBSITE_APPID,
                               dummy)
            progress(f"  {before + done + min(BATCH, total - before - done):,} users")
        insert_s = time.perf_counter() - started
        await conn.execute("ANALYZE users; ANALYZE wechat_unions; ANALYZE wechat_identities")
        return {"users_before": before, "users_added": max(0, total - before), "insert_s": round(insert_s, 1),
                "analyze_s": round(time.perf_counter() - started - insert_s, 1)}
    finally:
        await conn.close()


async def million_figures(b: Bench, ends: Endpoints, cookies: dict[str, str]) -> dict[str, Any]:
    """The same returning QR logins and /api/me with the cohort's few thousand users, then seeded to a million.

    The small-database reference is measured again right before seeding, not taken from the site phases
    minutes earlier: the machine's speed drifts (other tenants), and the two sides of a ratio should be
    measured as close together as they can be.
    """
    total = b.config.million_users
    small_qr = await returning_logins(b, ends, "QR logins of returning users, the reference just before seeding")
    small_me = await api_me(b, ends, cookies)
    progress(f"seeding the database to {total:,} users (generate_series) ...")
    seed = await seed_users(b.db.url, total, TokenCipher([b.keys.token_key]))
    rows = await table_sizes(b.db.url)
    returning = await returning_logins(b, ends, f"QR logins of returning users, {total:,} users in the database")
    me = await api_me(b, ends, cookies)
    return {"seed": seed, "database_rows": rows, "qr_login_returning": returning, "api_me": me,
            "reference": {"qr_login_returning": small_qr, "api_me": small_me},
            "qr_login_returning_ratio": _ratio(returning["per_s"], small_qr["per_s"]),
            "api_me_ratio": _ratio(me["per_s"], small_me["per_s"])}


def _ratio(large: float | None, small: float | None) -> float | None:
    return round(large / small, 3) if large and small else None
