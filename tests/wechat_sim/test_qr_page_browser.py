"""In Chromium: the QR page's held poll does not hold the embedding page's load; a person clicks through follow-login."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.wechat_sim.conftest import T0, Receiver, Sim, control, new_param_qr
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


async def test_a_person_scans_follows_unfollows_revokes_and_edits_by_clicking(
        aiohttp_client: Callable[..., Awaitable[TestClient]], receiver: Receiver) -> None:
    from playwright.async_api import async_playwright, expect

    state = SimulatorState(clock=SimClock(frozen_at=T0))
    sim = Sim(state, await aiohttp_client(create_simulator_app(state)))
    await control(sim, "POST", "push-config", receiver.config("safe"))
    qr = await new_param_qr(sim, "login_by_hand")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(qr["url"] + "?lang=en")
            await page.check("input[name=user][value='2']")
            await page.click("#btn-scan")
            await page.click("#btn-follow")
            await expect(page.locator("#done-title")).to_have_text("Followed", timeout=20_000)
            await expect(page.locator("#done-text")).to_have_text("The event reached the account's server")
            await page.goto(str(sim.client.make_url("/")))
            row = page.locator("tr[data-user='2']")
            await row.locator("[data-action=unfollow]").click()
            await expect(row.locator(".follow-state")).to_have_text("not following", timeout=20_000)
            await row.locator("[data-action=revoke]").click()
            await expect(page.locator("#mp-result")).to_contain_text("user_authorization_revoke → delivered")
            await row.locator("input[name=nickname]").fill("点过的名字")
            await row.locator("[data-action=profile]").click()
            await expect(page.locator("#mp-result")).to_contain_text("user_info_modified → delivered")
        finally:
            await browser.close()
    assert receiver.received[0].message.event == "subscribe_scan"
    assert [r.xml.split("<Event><![CDATA[")[1].split("]]>")[0] for r in receiver.received] == [
        "subscribe", "unsubscribe", "user_authorization_revoke", "user_info_modified"]
    assert state.profiles.nickname(state.fixture.user(2)) == "点过的名字"  # type: ignore[arg-type]
