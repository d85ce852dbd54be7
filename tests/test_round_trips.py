"""Database round trips of the hot routes, counted from the driver (asyncpg's query logger), like assertNumQueries.

A change that adds a query to a page view, /api/me or a returning user's WeChat login fails here,
not in a benchmark nobody reran. Each route is requested once first, so statement preparation
(cached per connection) is not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from tests.wechat.harness import Browser, World, _world
from tests.wechat.mini.conftest import Mini, mini_settings  # noqa: F401
from webapp.csrf import CSRF_HEADER


class RoundTrips:
    """The statements one asyncpg connection sent while counting."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, record: asyncpg.connection.LoggedQuery) -> None:
        self.queries.append(" ".join(record.query.split())[:120])

    def __len__(self) -> int:
        return len(self.queries)


@asynccontextmanager
async def counting(world: World) -> AsyncIterator[RoundTrips]:
    """Count what the site sends to PostgreSQL (the tests' one connection carries all of it)."""
    raw = (await world.sm.kw["bind"].get_raw_connection()).driver_connection
    trips = RoundTrips()
    raw.add_query_logger(trips)
    try:
        yield trips
    finally:
        await asyncio.sleep(0)  # loggers are called soon after each query: let the last ones run
        raw.remove_query_logger(trips)


async def logged_in(world: World) -> Browser:
    browser = world.browser()
    await browser.qr_login(user=1, next_path="/")
    assert await browser.me() is not None
    return browser


async def test_api_me_is_one_round_trip(world: World) -> None:
    browser = await logged_in(world)
    async with counting(world) as trips:
        assert (await browser.get("/api/me")).status == 200
    assert len(trips) == 1, trips.queries


async def test_an_authenticated_page_view_is_one_round_trip(world: World) -> None:
    browser = await logged_in(world)
    await browser.get("/")
    async with counting(world) as trips:
        assert (await browser.get("/")).status == 200
    assert len(trips) == 1, trips.queries


async def test_anonymous_pages_make_no_round_trip(world: World) -> None:
    browser = world.browser()
    for path in ("/", "/login", "/signup"):
        await browser.get(path)
    async with counting(world) as trips:
        for path in ("/", "/login", "/signup"):
            assert (await browser.get(path)).status == 200
    assert len(trips) == 0, trips.queries


async def test_the_sliding_expiry_writes_once_per_interval_not_per_request(world: World) -> None:
    browser = await logged_in(world)
    world.clock.advance(minutes=6)
    async with counting(world) as trips:
        await browser.get("/api/me")
    assert len(trips) == 2, trips.queries  # the load, and the touch
    async with counting(world) as trips:
        await browser.get("/api/me")
    assert len(trips) == 1, trips.queries


async def test_starting_a_wechat_flow_makes_no_round_trip(world: World) -> None:
    """The state is signed, its payload in the browser: a start (QR, in WeChat, embedded) touches no database."""
    browser, in_wechat = world.browser(), world.browser(wechat=True)
    token = await browser.csrf("/login")
    async with counting(world) as trips:
        await browser.start("/auth/wechat/start?next=/")
        await in_wechat.start("/auth/wechat/start?next=/")
        await browser.site.post("/auth/wechat/embed-state", headers={**browser.headers, CSRF_HEADER: token})
    assert len(trips) == 0, trips.queries


async def test_a_returning_users_callback_needs_two_round_trips(world: World) -> None:
    await (await logged_in(world)).get("/")  # the person exists; warm the statements up
    browser = world.browser()
    callback = await browser.scan_qr(await browser.start("/auth/wechat/start?next=/"), 1)
    async with counting(world) as trips:
        response = await browser.get(callback)
    assert (response.status, response.headers["Location"]) == (302, "/")
    # claim the state for this browser; then one statement refreshes the identity, records the login,
    # stores the callback's result and writes the new session.
    assert len(trips) == 2, trips.queries


async def test_a_new_persons_callback_needs_three_round_trips(world: World) -> None:
    await (await logged_in(world)).get("/")  # warm the statements up with another person
    browser = world.browser()
    callback = await browser.scan_qr(await browser.start("/auth/wechat/start?next=/"), 2)
    async with counting(world) as trips:
        response = await browser.get(callback)
    assert (response.status, response.headers["Location"]) == (302, "/auth/wechat/continue")
    # claim; the returning-user statement finds nobody; the account, unionid, identity, event, result
    # and session in one statement.
    assert len(trips) == 3, trips.queries


async def test_a_returning_login_reads_the_profile_again_only_when_it_is_a_day_old(world: World) -> None:
    await logged_in(world)
    userinfo = len(await world.sim.calls("/sns/userinfo"))
    await world.browser().qr_login(user=1, next_path="/")
    assert len(await world.sim.calls("/sns/userinfo")) == userinfo  # fresh: not asked again
    world.clock.advance(days=1, seconds=1)
    await world.browser().qr_login(user=1, next_path="/")
    assert len(await world.sim.calls("/sns/userinfo")) == userinfo + 1


@pytest.fixture
async def mini(aiohttp_client, mini_settings, sessionmaker, clock, sim_server) -> AsyncIterator[Mini]:  # type: ignore[no-untyped-def]  # noqa: F811
    """The site with its mini program, driven as the mini program's front end."""
    async for w in _world(aiohttp_client, mini_settings, sessionmaker, clock, sim_server):
        yield Mini(w)


async def test_a_returning_mini_program_login_needs_two_round_trips(mini: Mini) -> None:
    await mini.login(1)  # the person exists; warm the statements up
    code = await mini.login_code(1)
    async with counting(mini.world) as trips:
        answer = await mini.call("/api/wechat/mini/login", {"code": code})
    assert answer.status == 200
    # the identity core's returning-login statement (identity, event, the token's session row); then the
    # session_key, the per-person login budget, the token's tie to its identity and the /api/me row.
    assert len(trips) == 2, trips.queries


async def test_api_me_with_a_bearer_token_is_one_round_trip(mini: Mini) -> None:
    token = (await mini.login(1))["token"]
    await mini.me(token)
    async with counting(mini.world) as trips:
        assert (await mini.me(token)).status == 200
    assert len(trips) == 1, trips.queries
