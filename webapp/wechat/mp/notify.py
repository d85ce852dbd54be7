"""Wake-ups across processes: one LISTEN connection per process, PostgreSQL NOTIFY to send.

A waiter registers a key ("scene:<scene>", "token:<appid>"), re-reads the database, and only then
waits: a notification between its read and its wait still wakes it. Senders NOTIFY inside their
transaction (delivered on commit, to every process) and wake local waiters after the commit. Without
a listener (PgBouncer in transaction mode, where LISTEN does not work, or a test connection) or while
it reconnects, waits are cut to `poll_s`, so waiters fall back to a slow poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "webapp_wechat_mp"
log = logging.getLogger("webapp.wechat.mp")


async def notify(session: AsyncSession, key: str) -> None:
    """Queue a NOTIFY for `key` in the session's transaction (sent on commit)."""
    await session.execute(select(func.pg_notify(CHANNEL, key)))


class Notifier:
    """Keyed wake-ups for this process, fed by a dedicated LISTEN connection when there is one."""

    def __init__(
        self, dsn: str | None, *, poll_s: float = 2.0, retry_delays: tuple[float, ...] = (0.1, 0.5, 2.0, 5.0)
    ) -> None:
        self.dsn, self.poll_s, self._retry_delays = dsn, poll_s, retry_delays
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self.listening = asyncio.Event()
        self.connections = 0  # how many times LISTEN was (re-)established
        self.closing = False
        self._changed = asyncio.Event()
        self._tried = asyncio.Event()  # the first connection attempt is over, whatever its result

    async def start(self, *, timeout_s: float = 5.0) -> None:
        """Start listening (when there is a DSN); wait for the first attempt, never long (the site starts anyway)."""
        if self.dsn is None:
            log.info("no LISTEN connection: waits fall back to polling every %.1fs", self.poll_s)
            return
        self._task = asyncio.create_task(self._run(), name="webapp-mp-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), timeout_s)

    def release(self) -> None:
        """Shutting down: every waiter answers now instead of holding up the shutdown."""
        self.closing = True
        self.wake_all()

    async def stop(self) -> None:
        """Stop listening and release every waiter."""
        self.release()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def watch(self, key: str) -> AsyncIterator[asyncio.Event]:
        """Register interest in `key` for the duration of the block."""
        event = asyncio.Event()
        self._waiters.setdefault(key, set()).add(event)
        self._bump()
        try:
            yield event
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[key]

    async def wait(self, event: asyncio.Event, timeout_s: float) -> None:
        """Wait for a wake-up or the timeout; at most `poll_s` when nothing listens."""
        if not self.listening.is_set():
            timeout_s = min(timeout_s, self.poll_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(timeout_s, 0.0))

    def watching(self, key: str) -> int:
        """How many waiters this process has for `key`."""
        return len(self._waiters.get(key, ()))

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait until `predicate()` holds, re-checked whenever a watch starts or LISTEN (re)connects."""
        while not predicate():
            await self._changed.wait()

    def _bump(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def wake(self, key: str) -> None:
        """Wake this process's waiters for `key`."""
        for event in self._waiters.get(key, ()):
            event.set()

    def wake_all(self) -> None:
        """Wake every waiter (they re-read the database)."""
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def _run(self) -> None:
        failures = 0
        while True:
            lost = asyncio.Event()
            try:
                self._conn = await asyncpg.connect(self.dsn, timeout=10)
                self._conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await self._conn.add_listener(CHANNEL, self._on_notify)
                failures = 0
                self.connections += 1
                self.listening.set()
                self._tried.set()
                self._bump()
                self.wake_all()  # anything sent while we were away is read again
                await lost.wait()
                log.warning("LISTEN connection lost; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("LISTEN connection failed (%s); retrying", type(exc).__name__)
            except Exception:  # whatever it was, keep trying: waits poll meanwhile
                log.exception("LISTEN connection failed; retrying")
            finally:
                self._tried.set()
                self.listening.clear()
                await self._close()
            await asyncio.sleep(self._retry_delays[min(failures, len(self._retry_delays) - 1)])
            failures += 1

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close(timeout=2))

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.wake(payload)

    @property
    def backend_pid(self) -> int | None:
        """The listening connection's server process id (tests terminate it to test reconnects)."""
        return self._conn.get_server_pid() if self._conn is not None and not self._conn.is_closed() else None
