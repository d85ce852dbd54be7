"""SQL of the WeChat login and binding rules (asyncpg): the statements service.py composes.

A returning user's login is a single statement: refresh the identity's tokens and profile, record
the login, queue an avatar copy when the picture changed, and store the callback's result, all
only if the identity exists, its unionid needs no backfill, and the account is not disabled.
Anything else falls back to the step-by-step rules in a transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from webapp.crypto import TokenCipher
from webapp.wechat.outcome import Outcome
from webapp.wechat.schemas import WeChatApp

log = logging.getLogger("webapp.wechat")
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
# The refresher looks at a grant this long before its access token expires (the SQL below says the same).
REFRESH_HORIZON = timedelta(minutes=15)
ACCOUNT_COLUMNS = "u.id, u.username, u.display_name, u.password_hash IS NOT NULL AS has_password, u.created_at"
_IDENTITY_COLUMNS = """
    user_id, appid, app_kind, openid, unionid, access_token_enc, refresh_token_enc, access_expires_at,
    refresh_expires_at, scope, nickname, avatar_url, profile_synced_at, status, created_at, updated_at, refresh_due_at
"""

# Columns written from a grant; $1 appid, $2 openid, then GrantValues.token_args() from $3.
_TOKEN_SET = """
    access_token_enc = CASE WHEN $3 THEN $4 ELSE i.access_token_enc END,
    refresh_token_enc = CASE WHEN $3 THEN $5 ELSE i.refresh_token_enc END,
    access_expires_at = CASE WHEN $3 THEN $6 ELSE i.access_expires_at END,
    refresh_expires_at = CASE WHEN $3 THEN $7 ELSE i.refresh_expires_at END,
    scope = CASE WHEN $3 THEN $8 ELSE i.scope END,
    status = CASE WHEN $3 THEN 'active' ELSE i.status END,
    revoked_at = CASE WHEN $3 THEN NULL ELSE i.revoked_at END,
    refresh_due_at = CASE WHEN $3 THEN $6 - interval '15 minutes' ELSE i.refresh_due_at END,
    refresh_failures = 0, refresh_error = '',
    nickname = COALESCE($9, i.nickname),
    avatar_url = COALESCE($10, i.avatar_url),
    profile_synced_at = CASE WHEN $9 IS NULL THEN i.profile_synced_at ELSE $11 END,
    profile_sync_requested_at = CASE WHEN $9 IS NULL THEN i.profile_sync_requested_at END,
    updated_at = $11
"""
_RETURNING_LOGIN_SQL = f"""
WITH ident AS (
    UPDATE wechat_identities i SET {_TOKEN_SET}
    FROM users u
    WHERE i.appid = $1 AND i.openid = $2 AND u.id = i.user_id AND u.disabled_at IS NULL
      AND ($12::text IS NULL OR i.unionid IS NOT DISTINCT FROM $12)
    RETURNING i.user_id, i.profile_synced_at
), ev AS (
    INSERT INTO security_events (user_id, kind, method, actor, client, ip, created_at)
    SELECT user_id, 'login', $13, 'user', $14, $15, $11 FROM ident
), seen AS (
    UPDATE users SET last_seen_at = GREATEST(last_seen_at, $11),
        avatar_fetch_due_at = CASE WHEN COALESCE($10, '') NOT IN ('', avatar_source) THEN $11 ELSE avatar_fetch_due_at END,
        avatar_fetch_failures = CASE WHEN COALESCE($10, '') NOT IN ('', avatar_source) THEN 0 ELSE avatar_fetch_failures END,
        avatar_source = CASE WHEN COALESCE($10, '') NOT IN ('', avatar_source) THEN $10 ELSE avatar_source END
    WHERE id = (SELECT user_id FROM ident)
), result AS (
    UPDATE oauth_states SET result = jsonb_build_object('kind', 'login', 'user_id', (SELECT user_id FROM ident))
    WHERE state = $16 AND EXISTS (SELECT 1 FROM ident)
), sess AS (
    INSERT INTO web_sessions (id, user_id, data, created_at, last_seen_at, expires_at, client, ip)
    SELECT $17::text, user_id, jsonb_build_object('uid', user_id, 'auth_at', $18::float8, 'auth_method', $13::text),
           $11, $11, $19, $14, $15
    FROM ident WHERE $17::text IS NOT NULL
)
SELECT {ACCOUNT_COLUMNS}, ident.profile_synced_at FROM users u JOIN ident ON u.id = ident.user_id
"""
# A new person in one statement: account, unionid, identity, login event and the callback's result.
# It writes nothing when the openid or the unionid is already known (the rules then link or log in);
# a concurrent first login of the same person surfaces as a unique violation.
_CREATE_PERSON_SQL = f"""
WITH u AS (
    INSERT INTO users (display_name, avatar_source, avatar_fetch_due_at, created_at, updated_at, last_seen_at)
    SELECT $13, COALESCE($10, ''), CASE WHEN COALESCE($10, '') = '' THEN NULL ELSE $11::timestamptz END, $11, $11, $11
    WHERE NOT EXISTS (SELECT 1 FROM wechat_identities WHERE appid = $1 AND openid = $2)
      AND NOT EXISTS (SELECT 1 FROM wechat_unions WHERE unionid = $12) AND $3::boolean IS NOT NULL
    RETURNING {ACCOUNT_COLUMNS.replace("u.", "")}
), un AS (
    INSERT INTO wechat_unions (unionid, user_id, created_at) SELECT $12, id, $11 FROM u WHERE $12::text IS NOT NULL
), i AS (
    INSERT INTO wechat_identities ({_IDENTITY_COLUMNS})
    SELECT u.id, $1, $14, $2, $12, $4, $5, $6, $7, $8, COALESCE($9, ''), COALESCE($10, ''),
           CASE WHEN $9::text IS NULL THEN NULL ELSE $11::timestamptz END, 'active', $11, $11,
           $6::timestamptz - interval '15 minutes'
    FROM u
), ev AS (
    INSERT INTO security_events (user_id, kind, method, actor, client, ip, created_at)
    SELECT id, 'login', $15, 'user', $16, $17, $11 FROM u
), result AS (
    UPDATE oauth_states SET result = jsonb_build_object('kind', 'login', 'user_id', (SELECT id FROM u), 'created', true)
    WHERE state = $18 AND EXISTS (SELECT 1 FROM u)
), sess AS (
    INSERT INTO web_sessions (id, user_id, data, created_at, last_seen_at, expires_at, client, ip)
    SELECT $19::text, id, jsonb_build_object('uid', id, 'auth_at', $20::float8, 'auth_method', $15::text),
           $11, $11, $21, $16, $17
    FROM u WHERE $19::text IS NOT NULL
)
SELECT * FROM u
"""
_UPDATE_IDENTITY_SQL = f"UPDATE wechat_identities i SET {_TOKEN_SET} WHERE i.appid = $1 AND i.openid = $2"
_INSERT_IDENTITY_SQL = """
INSERT INTO wechat_identities (
    user_id, appid, app_kind, openid, unionid, access_token_enc, refresh_token_enc, access_expires_at,
    refresh_expires_at, scope, nickname, avatar_url, profile_synced_at, status, created_at, updated_at, refresh_due_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, ''), COALESCE($12, ''),
        CASE WHEN $11::text IS NULL THEN NULL ELSE $13::timestamptz END, 'active', $13, $13,
        $8::timestamptz - interval '15 minutes')
"""
_CREATE_USER_SQL = """
INSERT INTO users (display_name, avatar_source, avatar_fetch_due_at, created_at, updated_at, last_seen_at)
VALUES ($1, $2, CASE WHEN $2 = '' THEN NULL ELSE $3::timestamptz END, $3, $3, $3)
RETURNING id
"""


@dataclass(frozen=True)
class GrantValues:
    """A grant as the columns store it: tokens encrypted, profile cleaned (by the schemas), times computed."""

    appid: str
    app_kind: str
    openid: str
    unionid: str | None
    has_token: bool
    access_enc: str | None
    refresh_enc: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    scope: str
    nickname: str | None  # None: no profile in this grant, keep the stored one
    avatar_url: str | None
    now: datetime

    @classmethod
    def of(cls, cipher: TokenCipher, app: WeChatApp, grant: Any, *, now: datetime) -> GrantValues:
        """Encrypt and lay out a service.Grant."""
        token, profile = grant.token, grant.profile
        return cls(
            appid=app.appid, app_kind=app.kind, openid=grant.openid, unionid=grant.unionid,
            has_token=token is not None,
            access_enc=cipher.encrypt(token.access_token) if token else None,
            refresh_enc=cipher.encrypt(token.refresh_token) if token else None,
            access_expires_at=token.access_expires_at if token else None,
            # Fixed from this grant: WeChat's refresh never extends it.
            refresh_expires_at=now + REFRESH_TOKEN_LIFETIME if token else None,
            scope=token.scope if token else "",
            nickname=profile.nickname if profile else None,
            avatar_url=profile.avatar_url if profile else None,
            now=now,
        )

    def token_args(self) -> tuple[Any, ...]:
        """Parameters $1..$11 of _TOKEN_SET statements."""
        return (
            self.appid, self.openid, self.has_token, self.access_enc, self.refresh_enc, self.access_expires_at,
            self.refresh_expires_at, self.scope, self.nickname, self.avatar_url, self.now,
        )


async def returning_login(
    conn: asyncpg.Connection, values: GrantValues, *, actor: Any, state: str | None, session: Any = None
) -> asyncpg.Record | None:
    """The fast path, one round trip: the account logged in (and `session` stored), or None for the full rules."""
    return await conn.fetchrow(
        _RETURNING_LOGIN_SQL, *values.token_args(), values.unionid, actor.method, actor.client[:100], actor.ip[:64],
        state, *_session_args(session),
    )


async def create_person(
    conn: asyncpg.Connection, values: GrantValues, *, actor: Any, state: str | None, session: Any = None
) -> asyncpg.Record | None:
    """A new account for a person nobody knows, in one round trip; None when the openid or unionid is known."""
    return await conn.fetchrow(
        _CREATE_PERSON_SQL, *values.token_args(), values.unionid, values.nickname or "WeChat user",
        values.app_kind, actor.method, actor.client[:100], actor.ip[:64], state, *_session_args(session),
    )


async def insert_session(conn: asyncpg.Connection, session: Any, user_id: int, *, actor: Any, now: datetime) -> None:
    """The login's new session, written with the rules' transaction."""
    await conn.execute(
        """INSERT INTO web_sessions (id, user_id, data, created_at, last_seen_at, expires_at, client, ip)
           VALUES ($1, $2, jsonb_build_object('uid', $2::bigint, 'auth_at', $3::float8, 'auth_method', $4::text),
                   $8, $8, $5, $6, $7)""",
        session.id, user_id, session.auth_at, actor.method, session.expires_at, actor.client[:100], actor.ip[:64], now,
    )


def _session_args(session: Any) -> tuple[object, ...]:
    return (session.id, session.auth_at, session.expires_at) if session is not None else (None, None, None)


async def store_profile(conn: asyncpg.Connection, values: GrantValues, user_id: int) -> None:
    """A profile read after a returning login (the stored one was a day old), and its avatar's copy queued."""
    await conn.execute(
        """UPDATE wechat_identities SET nickname = $3, avatar_url = $4, profile_synced_at = $5,
               profile_sync_requested_at = NULL WHERE appid = $1 AND openid = $2""",
        values.appid, values.openid, values.nickname, values.avatar_url, values.now,
    )
    await _queue_avatar(conn, user_id, values)


async def identity_for_update(conn: asyncpg.Connection, appid: str, openid: str) -> asyncpg.Record | None:
    """The identity of (appid, openid), locked, with its user's disabled flag."""
    return await conn.fetchrow(
        """SELECT i.id, i.user_id, i.unionid, u.disabled_at IS NOT NULL AS disabled
           FROM wechat_identities i JOIN users u ON u.id = i.user_id
           WHERE i.appid = $1 AND i.openid = $2 FOR UPDATE OF i""",
        appid, openid,
    )


async def update_identity(conn: asyncpg.Connection, identity: asyncpg.Record, values: GrantValues) -> None:
    """New tokens and profile on a known identity; backfill its unionid when it appears for the first time."""
    await conn.execute(_UPDATE_IDENTITY_SQL, *values.token_args())
    await _queue_avatar(conn, identity["user_id"], values)
    if values.unionid is None or identity["unionid"] is not None:
        return
    owner = await union_owner(conn, values.unionid)
    if owner is None:
        await add_union(conn, values.unionid, identity["user_id"], now=values.now)
    elif owner["user_id"] != identity["user_id"]:
        log.warning("unionid of app %s identity %s belongs to another user; not linked", values.appid, identity["id"])
        return
    await conn.execute("UPDATE wechat_identities SET unionid = $2 WHERE id = $1", identity["id"], values.unionid)


async def union_owner(conn: asyncpg.Connection, unionid: str) -> asyncpg.Record | None:
    """Who owns this unionid (and whether that account is disabled), or None."""
    return await conn.fetchrow(
        """SELECT w.user_id, u.disabled_at IS NOT NULL AS disabled
           FROM wechat_unions w JOIN users u ON u.id = w.user_id WHERE w.unionid = $1""",
        unionid,
    )


async def add_union(conn: asyncpg.Connection, unionid: str, user_id: int, *, now: datetime) -> None:
    """Claim a unionid for a user; the primary key rejects a second owner."""
    await conn.execute("INSERT INTO wechat_unions (unionid, user_id, created_at) VALUES ($1, $2, $3)", unionid, user_id, now)


async def insert_identity(conn: asyncpg.Connection, user_id: int, values: GrantValues, *, unionid: str | None) -> None:
    """A new identity for a user (the unique constraints reject a concurrent twin)."""
    await conn.execute(
        _INSERT_IDENTITY_SQL, user_id, values.appid, values.app_kind, values.openid, unionid, values.access_enc,
        values.refresh_enc, values.access_expires_at, values.refresh_expires_at, values.scope, values.nickname,
        values.avatar_url, values.now,
    )
    await _queue_avatar(conn, user_id, values)


async def create_account(conn: asyncpg.Connection, values: GrantValues, *, unionid: str | None) -> int:
    """A new WeChat-only account named after the nickname, with its union and identity."""
    user_id = await conn.fetchval(_CREATE_USER_SQL, values.nickname or "WeChat user", values.avatar_url or "", values.now)
    if unionid:
        await add_union(conn, unionid, user_id, now=values.now)
    await insert_identity(conn, user_id, values, unionid=unionid)
    return int(user_id)


async def account(conn: asyncpg.Connection, user_id: int) -> dict[str, Any]:
    """The account fields a login needs (see accounts.account.Account)."""
    return dict(await conn.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1", user_id))


async def wechat_of(conn: asyncpg.Connection, user_id: int) -> dict[str, set[str]]:
    """The appids and unionids a user has."""
    rows = await conn.fetch(
        """SELECT appid, NULL AS unionid FROM wechat_identities WHERE user_id = $1
           UNION ALL SELECT NULL, unionid FROM wechat_unions WHERE user_id = $1""",
        user_id,
    )
    return {"appids": {r["appid"] for r in rows if r["appid"]}, "unionids": {r["unionid"] for r in rows if r["unionid"]}}


async def move_wechat(conn: asyncpg.Connection, *, from_user_id: int, to_user_id: int) -> None:
    """Give every union and identity of one user to another (identities follow their union)."""
    await conn.execute("UPDATE wechat_unions SET user_id = $2 WHERE user_id = $1", from_user_id, to_user_id)
    await conn.execute("UPDATE wechat_identities SET user_id = $2 WHERE user_id = $1", from_user_id, to_user_id)


async def delete_wechat(conn: asyncpg.Connection, user_id: int) -> int:
    """Delete every identity and union of a user; return how many identities went."""
    status = await conn.execute("DELETE FROM wechat_identities WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM wechat_unions WHERE user_id = $1", user_id)
    return int(status.split()[-1])


async def save_result(conn: asyncpg.Connection, state: str, outcome: Outcome) -> None:
    """Record a callback's outcome with its state (a second delivery reads it)."""
    await conn.execute(
        "UPDATE oauth_states SET result = $2 WHERE state = $1", state, orjson.dumps(outcome.to_json()).decode()
    )


async def _queue_avatar(conn: asyncpg.Connection, user_id: int, values: GrantValues) -> None:
    """When the profile brings a new picture, the worker copies it to our own origin."""
    if values.avatar_url:
        await conn.execute(
            """UPDATE users SET avatar_source = $2, avatar_fetch_due_at = $3, avatar_fetch_failures = 0
               WHERE id = $1 AND avatar_source <> $2""",
            user_id, values.avatar_url, values.now,
        )
