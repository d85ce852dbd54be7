"""Bursts of logins on a pool smaller than the burst: every one finishes, and the pool ends whole.

The session reads and the login's writes share the asyncpg pool through the read lane (webapp/readlane.py),
which hands connections from one request to the next outside the pool. Its unit tests stage each hand-off;
here many people log in at once on a site whose pool is a fraction of them, as a busy morning would, so
a connection that ends up where nobody waits for it shows as a login that never finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.wechat.harness import Browser, World, _world
from webapp.keys import database_key
from webapp.settings import Settings

POOL = 3
PEOPLE = 24


@pytest.fixture
async def small_pool_world(aiohttp_client, wechat_settings: Settings, pooled_sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    async for w in _world(aiohttp_client, wechat_settings.with_(database_pool_size=POOL), pooled_sessionmaker, clock, sim_server):
        yield w


async def _login_round(browser: Browser, user: int) -> Any:
    """A QR login (start, WeChat, callback), then the page that reads the session."""
    callback = await browser.qr_login(user=user, next_path="/api/me")
    assert callback.status == 302, callback.status
    return await browser.me()


@pytest.mark.parametrize("rounds", [1, 2])
async def test_a_burst_of_logins_on_a_small_pool_all_finish(small_pool_world: World, rounds: int) -> None:
    world = small_pool_world
    users = [u["id"] for u in await world.sim.control("GET", "users")]
    for _ in range(rounds):  # the second burst: returning people, on a lane the first one filled
        browsers = [world.browser() for _ in range(PEOPLE)]
        burst = asyncio.gather(*(_login_round(b, users[i % len(users)]) for i, b in enumerate(browsers)))
        # A starved connection wait shows as this bound running out, not as a hung test run.
        mes = await asyncio.wait_for(burst, 60)
        assert all(me is not None for me in mes)

    db = world.site.app[database_key]
    assert db.pool is not None and db.pool.get_size() <= POOL
    assert not db.lane.writers and not db.lane.taking and not db.lane.waiters
    assert db.lane.held + db.pool.get_idle_size() == db.pool.get_size()
