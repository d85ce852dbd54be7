"""Two site instances on one PostgreSQL with real commits: the page long-polls instance A while WeChat
pushes to instance B; the interface token is fetched once for both and refreshed under the lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from tests.wechat.harness import World
from tests.wechat.mp.follow_page import FollowPage, ticket_of
from tests.wechat.mp.helpers import advance, events_of, oa_identity, oa_login, phone_action, push_to
from webapp.app import create_app
from webapp.wechat.mp.api import QRCODE_CREATE_PATH, STABLE_TOKEN_PATH
from webapp.wechat.mp.runtime import MpRuntime, mp_key
from webapp.wechat.mp.scenes import wake_key
from webapp.wechat_sim import fixture as sim_fixture

GUARD_S = 30  # only bounds a hang: every wait below ends on an event


class Pair:
    """Instance A (where the browser is) and instance B (where WeChat pushes), one database."""

    def __init__(self, world: World, b: TestClient) -> None:
        self.world, self.a, self.b = world, world.site, b
        self.clients: list[TestClient] = []

    def on_b(self, page: FollowPage) -> None:
        """Send this browser's requests (its cookies) to instance B from now on."""
        client = TestClient(self.b.server, cookie_jar=page.browser.site.session.cookie_jar)
        self.clients.append(client)
        page.browser.site = client

    def runtime(self, site: TestClient) -> MpRuntime:
        return site.server.app[mp_key]

    async def calls(self, path: str) -> int:
        return len(await self.world.sim.calls(path))


@pytest.fixture
async def pair(aiohttp_client, mp_settings, pooled_sessionmaker, clock, sim_server) -> AsyncIterator[Pair]:  # type: ignore[no-untyped-def]
    clock.at = datetime.fromtimestamp(sim_server.state.now(), UTC)
    a = await aiohttp_client(create_app(mp_settings, sessionmaker=pooled_sessionmaker, clock=clock))
    b = await aiohttp_client(create_app(mp_settings, sessionmaker=pooled_sessionmaker, clock=clock))
    world = World(a, sim_server, mp_settings, pooled_sessionmaker, clock)
    pair = Pair(world, b)
    yield pair
    for client in pair.clients:
        await client.close()
    await world.close()


async def test_the_page_on_a_learns_of_a_scan_pushed_to_b_through_postgresql(pair: Pair) -> None:
    runtime_a = pair.runtime(pair.a)
    assert runtime_a.notifier.listening.is_set()
    runtime_a.hold_s = 10 * GUARD_S  # only NOTIFY can end this poll within the guard
    page = FollowPage(pair.world.browser())
    _, data = await page.open()
    await push_to(pair.world, pair.b)
    waiting = asyncio.create_task(page.wait())
    await asyncio.wait_for(
        runtime_a.notifier.until(lambda: runtime_a.notifier.watching(wake_key(data["scene"])) > 0), GUARD_S
    )

    await phone_action(pair.world, "scan", user=2, ticket=await ticket_of(pair.world, data["scene"]), follow=True)
    status, answer = await asyncio.wait_for(waiting, GUARD_S)
    assert (status, answer["status"]) == (200, "scanned")
    status, answer = await page.claim()
    assert (status, answer["status"]) == (200, "login")
    me = await page.browser.me()
    assert me is not None and me["wechat"][0]["appid"] == sim_fixture.MP_APPID


async def test_the_listener_reconnects_when_its_connection_drops(pair: Pair) -> None:
    notifier = pair.runtime(pair.a).notifier
    pid = notifier.backend_pid
    async with pair.world.sm.begin() as s:
        await s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await asyncio.wait_for(notifier.until(lambda: notifier.connections >= 2 and notifier.listening.is_set()), GUARD_S)
    assert notifier.backend_pid not in (None, pid)

    pair.runtime(pair.a).hold_s = 10 * GUARD_S
    page = FollowPage(pair.world.browser())
    _, data = await page.open()
    await push_to(pair.world, pair.b)
    waiting = asyncio.create_task(page.wait())
    await asyncio.wait_for(notifier.until(lambda: notifier.watching(wake_key(data["scene"])) > 0), GUARD_S)
    await phone_action(pair.world, "scan", user=1, ticket=await ticket_of(pair.world, data["scene"]), follow=True)
    assert (await asyncio.wait_for(waiting, GUARD_S))[1]["status"] == "scanned"


async def test_both_instances_share_one_interface_token(pair: Pair) -> None:
    pages = [FollowPage(pair.world.browser()) for _ in range(4)]
    for page in pages:
        page.csrf = await page.browser.csrf("/login")
    pair.on_b(pages[2])
    pair.on_b(pages[3])
    results = await asyncio.gather(*(p._post("/auth/wechat/follow/qr", {"next": "/"}) for p in pages))
    assert [status for status, _ in results] == [200, 200, 200, 200]
    assert await pair.calls(STABLE_TOKEN_PATH) == 1
    assert await pair.calls(QRCODE_CREATE_PATH) == 4


async def test_after_expiry_one_instance_refreshes_under_the_lease_and_the_other_reuses_it(pair: Pair) -> None:
    first = FollowPage(pair.world.browser())
    assert (await first.open())[0] == 200
    await advance(pair.world, 7200)  # the interface token has expired at WeChat and for the site
    pages = [FollowPage(pair.world.browser()) for _ in range(2)]
    for page in pages:
        page.csrf = await page.browser.csrf("/login")
    pair.on_b(pages[1])
    results = await asyncio.gather(*(p._post("/auth/wechat/follow/qr", {"next": "/"}) for p in pages))
    assert [status for status, _ in results] == [200, 200]
    assert await pair.calls(STABLE_TOKEN_PATH) == 2  # one at the start, one after expiry: never one each


async def test_a_token_another_server_rotated_is_replaced_without_a_force_refresh(pair: Pair) -> None:
    page = FollowPage(pair.world.browser())
    assert (await page.open())[0] == 200
    await advance(pair.world, 60)  # WeChat spaces force refreshes ≥ 30 s apart
    foreign = await _foreign_force_refresh(pair)  # someone else's server: our stored token is now invalid (40001)
    await advance(pair.world, 60)
    second = FollowPage(pair.world.browser())
    status, data = await second.open()
    assert (status, data["status"]) == (200, "pending")
    creates = [c["errcode"] for c in await pair.world.sim.calls(QRCODE_CREATE_PATH)]
    assert creates == [0, 40001, 0]
    assert await pair.calls(STABLE_TOKEN_PATH) == 3  # ours, the foreign one, ours after 40001 (normal mode)
    assert pair.world.sim.state.app_tokens.check(foreign["access_token"])  # we did not cut the other server short


async def test_a_refused_token_that_wechat_still_hands_out_is_force_refreshed_once(pair: Pair) -> None:
    page = FollowPage(pair.world.browser())
    assert (await page.open())[0] == 200
    await pair.world.sim.control("POST", "faults", {"path": QRCODE_CREATE_PATH, "errcode": 40001, "times": 1})
    second = FollowPage(pair.world.browser())
    assert (await second.open())[0] == 200
    assert [c["errcode"] for c in await pair.world.sim.calls(QRCODE_CREATE_PATH)] == [0, 40001, 0]
    assert await pair.calls(STABLE_TOKEN_PATH) == 3  # the first, normal mode again (same token), then forced


async def _foreign_force_refresh(pair: Pair) -> Any:
    body = {
        "grant_type": "client_credential",
        "appid": sim_fixture.MP_APPID,
        "secret": sim_fixture.MP_SECRET,
        "force_refresh": True,
    }
    async with pair.world.sim.http.post(f"{pair.world.sim.url}{STABLE_TOKEN_PATH}", json=body) as resp:
        answer = await resp.json(content_type=None)
    assert "access_token" in answer, answer
    return answer


async def test_two_copies_of_a_push_arriving_at_once_are_handled_once(pair: Pair) -> None:
    await oa_login(pair.world, user=2)
    await push_to(pair.world, pair.b)
    await pair.world.sim.control("POST", "faults", {"push": "duplicate", "concurrent": True})
    answer = await phone_action(pair.world, "revoke", user=2)
    assert [a["reply"] for a in answer["delivery"]["attempts"]] == ["success", "success"]
    identity = await oa_identity(pair.world, 2)
    assert identity.status == "revoked"
    assert len(await events_of(pair.world, identity.user_id, "wechat_revoked")) == 1
