"""WeChat identity queries: session in, objects out, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.models import WeChatIdentity, WeChatUnion


async def identities_of(session: AsyncSession, user_id: int) -> Sequence[WeChatIdentity]:
    """Every WeChat identity bound to a user, oldest first."""
    result = await session.scalars(
        select(WeChatIdentity).where(WeChatIdentity.user_id == user_id).order_by(WeChatIdentity.id)
    )
    return result.all()


async def identity_by_openid(session: AsyncSession, appid: str, openid: str) -> WeChatIdentity | None:
    """The identity of this openid in this app, or None."""
    return await session.scalar(
        select(WeChatIdentity).where(WeChatIdentity.appid == appid, WeChatIdentity.openid == openid)
    )


async def identity_of_user_for_app(session: AsyncSession, user_id: int, appid: str) -> WeChatIdentity | None:
    """The user's identity in this app, or None."""
    return await session.scalar(
        select(WeChatIdentity).where(WeChatIdentity.user_id == user_id, WeChatIdentity.appid == appid)
    )


async def union_by_id(session: AsyncSession, unionid: str) -> WeChatUnion | None:
    """Who owns this unionid, or None."""
    return await session.get(WeChatUnion, unionid)


async def unions_of(session: AsyncSession, user_id: int) -> Sequence[WeChatUnion]:
    """The unionids a user owns (at most one in practice)."""
    return (await session.scalars(select(WeChatUnion).where(WeChatUnion.user_id == user_id))).all()


async def add_union(session: AsyncSession, *, unionid: str, user_id: int, now: datetime) -> WeChatUnion:
    """Claim a unionid for a user; the primary key rejects a second owner."""
    union = WeChatUnion(unionid=unionid, user_id=user_id, created_at=now)
    async with session.begin_nested():
        session.add(union)
        await session.flush()
    return union


async def move_user_wechat(session: AsyncSession, *, from_user_id: int, to_user_id: int) -> None:
    """Give every WeChat union and identity of one user to another (identities follow their union)."""
    await session.execute(update(WeChatUnion).where(WeChatUnion.user_id == from_user_id).values(user_id=to_user_id))
    await session.execute(
        update(WeChatIdentity).where(WeChatIdentity.user_id == from_user_id).values(user_id=to_user_id)
    )


async def delete_user_wechat(session: AsyncSession, user_id: int) -> int:
    """Delete every WeChat identity and union of a user; return how many identities went."""
    result = await session.execute(delete(WeChatIdentity).where(WeChatIdentity.user_id == user_id))
    await session.execute(delete(WeChatUnion).where(WeChatUnion.user_id == user_id))
    return result.rowcount or 0
