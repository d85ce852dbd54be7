"""Database.fetchrow's lane: reads hand the pool's connections to one another, writes come first, and the lane
never keeps a bad connection, nor an idle one for long."""

from __future__ import annotations

import asyncio
import contextlib
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


async def test_reads_beyond_the_pool_wait_for_the_lane(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert db.lane.size == 12  # the whole pool
    await other.execute("SELECT pg_advisory_lock(7)")
    readers = [asyncio.ensure_future(db.fetchrow(BLOCKED_PID)) for _ in range(15)]
    await backends_blocked(pooled_sessionmaker, 12)  # every connection of the pool is inside the database
    assert len(db.lane.waiters) == 3 and db.lane.held == 12
    await other.execute("SELECT pg_advisory_unlock(7)")

    rows = await asyncio.gather(*readers)

    assert len(rows) == 15 and len({row["pid"] for row in rows}) == 12  # type: ignore[index]
    assert db.lane.held == db.lane.size == len(db.lane.idle) and not db.lane.waiters


async def test_a_write_takes_an_idle_lane_connection_and_leaves_it_to_the_lane(db: Database) -> None:
    lane_pids = {row["pid"] for row in await asyncio.gather(*(db.fetchrow(PID) for _ in range(3)))}  # type: ignore[index]
    assert db.lane.held == 3 and db.pool.get_idle_size() == 0  # type: ignore[union-attr]

    async with db.connection() as conn:
        written = await conn.fetchval("SELECT pg_backend_pid()")
        assert written in lane_pids
        assert db.lane.held == 2 and len(db.lane.idle) == 2

    assert db.lane.held == 3 and len(db.lane.idle) == 3 and db.pool.get_idle_size() == 0  # type: ignore[union-attr]
    assert (await db.fetchrow(PID))["pid"] == written  # type: ignore[index]  # the next read takes it
    assert db.pool_usage() == (0, 3)


async def test_a_write_from_the_pool_leaves_its_connection_to_the_next_read(db: Database) -> None:
    async with db.connection() as conn:  # the lane is empty: the pool's own connection
        written = await conn.fetchval("SELECT pg_backend_pid()")
        assert db.lane.held == 0

    assert db.lane.held == 1 and db.pool.get_idle_size() == 0  # type: ignore[union-attr]
    assert (await db.fetchrow(PID))["pid"] == written  # type: ignore[index]


async def test_a_write_that_raised_or_left_a_transaction_open_goes_back_to_the_pool(db: Database) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with db.connection() as conn:
            await conn.execute("SELECT 1 / 0")
    assert db.lane.held == 0 and db.pool.get_idle_size() == 1  # type: ignore[union-attr]

    async with db.connection() as conn:
        await conn.transaction().start()  # never ended: the pool rolls it back, the lane must not take it
    assert db.lane.held == 0 and db.lane.idle == [] and db.pool.get_idle_size() == 1  # type: ignore[union-attr]
    async with db.connection() as conn:
        assert not conn.is_in_transaction()


async def test_a_finished_write_goes_to_the_pool_while_another_write_waits_for_it(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await other.execute("SELECT pg_advisory_lock(7)")

    async def write(sql: str) -> int:
        async with db.connection() as conn:
            return int(await conn.fetchval(sql))

    writes = [asyncio.ensure_future(write("SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared(7)) AS locked"))
              for _ in range(13)]
    await backends_blocked(pooled_sessionmaker, 12)  # the pool's twelve connections, busy; the thirteenth waits
    assert db.lane.writers == 1
    await other.execute("SELECT pg_advisory_unlock(7)")

    assert await asyncio.wait_for(asyncio.gather(*writes), 10) == [1] * 13  # the waiting write got one
    assert not db.lane.writers and db.lane.held + db.pool.get_idle_size() == db.pool.get_size()  # type: ignore[union-attr]


async def test_a_write_waiting_for_the_pool_gets_the_next_finished_read(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await other.execute("SELECT pg_advisory_lock(7)")
    readers = [asyncio.ensure_future(db.fetchrow(BLOCKED_PID)) for _ in range(14)]
    await backends_blocked(pooled_sessionmaker, 12)  # the lane holds the whole pool, busy

    async def write() -> int:
        async with db.connection() as conn:
            return int(await conn.fetchval("SELECT 1"))

    writer = asyncio.ensure_future(write())
    for _ in range(100):  # until the write is queued for the pool (each turn of the loop, no clock)
        if db.lane.writers:
            break
        await asyncio.sleep(0)
    assert db.lane.writers == 1
    await other.execute("SELECT pg_advisory_unlock(7)")

    # Without the write's priority the lane would keep every connection, and the write would wait forever.
    assert await asyncio.wait_for(writer, 10) == 1
    assert all(row is not None for row in await asyncio.gather(*readers))
    assert db.lane.held + db.pool.get_idle_size() == db.pool.get_size()  # type: ignore[union-attr]
    assert not db.lane.writers and not db.lane.waiters


async def test_a_read_waiting_for_the_pool_for_a_lane_place_gets_the_next_finished_write(
    db: Database, other: asyncpg.Connection, pooled_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    locks = range(100, 112)  # one advisory lock per write: they finish one at a time
    await other.execute("SELECT " + ", ".join(f"pg_advisory_lock({n})" for n in locks))

    async def write(lock: int) -> int:
        async with db.connection() as conn:
            return int(await conn.fetchval("SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared($1)) AS locked", lock))

    writes = [asyncio.ensure_future(write(n)) for n in locks]
    await backends_blocked(pooled_sessionmaker, 12)  # the writes hold the whole pool; the lane is empty
    reader = asyncio.ensure_future(db.fetchrow(PID))
    for _ in range(100):  # until the read waits for the pool (each turn of the loop, no clock)
        if db.lane.taking:
            break
        await asyncio.sleep(0)
    assert db.lane.taking == 1 and db.lane.held == 1
    await other.execute("SELECT pg_advisory_unlock(100)")  # the first write finishes, the others still wait

    # Left to the lane, its connection would sit idle there while the read waits for the pool.
    assert await asyncio.wait_for(reader, 10) is not None
    assert not db.lane.taking and not writes[1].done()
    await other.execute("SELECT pg_advisory_unlock_all()")
    assert await asyncio.gather(*writes) == [1] * 12
    assert db.lane.held + db.pool.get_idle_size() == db.pool.get_size()  # type: ignore[union-attr]


async def test_the_sweep_gives_back_what_no_read_took_since_the_last(db: Database) -> None:
    await asyncio.gather(*(db.fetchrow(PID) for _ in range(4)))
    assert db.lane.held == 4 and len(db.lane.idle) == 4
    assert db.lane.sweep() is None  # all four were used since the lane began

    await db.fetchrow(PID)  # takes the most recently used one, and gives it back
    returning = db.lane.sweep()
    assert returning is not None
    await returning

    assert db.lane.held == 1 and len(db.lane.idle) == 1 and db.pool.get_idle_size() == 3  # type: ignore[union-attr]
    last = db.lane.sweep()
    assert last is not None
    await last
    assert db.lane.held == 0 and db.pool.get_idle_size() == 4  # type: ignore[union-attr]


async def test_the_sweep_runs_by_itself_while_the_lane_has_idle_connections(db: Database) -> None:
    db.lane.sweep_s = 0.0  # every turn of the loop instead of every minute
    await db.fetchrow(PID)
    for _ in range(100):  # two sweeps: the first marks the idle connection unused, the second gives it back
        if db.pool.get_idle_size() == 1:  # type: ignore[union-attr]
            break
        await asyncio.sleep(0)

    assert db.lane.held == 0 and db.lane.idle == [] and db.pool.get_idle_size() == 1  # type: ignore[union-attr]


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


async def test_an_ended_backend_costs_at_most_one_error_then_reads_recover(db: Database, other: asyncpg.Connection) -> None:
    readers = await asyncio.gather(*(db.fetchrow(PID) for _ in range(3)))  # a few lane connections
    ended = {row["pid"] for row in readers}  # type: ignore[index]
    for pid in ended:
        await other.execute("SELECT pg_terminate_backend($1)", pid)

    # Mostly asyncpg has not yet read the backends' goodbye: the first read fails and empties the lane.
    # Sometimes it has (the loop polled their sockets meanwhile): the lane drops them and nothing fails.
    with contextlib.suppress(*CONNECTION_ERRORS):
        await db.fetchrow(PID)

    assert not {conn.get_server_pid() for conn in db.lane.idle} & ended  # no ended backend stays in the lane
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
