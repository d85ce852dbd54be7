"""The steps of the WeChat login and binding rules (asyncpg) that service.py composes; the SQL is in login_sql.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from webapp.crypto import TokenCipher
from webapp.wechat.login_sql import (
    ACCOUNT_COLUMNS,
    CREATE_PERSON,
    CREATE_USER,
    INSERT_IDENTITY,
    RETURNING_LOGIN,
    UPDATE_IDENTITY,
)
from webapp.wechat.outcome import Outcome
from webapp.wechat.schemas import WeChatApp

log = logging.getLogger("webapp.wechat")
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
# The refresher looks at a grant this long before its access token expires (login_sql.py says the same).
REFRESH_HORIZON = timedelta(minutes=15)


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
    consent_url: str | None = None  # the privacy policy a new account accepts (PRIVACY_URL), if any

    @classmethod
    def of(
        cls, cipher: TokenCipher, app: WeChatApp, grant: Any, *, now: datetime, consent_url: str | None = None
    ) -> GrantValues:
        """Encrypt and lay out a grants.Grant."""
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
            consent_url=consent_url or None,
        )

    def consent_args(self) -> tuple[datetime | None, str | None]:
        """When and to which policy a new account consented (both None without a policy)."""
        return (self.now if self.consent_url else None, self.consent_url)

    def token_args(self) -> tuple[Any, ...]:
        """Parameters $1..$11 of login_sql.TOKEN_SET statements."""
        return (
            self.appid, self.openid, self.has_token, self.access_enc, self.refresh_enc, self.access_expires_at,
            self.refresh_expires_at, self.scope, self.nickname, self.avatar_url, self.now,
        )


async def returning_login(
    conn: asyncpg.Connection, values: GrantValues, *, actor: Any, state: str | None, session: Any = None
) -> asyncpg.Record | None:
    """The fast path, one round trip: the account logged in (and `session` stored), or None for the full rules."""
    return await conn.fetchrow(
        RETURNING_LOGIN, *values.token_args(), values.unionid, actor.method, actor.client[:100], actor.ip[:64],
        state, *_session_args(session),
    )


async def create_person(
    conn: asyncpg.Connection, values: GrantValues, *, actor: Any, state: str | None, session: Any = None
) -> asyncpg.Record | None:
    """A new account for a person nobody knows, in one round trip; None when the openid or unionid is known."""
    return await conn.fetchrow(
        CREATE_PERSON, *values.token_args(), values.unionid, values.nickname or "WeChat user",
        values.app_kind, actor.method, actor.client[:100], actor.ip[:64], state, *_session_args(session),
        *values.consent_args(),
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
    await conn.execute(UPDATE_IDENTITY, *values.token_args())
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
        INSERT_IDENTITY, user_id, values.appid, values.app_kind, values.openid, unionid, values.access_enc,
        values.refresh_enc, values.access_expires_at, values.refresh_expires_at, values.scope, values.nickname,
        values.avatar_url, values.now,
    )
    await _queue_avatar(conn, user_id, values)


async def create_account(conn: asyncpg.Connection, values: GrantValues, *, unionid: str | None) -> int:
    """A new WeChat-only account named after the nickname, with its union and identity."""
    user_id = await conn.fetchval(
        CREATE_USER, values.nickname or "WeChat user", values.avatar_url or "", values.now, *values.consent_args()
    )
    if unionid:
        await add_union(conn, unionid, user_id, now=values.now)
    await insert_identity(conn, user_id, values, unionid=unionid)
    return int(user_id)


async def account(conn: asyncpg.Connection, user_id: int) -> dict[str, Any]:
    """The account fields a login needs (see accounts.account.Account)."""
    return dict(await conn.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1", user_id))


async def enabled_account(conn: asyncpg.Connection, user_id: int) -> dict[str, Any] | None:
    """The account fields, unless the account is gone or disabled."""
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1 AND u.disabled_at IS NULL", user_id
    )
    return dict(row) if row is not None else None


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
