"""Database.fetchrow's lane: reads share a few connections kept out of the pool, and never keep a bad one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.races import backends_blocked
from webapp.db import CONNECTION_ERRORS, Database

PID = "SELECT pg_backend_pid() AS pid"
# Waits (inside the database) while another connection holds advisory lock 7, then answers its backend.
BLOCKED_PID = "SELECT pg_advisory_xact_lock_shared(7), pg_backend_pid() AS pid"


@pytest.fixture
async def db(pooled_sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Database]:
    database = Database.pooled(pooled_sessionmaker)
    await database.open(max_size=12)
    yield database
    await database.close_pool()


@pytest.fixture
async def other(db: Database) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own (not the pool's), to hold locks and end backends."""
    assert db.pool is not None
    params = db.pool._connect_kwargs, db.pool._connect_args  # the pool's own DSN and options
    conn = await asyncpg.connect(*params[1], **params[0])
    yield conn
    await conn.close()


async def test_reads_one_after_another_reuse_one_lane_connection(db: Database) -> None:
    pids = {(await db.fetchrow(PID))["pid"] for _ in range(20)}  # type: ignore[index]

    assert len(pids) == 1
    assert db.lane.held == 1 and len(db.lane.idle) == 1
    assert db.pool_usage() == (0, db.pool.get_size())  # type: ignore[union-attr]  # the idle lane counts as idle


async def test_reads_beyond_the_lane_wait_for_it_and_leave_the_pool_to_the_rest(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert db.lane.size == 6  # half of the pool's 12
    await other.execute("SELECT pg_advisory_lock(7)")
    readers = [asyncio.ensure_future(db.fetchrow(BLOCKED_PID)) for _ in range(10)]
    await backends_blocked(pooled_sessionmaker, 6)  # the lane's six are inside the database
    assert len(db.lane.waiters) == 4 and db.lane.held == 6
    async with db.connection() as conn:  # the pool's other connections are free for everything else
        assert await conn.fetchval("SELECT 1") == 1
    await other.execute("SELECT pg_advisory_unlock(7)")

    rows = await asyncio.gather(*readers)

    assert len(rows) == 10 and len({row["pid"] for row in rows}) == 6  # type: ignore[index]
    assert db.lane.held == db.lane.size == len(db.lane.idle) and not db.lane.waiters


async def test_a_cancelled_waiting_read_loses_no_connection(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await other.execute("SELECT pg_advisory_lock(7)")
    readers = [asyncio.ensure_future(db.fetchrow(BLOCKED_PID)) for _ in range(8)]
    await backends_blocked(pooled_sessionmaker, 6)
    waiting = readers[-1]
    waiting.cancel()
    await other.execute("SELECT pg_advisory_unlock(7)")

    results = await asyncio.gather(*readers, return_exceptions=True)

    assert isinstance(results[-1], asyncio.CancelledError)
    assert all(row is not None and not isinstance(row, BaseException) for row in results[:-1])
    assert db.lane.held == 6 == len(db.lane.idle) and not db.lane.waiters
    assert len(await asyncio.gather(*(db.fetchrow(PID) for _ in range(12)))) == 12  # the lane still serves all


async def test_a_cancelled_read_gives_its_connection_back_to_the_pool(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await other.execute("SELECT pg_advisory_lock(7)")
    reader = asyncio.ensure_future(db.fetchrow(BLOCKED_PID))
    await backends_blocked(pooled_sessionmaker, 1)

    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await other.execute("SELECT pg_advisory_unlock(7)")

    assert db.lane.held == 0 and db.lane.idle == []  # never handed to the next read mid-statement
    assert (await db.fetchrow("SELECT 41 + 1 AS answer"))["answer"] == 42  # type: ignore[index]


async def test_an_ended_backend_costs_one_error_then_reads_recover(db: Database, other: asyncpg.Connection) -> None:
    readers = await asyncio.gather(*(db.fetchrow(PID) for _ in range(3)))  # a few lane connections
    ended = {row["pid"] for row in readers}  # type: ignore[index]
    for pid in ended:
        await other.execute("SELECT pg_terminate_backend($1)", pid)

    with pytest.raises(CONNECTION_ERRORS):
        await db.fetchrow(PID)

    assert db.lane.idle == []  # every idle lane connection went back with the first error
    row = await db.fetchrow(PID)
    assert row is not None and row["pid"] not in ended


async def test_a_pool_of_one_keeps_no_lane(
    pooled_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    database = Database.pooled(pooled_sessionmaker)
    await database.open(max_size=1)
    try:
        assert (await database.fetchrow("SELECT 1 AS one"))["one"] == 1  # type: ignore[index]
        assert database.lane.held == 0
    finally:
        await database.close_pool()


async def test_closing_returns_the_lane_and_a_read_in_flight_lets_go_when_done(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await db.fetchrow(PID)
    await other.execute("SELECT pg_advisory_lock(7)")
    reader = asyncio.ensure_future(db.fetchrow(BLOCKED_PID))
    await backends_blocked(pooled_sessionmaker, 1)

    closing = asyncio.ensure_future(db.close_pool())  # waits for the read in flight, as asyncpg's close does
    await other.execute("SELECT pg_advisory_unlock(7)")
    assert (await reader) is not None
    await closing

    assert db.lane.held == 0 and db.lane.idle == [] and db.pool is None
