"""WeChat identity queries: session in, objects out, never commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.models import WeChatIdentity


async def identities_of(session: AsyncSession, user_id: int) -> Sequence[WeChatIdentity]:
    """Every WeChat identity bound to a user, oldest first."""
    result = await session.scalars(
        select(WeChatIdentity).where(WeChatIdentity.user_id == user_id).order_by(WeChatIdentity.id)
    )
    return result.all()
