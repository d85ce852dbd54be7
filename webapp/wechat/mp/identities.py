"""What WeChat's authorization-change events do to a stored identity (session in, never commits).

Revocation (and a deleted WeChat account): status 'revoked', tokens and profile deleted at once
(the refresher only claims active rows with a refresh token, so WeChat is never called for it
again), and the account's copied avatar too when it came from this identity alone. A profile change:
ask the worker to sync it. Both land in the user's security activity, by WeChat.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from webapp import events
from webapp.models import User, UserAvatar, WeChatIdentity

log = logging.getLogger("webapp.wechat.mp")


async def revoke(s: AsyncSession, *, appid: str, openid: str, now: datetime) -> int | None:
    """Mark the identity revoked and delete what the grant gave us; return its user id, if it changed."""
    identity = await s.scalar(
        select(WeChatIdentity).where(WeChatIdentity.appid == appid, WeChatIdentity.openid == openid).with_for_update()
    )
    if identity is None or identity.status == "revoked":
        return None
    avatar_url = identity.avatar_url
    identity.status, identity.revoked_at, identity.updated_at = "revoked", now, now
    identity.access_token_enc = identity.refresh_token_enc = None
    identity.access_expires_at = identity.refresh_expires_at = None
    identity.refresh_due_at = identity.profile_sync_requested_at = None  # out of the refresher's sight
    identity.nickname, identity.avatar_url, identity.profile_synced_at = "", "", None  # a new grant reads it anew
    await s.flush()
    if avatar_url:
        await _forget_copied_avatar(s, identity.user_id, avatar_url)
    await _record(s, identity.user_id, "wechat_revoked", now)
    log.info("identity %d revoked by WeChat", identity.id)
    return identity.user_id


async def request_profile_sync(s: AsyncSession, *, appid: str, openid: str, now: datetime) -> int | None:
    """Ask the worker to fetch this identity's profile again; return its user id, if it is live."""
    user_id = await s.execute(
        update(WeChatIdentity)
        .where(WeChatIdentity.appid == appid, WeChatIdentity.openid == openid, WeChatIdentity.status != "revoked")
        .values(
            profile_sync_requested_at=now,
            updated_at=now,
            # Due now for the refresher, if it can call WeChat for this grant at all.
            refresh_due_at=case(
                (and_(WeChatIdentity.status == "active", WeChatIdentity.refresh_token_enc.is_not(None)), now),
                else_=WeChatIdentity.refresh_due_at,
            ),
        )
        .returning(WeChatIdentity.user_id, WeChatIdentity.refresh_token_enc.is_not(None))
    )
    found = user_id.one_or_none()
    if found is None:
        return None
    # Without an OAuth grant (follow-to-log-in) nothing can be fetched: official accounts no longer
    # receive nicknames or pictures. The activity says so instead of implying a change.
    await _record(s, found[0], "wechat_profile_changed", now, method="" if found[1] else "wechat_follow")
    return int(found[0])


async def _forget_copied_avatar(s: AsyncSession, user_id: int, avatar_url: str) -> None:
    """Drop the account's copy of this avatar unless another live identity still provides it."""
    shared = await s.scalar(
        select(WeChatIdentity.id)
        .where(
            WeChatIdentity.user_id == user_id,
            WeChatIdentity.avatar_url == avatar_url,
            WeChatIdentity.status != "revoked",
        )
        .limit(1)
    )
    if shared is not None:
        return
    await s.execute(delete(UserAvatar).where(UserAvatar.user_id == user_id, UserAvatar.source_url == avatar_url))
    await s.execute(
        update(User)
        .where(User.id == user_id, User.avatar_source == avatar_url)
        .values(avatar_source="", avatar_fetch_due_at=None)
    )


async def _record(s: AsyncSession, user_id: int, kind: str, now: datetime, method: str = "") -> None:
    await events.record_event(
        s, user_id=user_id, kind=kind, method=method, client="WeChat", ip="", actor="wechat", now=now
    )
