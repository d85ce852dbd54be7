"""The read lane: the pool's connections handed from one single-statement read to the next.

The session query of every logged-in request goes through Database.fetchrow, and so through here.
asyncpg's checkout and return (a queue, a timeout, a shielded task) cost as much CPU as that query; a
single statement outside a transaction leaves nothing to reset, so connections the reads took stay out
of the pool: an idle one is popped from a list, and a finished read hands its connection straight to
the next waiting read (a future), else back to the list.

The lane may hold the whole pool, and writes come first. A write (Database.connection) takes an idle
lane connection before the pool's own; while it (or a read taking a new place in the lane) waits for
the pool, finished reads and writes give their connections back to the pool instead of to the next read. A write that ended cleanly, outside a
transaction, leaves its connection to the lane like a read (`release`); one that raised goes back to
the pool. Connections left idle in the lane for a whole sweep period (SWEEP_S) go back to the pool,
which closes them after its own idle lifetime.

A read that fails or is cancelled gives its connection back to the pool, which resets or discards it;
after a connection error it and every idle lane connection are closed first (a restarted database
dropped them all). A connection whose server closed it while it waited in the lane is dropped when
next taken. Lane connections bypass the pool's query-count rotation: they are recycled on error, when
idle for a sweep period, and when the pool closes.
"""

from __future__ import annotations

import asyncio
from collections import deque

import asyncpg

# Seconds between two looks at the idle lane; what no read took in between goes back to the pool.
SWEEP_S = 60.0


class ReadLane:
    """The lane of one asyncpg pool (attach), emptied when the pool closes (detach)."""

    def __init__(self, connection_errors: tuple[type[BaseException], ...]) -> None:
        self.size = 0
        self.idle: list[asyncpg.Connection] = []  # the most recently used last
        self.held = 0  # taken from the pool for the lane, idle or busy
        self.waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self.writers = 0  # writes waiting for the pool: finished reads and writes go back to it
        self.taking = 0  # reads waiting for the pool for a new lane place: the same, once the pool is exhausted
        self.sweep_s = SWEEP_S
        self._pool: asyncpg.Pool | None = None
        self._broken_by = connection_errors
        self._unused = 0  # idle[:_unused] no read has taken since the last sweep
        self._sweeper: asyncio.TimerHandle | None = None
        self._returning: set[asyncio.Task[None]] = set()

    def attach(self, pool: asyncpg.Pool, max_size: int) -> None:
        """Serve reads from `pool` (of at most `max_size` connections; none of a pool of one)."""
        self._pool, self.size = pool, max_size if max_size > 1 else 0

    async def detach(self) -> None:
        """The pool is closing: give back the idle connections; reads in flight give theirs back when done."""
        pool, self._pool = self._pool, None
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        await self._empty(pool, broken=False)
        if self._returning:
            await asyncio.gather(*self._returning)

    async def fetchrow(self, pool: asyncpg.Pool, sql: str, *args: object) -> asyncpg.Record | None:
        """One read-only statement's first row, on a lane connection of `pool`."""
        conn = await self._take(pool)
        if conn is None:  # a pool too small to spare a lane
            async with pool.acquire() as conn:
                return await conn.fetchrow(sql, *args)
        try:
            row = await conn.fetchrow(sql, *args)
        except BaseException as exc:
            broken = isinstance(exc, self._broken_by)
            await self._leave(pool, conn, broken=broken)
            if broken:
                await self._empty(pool, broken=True)
            raise
        if self._pool is pool and not self._pool_awaited(pool):
            self._give(conn)
        else:  # someone waits for the pool (see _pool_awaited), or the pool closed meanwhile and waits for it
            await self._leave(pool, conn)
        return row

    async def acquire(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        """A connection for a write, to be given back with `release` (or to `pool` if the write raised): an
        idle lane connection, else the pool's (finished reads go back to the pool while this waits for it)."""
        while self.idle:
            conn = self._pop()
            if is_open(conn):
                self.held -= 1  # out of the lane while the write runs (release may put it back)
                return conn
            await self._leave(pool, conn, broken=True)
        self.writers += 1
        try:
            return await pool.acquire()
        finally:
            self.writers -= 1

    async def release(self, pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
        """A write's connection, its statements done: to the next read or idle in the lane, like a read's;
        to `pool` while a write waits for it, once the pool closed, or if a transaction is still open."""
        lane_has_room = self.held < self.size  # always, but for a place a read is taking from the pool meanwhile
        if self._pool is pool and lane_has_room and not self._pool_awaited(pool) and not conn.is_in_transaction():
            self.held += 1
            self._give(conn)
        else:
            await pool.release(conn)

    def sweep(self) -> asyncio.Task[None] | None:
        """Give back to the pool the idle connections no read took since the last sweep (every sweep_s);
        the task giving them back, if any."""
        self._sweeper, pool = None, self._pool
        if pool is None:  # detached: the idle connections went back already
            return None
        unused = self.idle[: self._unused]
        del self.idle[: self._unused]
        self._unused = len(self.idle)
        self._schedule_sweep()
        if not unused:
            return None
        task = asyncio.get_running_loop().create_task(self._give_back(pool, unused))
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)
        return task

    async def _give_back(self, pool: asyncpg.Pool, conns: list[asyncpg.Connection]) -> None:
        for conn in conns:
            await self._leave(pool, conn, broken=not is_open(conn))

    def _pool_awaited(self, pool: asyncpg.Pool) -> bool:
        """A write waits for the pool, or a read taking a new lane place waits for an exhausted one: the next
        connection freed must go to the pool."""
        if self.writers:
            return True
        return bool(self.taking) and pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size()

    def _schedule_sweep(self) -> None:
        if self._sweeper is None and self.idle and self._pool is not None:
            self._sweeper = asyncio.get_running_loop().call_later(self.sweep_s, self.sweep)

    def _pop(self) -> asyncpg.Connection:
        conn = self.idle.pop()
        self._unused = min(self._unused, len(self.idle))
        return conn

    async def _take(self, pool: asyncpg.Pool) -> asyncpg.Connection | None:
        """An idle lane connection, a new one while the lane has room, else the next one given back."""
        if self.size == 0:
            return None
        while True:
            while self.idle:
                conn = self._pop()
                if is_open(conn):
                    return conn
                await self._leave(pool, conn, broken=True)
            if self.held < self.size:
                self.held += 1  # before the await: concurrent reads must not all take a place
                self.taking += 1
                try:
                    return await pool.acquire()
                except BaseException:
                    self.held -= 1
                    self._freed()
                    raise
                finally:
                    self.taking -= 1
            given = await self._wait()
            if given is not None:
                return given
            # None: a lane connection left; take its place on the next turn

    async def _wait(self) -> asyncpg.Connection | None:
        """The next connection a finished read gives back, or None when a place came free instead."""
        waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if not waiter.done():
                self.waiters.remove(waiter)
            elif not waiter.cancelled():  # given at the moment it was cancelled: pass it on
                handed = waiter.result()
                if handed is None:
                    self._freed()
                else:
                    self._give(handed)
            raise

    def _give(self, conn: asyncpg.Connection) -> None:
        """A finished read's connection: to the first read waiting for one, else idle in the lane."""
        if not self._wake(conn):
            self.idle.append(conn)
            if self._sweeper is None:
                self._schedule_sweep()

    def _freed(self) -> None:
        """A place in the lane came free: the first waiting read takes it."""
        self._wake(None)

    def _wake(self, answer: asyncpg.Connection | None) -> bool:
        """Answer the first read still waiting; False when none is."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(answer)
                return True
        return False

    async def _leave(self, pool: asyncpg.Pool | None, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        self.held -= 1
        self._freed()
        if broken and is_open(conn):  # its server may be gone mid-statement: the pool must not hand it out
            conn.terminate()
        if pool is not None:
            await pool.release(conn)  # a connection the pool already took back is left alone

    async def _empty(self, pool: asyncpg.Pool | None, *, broken: bool) -> None:
        """Give every idle lane connection back to `pool` (closed first when the database dropped them)."""
        while self.idle:
            await self._leave(pool, self._pop(), broken=broken)


def is_open(conn: asyncpg.Connection) -> bool:
    """False once the connection is closed, or once the pool took it back because its server closed it."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:  # "released back to the pool"
        return False
