"""Proving a race happened: hold a lock the racers need, and see them all waiting on it before letting go.

A race test that passes when its requests happen to run one after the other proves nothing. Here a
second connection takes a table lock first; the test then watches PostgreSQL (pg_locks) until the
expected number of backends are blocked on that very lock, and only then releases it. No sleeping:
every check is a query, and a deadline turns a stuck race into a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

WAITING_ON = text(
    """SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
       WHERE NOT l.granted AND c.relname = :table AND l.pid <> pg_backend_pid()"""
)


@asynccontextmanager
async def held_table_lock(
    sm: async_sessionmaker[AsyncSession], table: str, *, timeout_s: float = 20.0
) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """Lock `table` against writes; yield `waiting(n)`, which returns once n other backends wait for it."""
    async with sm() as holder, sm() as watcher:
        await holder.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))

        async def waiting(n: int) -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            while (await watcher.scalar(WAITING_ON, {"table": table})) < n:
                await watcher.rollback()  # a fresh snapshot of pg_locks next time
                if loop.time() > deadline:
                    raise AssertionError(f"{n} racers never reached the lock on {table}")

        try:
            yield waiting
        finally:
            await holder.rollback()


BLOCKED = text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()")


async def backends_blocked(sm: async_sessionmaker[AsyncSession], n: int, *, timeout_s: float = 20.0) -> None:
    """Return once n other backends wait for some lock (a table, a row, a transaction), whichever it is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with sm() as watcher:
        while (await watcher.scalar(BLOCKED)) < n:
            await watcher.rollback()
            if loop.time() > deadline:
                raise AssertionError(f"{n} racers never blocked")
