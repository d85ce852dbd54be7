"""One pass of the token refresher: claim due identities under a lease, refresh them, store the results.

Several workers may run this against one database at once. A row is claimed by a single
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` that stamps a lease, so no
two workers ever hold the same row; WeChat is called with no transaction open; the results are
written back in one short transaction, each row only if its refresh_token ciphertext is still the
one we used (so a login that stored fresh tokens meanwhile is never overwritten).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy import Row, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.crypto import InvalidToken, TokenCipher
from webapp.models import WeChatIdentity
from webapp.settings import Settings, WeChatAppConfig
from webapp.wechat.client import WeChatClient
from webapp.wechat.errors import Misconfigured, ReauthRequired, ScopeUnauthorized, WeChatError
from webapp.wechat.schemas import AppKind, OAuthToken, WeChatApp, WeChatProfile

logger = logging.getLogger("webapp.wechat.refresher")

# Scopes whose access_token may read /sns/userinfo (a snsapi_base token gets 48001).
PROFILE_SCOPES = frozenset({"snsapi_login", "snsapi_userinfo"})
NICKNAME_MAX = 200
# The claim's RETURNING: id, appid, openid, scope, refresh_token_enc, refresh_expires_at, profile_synced_at.
Claimed: TypeAlias = "Row[int, str, str, str, str | None, datetime | None, datetime | None]"

_STORE_REFRESHED = text(
    """
    UPDATE wechat_identities AS w SET
        access_token_enc = v.access_token_enc,
        refresh_token_enc = v.refresh_token_enc,
        access_expires_at = v.access_expires_at,
        nickname = COALESCE(v.nickname, w.nickname),
        avatar_url = COALESCE(v.avatar_url, w.avatar_url),
        profile_synced_at = COALESCE(v.profile_synced_at, w.profile_synced_at),
        refresh_lease_until = NULL,
        updated_at = :now
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:old AS text[]), CAST(:access AS text[]), CAST(:refresh AS text[]),
        CAST(:expires AS timestamptz[]), CAST(:nicknames AS text[]), CAST(:avatars AS text[]),
        CAST(:synced AS timestamptz[])
    ) AS v(id, old_enc, access_token_enc, refresh_token_enc, access_expires_at, nickname, avatar_url,
           profile_synced_at)
    WHERE w.id = v.id AND w.refresh_token_enc = v.old_enc AND w.status = 'active'
    RETURNING w.id
    """
)


@dataclass(frozen=True)
class RefreshReport:
    """What one pass did; `skipped` rows were claimed but left alone (undecryptable, or changed meanwhile)."""

    claimed: int = 0
    refreshed: int = 0
    reauth_required: int = 0
    failed: int = 0
    skipped: int = 0
    profiles_synced: int = 0

    def __add__(self, other: RefreshReport) -> RefreshReport:
        return RefreshReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __str__(self) -> str:
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


@dataclass(frozen=True)
class _Refreshed:
    """A successful refresh, and the profile fetched with the new token when one was due."""

    row: Claimed
    token: OAuthToken
    profile: WeChatProfile | None


def configured_apps(settings: Settings) -> dict[str, WeChatApp]:
    """The WeChat apps this site is configured with, by appid."""
    configs: tuple[tuple[WeChatAppConfig | None, AppKind], ...] = (
        (settings.wechat_web, "website"),
        (settings.wechat_mp, "official_account"),
    )
    return {c.appid: WeChatApp(c.appid, c.secret, kind) for c, kind in configs if c is not None and c.appid}


async def refresh_due_tokens(
    sm: async_sessionmaker[AsyncSession],
    client: WeChatClient,
    cipher: TokenCipher,
    apps: Mapping[str, WeChatApp],
    *,
    now: datetime,
    horizon: timedelta = timedelta(minutes=15),
    batch: int = 200,
    lease: timedelta = timedelta(minutes=2),
    concurrency: int = 20,
    profile_max_age: timedelta = timedelta(hours=24),
) -> RefreshReport:
    """Refresh up to `batch` identities whose access token expires before now + horizon."""
    if not apps:
        return RefreshReport()
    rows = await _claim(sm, apps, now=now, horizon=horizon, batch=batch, lease=lease)
    if not rows:
        return RefreshReport()
    # Past its fixed 30 days the refresh_token is dead: no point asking WeChat.
    expired = [r for r in rows if r.refresh_expires_at is not None and r.refresh_expires_at <= now]
    live = [r for r in rows if r.refresh_expires_at is None or r.refresh_expires_at > now]
    pass_ = _Pass(client, cipher, apps, now=now, profile_max_age=profile_max_age)
    semaphore = asyncio.Semaphore(concurrency)

    async def bounded(row: Claimed) -> _Refreshed | str:
        async with semaphore:
            return await pass_.refresh(row)

    outcomes = await asyncio.gather(*(bounded(r) for r in live))
    refreshed = [o for o in outcomes if isinstance(o, _Refreshed)]
    dead = expired + [r for r, o in zip(live, outcomes, strict=True) if o == "reauth"]
    stored, reauth = await _store(sm, cipher, refreshed, dead, now=now)
    failed = sum(o == "failed" for o in outcomes)
    return RefreshReport(
        claimed=len(rows),
        refreshed=len(stored),
        reauth_required=reauth,
        failed=failed,
        skipped=len(rows) - len(stored) - reauth - failed,
        profiles_synced=sum(1 for r in refreshed if r.profile is not None and r.row.id in stored),
    )


async def _claim(
    sm: async_sessionmaker[AsyncSession],
    apps: Mapping[str, WeChatApp],
    *,
    now: datetime,
    horizon: timedelta,
    batch: int,
    lease: timedelta,
) -> Sequence[Claimed]:
    """Stamp a lease on the most urgent due rows of configured apps, in one statement, and return them."""
    w = WeChatIdentity
    due = (
        select(w.id)
        .where(
            w.status == "active",
            w.refresh_token_enc.is_not(None),
            w.access_expires_at < now + horizon,
            or_(w.refresh_lease_until.is_(None), w.refresh_lease_until < now),
            w.appid.in_(list(apps)),
        )
        .order_by(w.access_expires_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(w)
        .where(w.id.in_(due))
        .values(refresh_lease_until=now + lease)
        .returning(w.id, w.appid, w.openid, w.scope, w.refresh_token_enc, w.refresh_expires_at, w.profile_synced_at)
        .execution_options(synchronize_session=False)
    )
    async with sm.begin() as session:
        return (await session.execute(claim)).all()


class _Pass:
    """The WeChat side of one pass: refresh a claimed row and, when due, fetch its profile."""

    def __init__(
        self,
        client: WeChatClient,
        cipher: TokenCipher,
        apps: Mapping[str, WeChatApp],
        *,
        now: datetime,
        profile_max_age: timedelta,
    ) -> None:
        self.client, self.cipher, self.apps = client, cipher, apps
        self.now, self.profile_max_age = now, profile_max_age

    async def refresh(self, row: Claimed) -> _Refreshed | str:
        """Return the refreshed token, or "reauth", "failed" or "skipped"."""
        try:
            refresh_token = self.cipher.decrypt(row.refresh_token_enc)
        except InvalidToken:
            # Not marked reauth_required: the likely cause is an old key dropped from TOKEN_KEYS.
            logger.warning("identity %d: refresh_token does not decrypt with any TOKEN_KEYS key", row.id)
            return "skipped"
        try:
            token = await self.client.refresh(self.apps[row.appid], refresh_token)
        except ReauthRequired as exc:
            logger.info("identity %d: refresh_token refused (errcode %s): reauth required", row.id, exc.errcode)
            return "reauth"
        except Misconfigured as exc:
            logger.error("identity %d: appid %s is misconfigured: %s", row.id, row.appid, exc)
            return "failed"
        except WeChatError as exc:
            logger.warning("identity %d: refresh failed, retried after the lease: %s", row.id, exc)
            return "failed"
        except Exception:  # noqa: BLE001  (one row's surprise must not sink the batch)
            logger.exception("identity %d: unexpected error while refreshing", row.id)
            return "failed"
        if token.openid != row.openid:
            logger.error("identity %d: WeChat answered a refresh for another openid; not stored", row.id)
            return "failed"
        return _Refreshed(row, token, await self._profile(row, token))

    async def _profile(self, row: Claimed, token: OAuthToken) -> WeChatProfile | None:
        """Fetch the profile when the scope allows it and the stored one is stale; None otherwise."""
        scopes = set((token.scope or row.scope).split(","))
        fresh = row.profile_synced_at is not None and row.profile_synced_at > self.now - self.profile_max_age
        if fresh or not scopes & PROFILE_SCOPES:
            return None
        try:
            return await self.client.user_info(token.access_token, row.openid)
        except ScopeUnauthorized:
            return None
        except WeChatError as exc:
            logger.warning("identity %d: profile sync failed, kept the old profile: %s", row.id, exc)
            return None


async def _store(
    sm: async_sessionmaker[AsyncSession],
    cipher: TokenCipher,
    refreshed: Sequence[_Refreshed],
    dead: Sequence[Claimed],
    *,
    now: datetime,
) -> tuple[set[int], int]:
    """Write new tokens and reauth_required marks in one transaction; return stored ids and reauth count."""
    stored: set[int] = set()
    reauth = 0
    async with sm.begin() as session:
        if refreshed:
            result = await session.execute(_STORE_REFRESHED, _refreshed_params(cipher, refreshed, now=now))
            stored = set(result.scalars())
        if dead:
            w = WeChatIdentity
            result = await session.execute(
                update(w)
                .where(tuple_(w.id, w.refresh_token_enc).in_([(r.id, r.refresh_token_enc) for r in dead]))
                .where(w.status == "active")
                .values(
                    status="reauth_required",
                    access_token_enc=None,
                    refresh_token_enc=None,
                    refresh_lease_until=None,
                    updated_at=now,
                )
                .returning(w.id)
                .execution_options(synchronize_session=False)
            )
            reauth = len(result.all())
    return stored, reauth


def _refreshed_params(cipher: TokenCipher, refreshed: Sequence[_Refreshed], *, now: datetime) -> dict[str, Any]:
    """Column arrays for _STORE_REFRESHED; WeChat's refresh_token is stored as returned (rotation-proof)."""
    return {
        "now": now,
        "ids": [r.row.id for r in refreshed],
        "old": [r.row.refresh_token_enc for r in refreshed],
        "access": [cipher.encrypt(r.token.access_token) for r in refreshed],
        "refresh": [cipher.encrypt(r.token.refresh_token) for r in refreshed],
        "expires": [r.token.access_expires_at for r in refreshed],
        "nicknames": [r.profile.nickname[:NICKNAME_MAX] if r.profile else None for r in refreshed],
        "avatars": [r.profile.avatar_url if r.profile else None for r in refreshed],
        "synced": [now if r.profile else None for r in refreshed],
    }
