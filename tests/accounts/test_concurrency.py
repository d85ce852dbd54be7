"""Two sign-ups for the same name at the same moment: the unique constraint decides, on committed data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from argon2.profiles import CHEAPEST
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from tests.conftest import T0
from tests.races import backends_blocked, held_table_lock
from webapp.accounts import closing, profile, service
from webapp.accounts.account import Account
from webapp.accounts.errors import InvalidCredentials, UsernameTaken
from webapp.db import Database
from webapp.models import RateLimit, User
from webapp.passwords import Passwords
from webapp.sessions import _INSERT_SQL
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
        await s.execute(delete(RateLimit).where(RateLimit.key.like("signup:%")))  # the site-wide budget
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
    await db.close_pool()
    winners = [r for r in results if isinstance(r, Account)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 1 and isinstance(losers[0], UsernameTaken)
    async with committed() as s:
        assert await s.scalar(select(func.count()).select_from(User).where(User.username_key == KEY)) == 1


async def test_a_password_login_racing_the_deletion_of_its_account_is_no_500(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    db = Database.pooled(committed)
    account = await sign_up(db, "Concurrent-Racer")
    origin = service.Origin(client="", ip="192.0.2.8")
    login = service.authenticate(db, Passwords(), username="concurrent-racer", password="correct horse battery",
                                 origin=origin, now=T0)
    async with held_table_lock(committed, "security_events") as waiting:
        logging_in = asyncio.ensure_future(login)
        await waiting(1)  # the password is verified; the login is writing its security event
        deleting = asyncio.ensure_future(closing.delete_account(db, user_id=account.id, now=T0))
        await backends_blocked(committed, 2)  # the deletion is inside its transaction too, waiting
    results = await asyncio.gather(logging_in, deleting, return_exceptions=True)
    # Whichever order the database chose, the login either happened before the deletion or found no account.
    assert isinstance(results[0], Account | InvalidCredentials), repr(results[0])
    assert results[1] is True
    async with db.connection() as conn:  # a session for the deleted account: nothing stored, nothing raised
        await conn.execute(_INSERT_SQL, "x" * 64, account.id, "{}", T0, T0, "", "")
        assert await conn.fetchval("SELECT count(*) FROM web_sessions WHERE user_id = $1", account.id) == 0
        assert await conn.fetchval("SELECT count(*) FROM users WHERE id = $1", account.id) == 0
        await conn.execute("DELETE FROM security_events WHERE user_id IS NULL AND kind = 'account_deleted'")
        await conn.execute("DELETE FROM login_failures WHERE key LIKE $1", "%192.0.2.8%")
    await db.close_pool()


async def test_changes_to_an_account_deleted_meanwhile_write_no_event_and_raise_nothing(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    # The page that asked for the change loaded the account; it was deleted before the change was written.
    db = Database.pooled(committed)
    account = await sign_up(db, "Concurrent-Racer")
    assert await closing.delete_account(db, user_id=account.id, now=T0)
    origin = service.Origin(client="", ip="192.0.2.9")

    assert await service.logout_others(db, user_id=account.id, keep_session=None, origin=origin, now=T0) == 0
    assert await profile.rename(db, user_id=account.id, display_name="New", origin=origin, now=T0) is False
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM security_events WHERE user_id = $1", account.id) == 0
        await conn.execute("DELETE FROM security_events WHERE user_id IS NULL AND kind = 'account_deleted'")
    await db.close_pool()


async def test_a_session_racing_the_disabling_of_its_account_is_not_stored(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    db = Database.pooled(committed)
    account = await sign_up(db, "Concurrent-Racer")
    async with committed() as admin:  # the admin's `disable`, holding the account until it commits
        user = await admin.get(User, account.id, with_for_update=True)
        assert user is not None
        user.disabled_at = T0
        await admin.flush()
        async with db.connection() as conn:
            storing = asyncio.ensure_future(conn.execute(_INSERT_SQL, "y" * 64, account.id, "{}", T0, T0, "", ""))
            await backends_blocked(committed, 1)  # the login's session insert is waiting on the account
            await admin.commit()
            await storing
            assert await conn.fetchval("SELECT count(*) FROM web_sessions WHERE user_id = $1", account.id) == 0
    await db.close_pool()
