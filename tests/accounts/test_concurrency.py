"""Two sign-ups for the same name at the same moment: the unique constraint decides, on committed data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from argon2.profiles import CHEAPEST
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from tests.conftest import T0
from tests.races import held_table_lock
from webapp.accounts import service
from webapp.accounts.account import Account
from webapp.accounts.errors import UsernameTaken
from webapp.db import Database
from webapp.models import RateLimit, User
from webapp.passwords import Passwords
from webapp.settings import to_asyncpg_url

KEY = "concurrent-racer"


@pytest.fixture
async def committed(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A real pool whose transactions commit; the rows this test makes are deleted afterwards."""
    engine = create_async_engine(to_asyncpg_url(database_url), pool_size=2)
    sm = async_sessionmaker(engine, expire_on_commit=False)
    yield sm
    async with sm.begin() as s:
        await s.execute(delete(User).where(User.username_key == KEY))
        await s.execute(delete(RateLimit).where(RateLimit.key.like("signup:%")))
    await engine.dispose()


async def sign_up(db: Database, username: str) -> Account:
    return await service.sign_up(
        db, Passwords(parameters=CHEAPEST), username=username, password="correct horse battery", display_name="",
        origin=service.Origin(client="", ip="192.0.2.7"), now=T0,
    )


async def test_concurrent_duplicate_signups_one_wins_cleanly(committed: async_sessionmaker[AsyncSession]) -> None:
    db = Database.pooled(committed)
    async with held_table_lock(committed, "users") as waiting:
        racers = asyncio.gather(
            sign_up(db, "Concurrent-Racer"), sign_up(db, "CONCURRENT-RACER"), return_exceptions=True
        )
        await waiting(2)  # both inserts are inside the critical section, blocked on the same table
    results = await racers
    await db.pool.close()  # type: ignore[union-attr]
    winners = [r for r in results if isinstance(r, Account)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 1 and isinstance(losers[0], UsernameTaken)
    async with committed() as s:
        assert await s.scalar(select(func.count()).select_from(User).where(User.username_key == KEY)) == 1
