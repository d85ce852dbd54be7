"""What the support desk does to one account: look it up, disable, enable, unbind WeChat, end its sessions.

Each action runs in one transaction with the user's row locked, and is recorded in the user's security
activity as done by an administrator (only when it changed something).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp import events
from webapp.admin.errors import LastLoginMethod, UnknownUser
from webapp.admin.lookup import find_user_id
from webapp.db import rowcount
from webapp.models import SecurityEvent, User, UserAvatar, WebSession, WeChatIdentity, WeChatUnion

Sessions = async_sessionmaker[AsyncSession]
ADMIN_CLIENT = "webapp admin"


@dataclass(frozen=True)
class UserReport:
    """An account as the support desk sees it (tokens are never part of it)."""

    user: User
    identities: Sequence[WeChatIdentity]
    sessions: Sequence[WebSession]
    events: Sequence[SecurityEvent]
    has_avatar: bool


@dataclass(frozen=True)
class Change:
    """The outcome of one admin action on one account."""

    user_id: int
    changed: bool
    sessions_ended: int = 0
    identities_removed: int = 0


async def user_report(sm: Sessions, who: str, *, now: datetime, recent: int = 20) -> UserReport:
    """Profile, WeChat identities, live sessions and recent security activity of WHO."""
    async with sm() as s:
        user_id = await find_user_id(s, who)
        user = await s.get(User, user_id)
        if user is None:  # deleted between the lookup and now
            raise UnknownUser(who)
        identities = (
            await s.scalars(select(WeChatIdentity).where(WeChatIdentity.user_id == user_id).order_by(WeChatIdentity.id))
        ).all()
        sessions = (
            await s.scalars(
                select(WebSession)
                .where(WebSession.user_id == user_id, WebSession.expires_at > now)
                .order_by(WebSession.last_seen_at.desc())
            )
        ).all()
        activity = await events.recent_events(s, user_id, limit=recent)
        has_avatar = bool(await s.scalar(select(exists().where(UserAvatar.user_id == user_id))))
    return UserReport(user, identities, sessions, activity, has_avatar)


async def disable_user(sm: Sessions, who: str, *, now: datetime) -> Change:
    """Disable the account and end every one of its sessions at once."""
    async with sm.begin() as s:
        user = await _locked_user(s, who)
        ended = await _end_sessions(s, user.id)
        if user.disabled_at is not None:
            return Change(user.id, changed=False, sessions_ended=ended)
        user.disabled_at = now
        user.updated_at = now
        await _record(s, user.id, "disabled", now)
    return Change(user.id, changed=True, sessions_ended=ended)


async def enable_user(sm: Sessions, who: str, *, now: datetime) -> Change:
    """Allow a disabled account to log in again."""
    async with sm.begin() as s:
        user = await _locked_user(s, who)
        if user.disabled_at is None:
            return Change(user.id, changed=False)
        user.disabled_at = None
        user.updated_at = now
        await _record(s, user.id, "enabled", now)
    return Change(user.id, changed=True)


async def unbind_user(sm: Sessions, who: str, *, now: datetime) -> Change:
    """Remove every WeChat identity and unionid of the account; refused when it has no password."""
    async with sm.begin() as s:
        user = await _locked_user(s, who)
        has_wechat = await s.scalar(
            select(
                exists().where(WeChatIdentity.user_id == user.id) | exists().where(WeChatUnion.user_id == user.id)
            )
        )
        if not has_wechat:
            return Change(user.id, changed=False)
        if user.password_hash is None:
            raise LastLoginMethod(user.id)
        removed = await s.execute(delete(WeChatIdentity).where(WeChatIdentity.user_id == user.id))
        await s.execute(delete(WeChatUnion).where(WeChatUnion.user_id == user.id))
        await _record(s, user.id, "unbind", now)
    return Change(user.id, changed=True, identities_removed=rowcount(removed))


async def logout_user(sm: Sessions, who: str, *, now: datetime) -> Change:
    """End every session of the account."""
    async with sm.begin() as s:
        user = await _locked_user(s, who)
        ended = await _end_sessions(s, user.id)
        if ended:
            await _record(s, user.id, "sessions_ended", now)
    return Change(user.id, changed=bool(ended), sessions_ended=ended)


async def _locked_user(s: AsyncSession, who: str) -> User:
    user_id = await find_user_id(s, who)
    user = await s.get(User, user_id, with_for_update=True)
    if user is None:
        raise UnknownUser(who)
    return user


async def _end_sessions(s: AsyncSession, user_id: int) -> int:
    result = await s.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return rowcount(result)


async def _record(s: AsyncSession, user_id: int, kind: str, now: datetime) -> None:
    await events.record_event(
        s, user_id=user_id, kind=kind, method="admin", client=ADMIN_CLIENT, ip="", now=now, actor="admin"
    )
