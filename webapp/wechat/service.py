"""WeChat login and binding rules (social-core style): explicit steps, the database as final guard.

Rules, each tested:
- a known (appid, openid) logs its user in; a known unionid links a new openid to its user;
- an unknown official-account openid without unionid (snsapi_base) steps up to snsapi_userinfo;
- a snapshot-page user (is_snapshotuser=1) is never stored or linked;
- an unknown person gets a new account (display name and avatar from the profile, no password);
- binding: already bound to this user → no-op; to another user (openid or unionid) → conflict;
  this user already has another identity for the app or another unionid → conflict;
- inserts rely on the unique constraints; on IntegrityError the rules are applied again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp import events
from webapp.crypto import TokenCipher
from webapp.models import User, WeChatIdentity
from webapp.wechat import repository as repo
from webapp.wechat.client import WeChatClient
from webapp.wechat.errors import WeChatError
from webapp.wechat.outcome import Outcome, failure
from webapp.wechat.schemas import OAuthToken, WeChatApp, WeChatProfile

log = logging.getLogger("webapp.wechat")
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
_ATTEMPTS = 3


@dataclass(frozen=True)
class Actor:
    """Where a request came from, for the security log."""

    client: str
    ip: str
    method: str


@dataclass(frozen=True)
class Grant:
    """What one authorization gave us: the token and, when the scope allows, the profile."""

    token: OAuthToken
    profile: WeChatProfile | None

    @property
    def unionid(self) -> str | None:
        return self.token.unionid or (self.profile.unionid if self.profile else None)


async def fetch_grant(client: WeChatClient, app: WeChatApp, code: str) -> Grant | Outcome:
    """Exchange the code (never retried) and read the profile when the scope allows it."""
    try:
        token = await client.exchange_code(app, code)
    except WeChatError as exc:
        return failure(exc, app=app)
    if token.is_snapshot_user:
        return Outcome("snapshot")
    profile = None
    if app.kind == "website" or "snsapi_userinfo" in token.scope:
        try:
            profile = await client.user_info(token.access_token, token.openid)
        except WeChatError as exc:  # the login does not depend on the profile
            log.warning("userinfo failed for app %s: %s", app.appid, type(exc).__name__)
    return Grant(token, profile)


async def login(
    sm: async_sessionmaker[AsyncSession], cipher: TokenCipher, app: WeChatApp, grant: Grant, *, actor: Actor, now: datetime
) -> Outcome:
    """Log in the person behind `grant`, linking by unionid or creating an account."""
    for _attempt in range(_ATTEMPTS):
        try:
            async with sm.begin() as s:
                outcome = await _login(s, cipher, app, grant, now=now)
                if outcome.user_id is not None:
                    await events.record_event(
                        s, user_id=outcome.user_id, kind="login", method=actor.method,
                        client=actor.client, ip=actor.ip, now=now,
                    )
                return outcome
        except IntegrityError:
            log.info("concurrent first login for app %s; applying the rules again", app.appid)
    return Outcome("failed", reason="conflict_retry")


async def _login(s: AsyncSession, cipher: TokenCipher, app: WeChatApp, grant: Grant, *, now: datetime) -> Outcome:
    identity = await repo.identity_by_openid(s, app.appid, grant.token.openid)
    if identity is not None:
        await _update_identity(s, identity, cipher, grant, now=now)
        return Outcome("login", user_id=identity.user_id)
    unionid = grant.unionid
    union = await repo.union_by_id(s, unionid) if unionid else None
    if union is not None:
        await _add_identity(s, union.user_id, cipher, app, grant, now=now)
        return Outcome("login", user_id=union.user_id)
    if app.kind == "official_account" and unionid is None and "snsapi_userinfo" not in grant.token.scope:
        return Outcome("need_userinfo")
    user = await _create_user(s, grant, now=now)
    if unionid:
        await repo.add_union(s, unionid=unionid, user_id=user.id, now=now)
    await _add_identity(s, user.id, cipher, app, grant, now=now)
    return Outcome("login", user_id=user.id, created=True)


async def bind(
    sm: async_sessionmaker[AsyncSession],
    cipher: TokenCipher,
    app: WeChatApp,
    grant: Grant,
    *,
    user_id: int,
    actor: Actor,
    now: datetime,
) -> Outcome:
    """Attach the WeChat identity behind `grant` to an existing user, or explain the conflict."""
    for _attempt in range(_ATTEMPTS):
        try:
            async with sm.begin() as s:
                outcome = await _bind(s, cipher, app, grant, user_id=user_id, now=now)
                if outcome.kind == "bound":
                    await events.record_event(
                        s, user_id=user_id, kind="bind", method=actor.method, client=actor.client, ip=actor.ip, now=now
                    )
                return outcome
        except IntegrityError:
            log.info("concurrent bind for app %s; applying the rules again", app.appid)
    return Outcome("failed", reason="conflict_retry")


async def _bind(
    s: AsyncSession, cipher: TokenCipher, app: WeChatApp, grant: Grant, *, user_id: int, now: datetime
) -> Outcome:
    identity = await repo.identity_by_openid(s, app.appid, grant.token.openid)
    if identity is not None:
        if identity.user_id != user_id:
            return Outcome("conflict", user_id=user_id)
        await _update_identity(s, identity, cipher, grant, now=now)
        return Outcome("already_bound", user_id=user_id)
    unionid = grant.unionid
    union = await repo.union_by_id(s, unionid) if unionid else None
    if union is not None and union.user_id != user_id:
        return Outcome("conflict", user_id=user_id)
    if await repo.identity_of_user_for_app(s, user_id, app.appid) is not None:
        return Outcome("conflict", user_id=user_id, reason="other_identity")
    own_unions = await repo.unions_of(s, user_id)
    if unionid and any(u.unionid != unionid for u in own_unions):
        return Outcome("conflict", user_id=user_id, reason="other_identity")
    if unionid and union is None:
        await repo.add_union(s, unionid=unionid, user_id=user_id, now=now)
    await _add_identity(s, user_id, cipher, app, grant, now=now)
    return Outcome("bound", user_id=user_id)


async def merge_fresh_account(
    sm: async_sessionmaker[AsyncSession], *, fresh_user_id: int, into_user_id: int, actor: Actor, now: datetime
) -> Outcome:
    """"I already have an account": move a just-created WeChat-only account's identities, then delete it."""
    async with sm.begin() as s:
        fresh = await s.get(User, fresh_user_id, with_for_update=True)
        if fresh is None or fresh.password_hash is not None or fresh_user_id == into_user_id:
            return Outcome("failed", reason="merge_unavailable")
        moving = await repo.identities_of(s, fresh_user_id)
        for identity in moving:
            if await repo.identity_of_user_for_app(s, into_user_id, identity.appid) is not None:
                return Outcome("conflict", user_id=into_user_id, reason="other_identity")
        if await repo.unions_of(s, into_user_id) and await repo.unions_of(s, fresh_user_id):
            return Outcome("conflict", user_id=into_user_id, reason="other_identity")
        await repo.move_user_wechat(s, from_user_id=fresh_user_id, to_user_id=into_user_id)
        await s.delete(fresh)
        await events.record_event(
            s, user_id=into_user_id, kind="bind", method=actor.method, client=actor.client, ip=actor.ip, now=now
        )
    return Outcome("bound", user_id=into_user_id)


class LastLoginMethod(Exception):
    """Unbinding would leave the account with no way to log in."""


async def unbind(sm: async_sessionmaker[AsyncSession], *, user_id: int, actor: Actor, now: datetime) -> int:
    """Remove every WeChat identity of a user; refuse when it is their last way to log in."""
    async with sm.begin() as s:
        user = await s.get(User, user_id, with_for_update=True)
        if user is None:
            return 0
        if user.password_hash is None:
            raise LastLoginMethod()
        removed = await repo.delete_user_wechat(s, user_id)
        if removed:
            await events.record_event(
                s, user_id=user_id, kind="unbind", method=actor.method, client=actor.client, ip=actor.ip, now=now
            )
    return removed


async def _create_user(s: AsyncSession, grant: Grant, *, now: datetime) -> User:
    nickname = clean_nickname(grant.profile.nickname if grant.profile else "")
    user = User(
        display_name=nickname or "WeChat user",
        avatar_source=(grant.profile.avatar_url if grant.profile else "") or "",
        created_at=now,
        updated_at=now,
    )
    s.add(user)
    await s.flush()
    return user


async def _add_identity(
    s: AsyncSession, user_id: int, cipher: TokenCipher, app: WeChatApp, grant: Grant, *, now: datetime
) -> WeChatIdentity:
    identity = WeChatIdentity(
        user_id=user_id, appid=app.appid, app_kind=app.kind, openid=grant.token.openid, created_at=now
    )
    _apply_grant(identity, cipher, grant, now=now)
    async with s.begin_nested():  # a unique violation rolls back this insert only
        s.add(identity)
        await s.flush()
    return identity


async def _update_identity(
    s: AsyncSession, identity: WeChatIdentity, cipher: TokenCipher, grant: Grant, *, now: datetime
) -> None:
    _apply_grant(identity, cipher, grant, now=now)
    unionid = grant.unionid
    if unionid and identity.unionid is None:  # backfill: the unionid appears for the first time
        union = await repo.union_by_id(s, unionid)
        if union is None:
            await repo.add_union(s, unionid=unionid, user_id=identity.user_id, now=now)
        if union is None or union.user_id == identity.user_id:
            identity.unionid = unionid
        else:
            log.warning("unionid of app %s identity %s belongs to another user; not linked", identity.appid, identity.id)
    await s.flush()


def _apply_grant(identity: WeChatIdentity, cipher: TokenCipher, grant: Grant, *, now: datetime) -> None:
    token = grant.token
    if identity.unionid is None and identity.id is None:
        identity.unionid = grant.unionid
    identity.scope = token.scope
    identity.access_token_enc = cipher.encrypt(token.access_token)
    identity.refresh_token_enc = cipher.encrypt(token.refresh_token)
    identity.access_expires_at = token.access_expires_at
    identity.refresh_expires_at = now + REFRESH_TOKEN_LIFETIME  # fixed from this grant; refresh never extends it
    identity.status = "active"
    identity.refresh_lease_until = None
    identity.updated_at = now
    if grant.profile is not None:
        identity.nickname = clean_nickname(grant.profile.nickname)
        identity.avatar_url = grant.profile.avatar_url or ""
        identity.profile_synced_at = now


def clean_nickname(nickname: str) -> str:
    """Drop control characters WeChat nicknames sometimes carry; cap the length."""
    return "".join(ch for ch in nickname if ch.isprintable()).strip()[:100]
