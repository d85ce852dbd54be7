"""Issue 7 ("Hardening"): fixtures shared by its end-to-end tests.

The site and the simulator run on loopback servers (tests/wechat/harness.py); the site's own objects may
be replaced by our own subclasses that count (passwords) or record (the WeChat client's retry sleeps),
never by mocks of the database or the HTTP stack.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

import webapp.models  # noqa: F401  (every table registered on Base.metadata)
from tests.wechat.client_fixtures import RecordingSleep
from tests.wechat.harness import Sim, World, sim_server, wechat_settings  # noqa: F401  (fixtures)
from webapp.app import create_app
from webapp.db import Base
from webapp.keys import clock_key, passwords_key, settings_key, wechat_client_key
from webapp.passwords import Passwords
from webapp.security import verify_password
from webapp.settings import Settings
from webapp.wechat.client import WeChatClient

PASSWORD = "correct horse battery"


class CountingPasswords(Passwords):
    """The site's Passwords, counting every verification it is asked for (each one runs argon2)."""

    def __init__(self, *, concurrency: int | None = None) -> None:
        super().__init__(concurrency=concurrency)
        self.verified = 0

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self.verified += 1
        return await super().verify(password_hash, password)


class ArgonWatch(ThreadPoolExecutor):
    """The loop's default executor, counting argon2 verifications that run at the same time.

    `asyncio.to_thread(verify_password, ...)` reaches the executor as partial(ctx.run, verify_password, ...).
    The first `rendezvous` verifications wait for each other (a barrier), so the peak provably reaches
    that number; any verification beyond the semaphore would push `peak` above it.
    """

    def __init__(self, *, rendezvous: int, max_workers: int = 48) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="argon-watch")
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(rendezvous, timeout=30) if rendezvous > 1 else None
        self._rendezvous = rendezvous
        self.arrived = 0
        self.running = 0
        self.peak = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        target = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        if target is not verify_password:
            return super().submit(fn, *args, **kwargs)

        def watched() -> Any:
            with self._lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
                self.arrived += 1
                meet = self._barrier is not None and self.arrived <= self._rendezvous
            try:
                if meet:
                    assert self._barrier is not None
                    self._barrier.wait()
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        return super().submit(watched)


async def table_rows(sm: Any) -> dict[str, int]:
    """Rows in every table of the schema."""
    async with sm() as s:
        return {
            t.name: int(await s.scalar(text(f'SELECT count(*) FROM "{t.name}"')) or 0)
            for t in Base.metadata.sorted_tables
        }


def quiet_client(app: web.Application, sleeps: RecordingSleep) -> None:
    """Give the app a WeChat client whose retry waits are recorded instead of slept (set at start-up)."""

    async def swap(app: web.Application) -> None:
        settings = app[settings_key]
        old = app[wechat_client_key]
        app[wechat_client_key] = WeChatClient(
            old._http, api_base=settings.wechat_api_base, sleep=sleeps, now=app[clock_key],
            timeout=aiohttp.ClientTimeout(total=settings.wechat_timeout_s),
        )

    app.on_startup.append(swap)


MakeWorld = Callable[..., Awaitable[World]]


@pytest.fixture
def sleeps() -> RecordingSleep:
    """The site's WeChat client's retry waits (recorded, never slept)."""
    return RecordingSleep()


async def _maker(
    aiohttp_client: Any, settings: Settings, sm: Any, clock: Any, sim: Sim, sleeps: RecordingSleep
) -> AsyncIterator[MakeWorld]:
    worlds: list[World] = []

    async def make(*, passwords: Passwords | None = None, **overrides: Any) -> World:
        site_settings = settings.with_(**overrides) if overrides else settings
        app = create_app(site_settings, sessionmaker=sm, clock=clock)
        if passwords is not None:
            app[passwords_key] = passwords
        quiet_client(app, sleeps)
        world = World(await aiohttp_client(app), sim, site_settings, sm, clock)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        await world.close()


@pytest.fixture
async def make_world(  # type: ignore[no-untyped-def]
    aiohttp_client, wechat_settings, sessionmaker, clock, sim_server, sleeps  # noqa: F811
) -> AsyncIterator[MakeWorld]:
    """Build the site + simulator world on the test's rolled-back transaction (options: passwords, settings)."""
    async for make in _maker(aiohttp_client, wechat_settings, sessionmaker, clock, sim_server, sleeps):
        yield make


@pytest.fixture
async def make_pooled_world(  # type: ignore[no-untyped-def]
    aiohttp_client, wechat_settings, pooled_sessionmaker, clock, sim_server, sleeps  # noqa: F811
) -> AsyncIterator[MakeWorld]:
    """Like make_world, on the pooled database (real commits, many connections): for concurrent requests."""
    async for make in _maker(aiohttp_client, wechat_settings, pooled_sessionmaker, clock, sim_server, sleeps):
        yield make


@pytest.fixture
async def world(make_world: MakeWorld) -> World:
    """The default world: the site as built by create_app, with recorded (not slept) WeChat retries."""
    return await make_world()


async def until(check: Callable[[], Awaitable[bool]], what: str, *, timeout_s: float = 30.0) -> None:
    """Re-check observable state (each check does I/O) until true; fail after the deadline. No sleeping."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0)
