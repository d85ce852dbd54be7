"""Each delivery handled once, across every process: the `wechat_mp_messages` memory.

Keys (sha256) are inserted in the same transaction as the work they guard, so a failed attempt
leaves no trace and WeChat's retry is handled; a committed one makes every later copy a duplicate.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.db import rowcount
from webapp.models import MpMessage
from webapp.wechat.mp.inbound import REPLAY_WINDOW_S

# Longer than the replay window: anything older is refused by its timestamp anyway.
RETENTION = timedelta(seconds=2 * REPLAY_WINDOW_S)


class Duplicate(Exception):
    """This nonce or message was already handled; raised inside the transaction to roll it back."""


async def remember(s: AsyncSession, key: str, *, now: datetime) -> None:
    """Record `key`; raise Duplicate if some delivery (in any process) already did."""
    inserted = await s.scalar(
        insert(MpMessage).values(dedup_key=key, received_at=now).on_conflict_do_nothing().returning(MpMessage.dedup_key)
    )
    if inserted is None:
        raise Duplicate(key)


async def purge(sm: async_sessionmaker[AsyncSession], *, now: datetime) -> int:
    """Forget keys older than the retention; return how many."""
    async with sm.begin() as s:
        result = await s.execute(delete(MpMessage).where(MpMessage.received_at < now - RETENTION))
    return rowcount(result)
