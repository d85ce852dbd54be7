"""In Chromium: the QR page's held long poll does not hold the embedding page's load event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from tests.wechat_sim.conftest import T0
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.state import SimulatorState

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing")]


async def test_embedding_page_loads_while_the_poll_is_held(
        aiohttp_server: Callable[..., Awaitable[TestServer]]) -> None:
    from playwright.async_api import async_playwright

    # Nothing ever scans, so every poll is held the full 120 s: a load event that waited for it would time out.
    state = SimulatorState(clock=SimClock(frozen_at=T0), poll_hold_s=120)
    server = await aiohttp_server(create_simulator_app(state))
    events: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page()
            page.on("load", lambda _: events.append("load"))
            page.on("request", lambda r: events.append("poll") if "/connect/l/qrconnect" in r.url else None)
            async with page.expect_request(lambda r: "/connect/l/qrconnect" in r.url, timeout=20_000):
                await page.goto(str(server.make_url("/_sim/demo/embedded?self_redirect=true")), wait_until="load",
                                timeout=20_000)
            assert await page.locator("#ready").text_content() == "ready"  # wxLogin.js onReady: the iframe loaded
        finally:
            await browser.close()
    assert events.index("load") < events.index("poll")
