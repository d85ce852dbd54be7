"""The plans of the hot queries (EXPLAIN): each finds its rows through an index, whatever the table size.

With sequential scans disabled, PostgreSQL still answers with one when no index fits, so a
`Seq Scan` in a plan means a hot query would read a whole table at a million users. The tables
get a few thousand rows first, so the estimates are those of a populated database.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import T0
from webapp.accounts import throttle
from webapp.accounts.account import LOAD_SESSION_SQL
from webapp.ratelimit import HIT_SQL
from webapp.wechat import refresh_sql, states
from webapp.wechat.login_sql import RETURNING_LOGIN

ROWS = 3000


async def raw(sm: async_sessionmaker[AsyncSession]) -> asyncpg.Connection:
    bind = sm.kw["bind"]
    await bind.exec_driver_sql("SELECT 1")  # inside the test's transaction
    return (await bind.get_raw_connection()).driver_connection


async def populate(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """
        INSERT INTO users (username, username_key, display_name, created_at, updated_at, last_seen_at)
        SELECT 'u' || n, 'u' || n, 'U', $1, $1, $1 FROM generate_series(1, $2) AS n;
        """.replace("$1", "now()").replace("$2", str(ROWS))
    )
    await conn.execute(
        f"""
        INSERT INTO wechat_identities (user_id, appid, app_kind, openid, nickname, avatar_url, scope, status,
            refresh_token_enc, access_expires_at, refresh_due_at, created_at, updated_at)
        SELECT id, 'wxapp', 'website', 'o' || id, '', '', 'snsapi_login', 'active', 'enc', now(),
            now() + (id || ' s')::interval, now(), now() FROM users;
        INSERT INTO web_sessions (id, user_id, data, created_at, expires_at, client, ip)
        SELECT md5(id::text), id, '{{}}', now(), now() + interval '1 day', '', '' FROM users;
        INSERT INTO oauth_states (state, purpose, flow, appid, next_path, browser_hash, created_at, expires_at)
        SELECT 's' || n, 'login', 'qr', 'wxapp', '/', md5(n::text), now(), now() + interval '10 minutes'
        FROM generate_series(1, {ROWS}) AS n;
        INSERT INTO login_failures (scope, key, failed_at)
        SELECT 'user', 'k' || n, now() FROM generate_series(1, {ROWS}) AS n;
        ANALYZE users; ANALYZE wechat_identities; ANALYZE web_sessions; ANALYZE oauth_states; ANALYZE login_failures;
        """
    )


def scans(plan: Any) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in a JSON plan."""
    found = []
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Relation Name" in node:
            found.append((node["Node Type"], node["Relation Name"]))
        stack.extend(node.get("Plans", []))
    return found


HOT_QUERIES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "session load (every logged-in request)": (LOAD_SESSION_SQL, ("0" * 32, T0)),
    "state claim (every callback)": (
        states._CLAIM_SQL, ("k" * 22, "login", "qr", "wxapp", "/", T0, T0, "hash")
    ),
    "returning login (every returning user's callback)": (
        RETURNING_LOGIN,
        ("wxapp", "o42", True, "a", "r", T0, T0, "snsapi_login", "nick", "https://x/y", T0, None, "wechat_qr",
         "Chrome", "127.0.0.1", "s42", "f" * 64, 1.0, T0),
    ),
    "refresher claim": (refresh_sql.CLAIM, (T0, T0 + timedelta(minutes=2), ["wxapp"], 200)),
    "throttle count (every password check)": (throttle._COUNT_SQL, ("k42", "127.0.0.1", T0 - throttle.WINDOW)),
    "rate limit hit (site budgets: sign-ups, follow-login QR codes)": (HIT_SQL, ("signup:site", T0)),
}


@pytest.mark.parametrize("name", list(HOT_QUERIES))
async def test_hot_query_reads_through_an_index(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> None:
    conn = await raw(sessionmaker)
    await populate(conn)
    sql, args = HOT_QUERIES[name]
    await conn.execute("SET LOCAL enable_seqscan = off")
    plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    plan = json.loads(plan) if isinstance(plan, str) else plan  # decoded already by the json codec
    sequential = [relation for node, relation in scans(plan) if node == "Seq Scan"]
    assert not sequential, f"{name}: sequential scan of {sequential}\n{json.dumps(plan, indent=1)}"
    assert scans(plan) or name.startswith("rate limit"), f"{name}: the plan reads no table?"


async def test_the_check_sees_a_query_without_an_index(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    conn = await raw(sessionmaker)
    await populate(conn)
    await conn.execute("SET LOCAL enable_seqscan = off")
    plan = await conn.fetchval("EXPLAIN (FORMAT JSON) SELECT id FROM users WHERE display_name = $1", "U")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert ("Seq Scan", "users") in scans(plan)
