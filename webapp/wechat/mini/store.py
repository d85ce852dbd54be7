"""The mini program's statements (asyncpg): what a login adds to the identity core's, and the phone number."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import asyncpg

from webapp import events, ratelimit
from webapp.accounts.account import LOAD_SESSION_SQL
from webapp.sessions import BEARER_METHOD

MINI_METHOD = BEARER_METHOD  # the login method, and what marks a web_sessions row as a bearer token
MINI_CLIENT = "WeChat mini program"  # the sessions list's device name for a bearer token
LOGIN_WINDOW = timedelta(minutes=10)
LOGINS_PER_WINDOW = 30  # per WeChat user (appid + openid): more means a scripted client, not a person

# LOAD_SESSION_SQL's row for session $7 at time $4 (its own $1 and $2 renumbered).
_ME_SQL = re.sub(r"\$2\b", "$4", re.sub(r"\$1\b", "$7", LOAD_SESSION_SQL))
# After the identity core logged the person in and wrote the token's session row, in one round trip:
# replace the identity's session_key (and make it active again), count the login against this WeChat user's budget, and tie the
# token to the identity (it dies with it) — or, over budget, delete the token again; and read the
# account as /api/me shows it.
# $1 appid, $2 openid, $3 session_key_enc, $4 now, $5 limit key, $6 window start, $7 session id, $8 limit.
AFTER_LOGIN_SQL = f"""
WITH ident AS (
    -- a fresh jscode2session proves the identity again: a revoked one is active from now on
    UPDATE wechat_identities SET session_key_enc = $3, status = 'active', revoked_at = NULL, updated_at = $4
    WHERE appid = $1 AND openid = $2
    RETURNING id
), hit AS (
    INSERT INTO rate_limits AS r (key, window_start, count) VALUES ($5, $6, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
    RETURNING count
), over AS (
    DELETE FROM web_sessions WHERE id = $7 AND (SELECT count FROM hit) > $8
), tagged AS (
    UPDATE web_sessions SET data = data || jsonb_build_object('appid', $1::text, 'openid', $2::text)
    WHERE id = $7 AND (SELECT count FROM hit) <= $8
)
SELECT (SELECT count FROM hit) <= $8 AS allowed, me.* FROM (SELECT 1) one LEFT JOIN ({_ME_SQL}) me ON true
"""

# A bearer token's session, account and identities in one round trip (LOAD_SESSION_SQL's row): only a
# mini program token, and only while the identity it was issued for is still the account's and not revoked.
BEARER_SQL = LOAD_SESSION_SQL + f"""
  AND s.data->>'auth_method' = '{MINI_METHOD}'
  AND EXISTS (SELECT 1 FROM wechat_identities mi WHERE mi.user_id = u.id AND mi.appid = s.data->>'appid'
              AND mi.openid = s.data->>'openid' AND mi.status <> 'revoked')
"""
TOUCH_SQL = "UPDATE web_sessions SET last_seen_at = $2 WHERE id = $1"
END_SQL = f"DELETE FROM web_sessions WHERE id = $1 AND data->>'auth_method' = '{MINI_METHOD}'"


async def after_login(
    conn: asyncpg.Connection, *, appid: str, openid: str, session_key_enc: str, session_id: str, now: datetime
) -> asyncpg.Record | None:
    """Store the new session_key, tie the token to its identity, read the account; `allowed` false past the budget."""
    return await conn.fetchrow(
        AFTER_LOGIN_SQL, appid, openid, session_key_enc, now, f"mini:{appid}:{openid}"[:128],
        ratelimit.window_start(now, LOGIN_WINDOW), session_id, LOGINS_PER_WINDOW,
    )


class PhoneInUse(Exception):
    """The number is already another account's."""


async def set_phone(conn: asyncpg.Connection, *, user_id: int, phone: str, ip: str, now: datetime) -> None:
    """Store a verified number on the account; PhoneInUse (nothing changed) when another account has it."""
    try:
        async with conn.transaction():
            changed = await conn.fetchval(
                "UPDATE users SET phone = $2, updated_at = $3 WHERE id = $1 AND phone IS DISTINCT FROM $2 RETURNING id",
                user_id, phone, now,
            )
            if changed is not None:
                await events.add_event(conn, user_id=user_id, kind="phone_added", method=MINI_METHOD, now=now,
                                       client=MINI_CLIENT, ip=ip)
    except asyncpg.UniqueViolationError:
        raise PhoneInUse() from None


async def remove_phone(conn: asyncpg.Connection, *, user_id: int, client: str, ip: str, now: datetime) -> bool:
    """Forget the account's number; False when it had none."""
    async with conn.transaction():
        removed = await conn.fetchval(
            "UPDATE users SET phone = NULL, updated_at = $2 WHERE id = $1 AND phone IS NOT NULL RETURNING id",
            user_id, now,
        )
        if removed is not None:
            await events.add_event(conn, user_id=user_id, kind="phone_removed", method="", now=now, client=client, ip=ip)
    return removed is not None
