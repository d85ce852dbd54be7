"""In Chromium: the login page renews its embedded QR a minute before the state expires, on a fake clock.

The page's timers run on Playwright's clock (`page.clock.install()`), so ten minutes pass in a call
to `fast_forward`, not in real time. The site runs on `localhost` and the simulator on `127.0.0.1`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import (  # noqa: F401  (fixtures)
    BROWSER_LOOP,
    CHROMIUM,
    TIMEOUT_MS,
    NewPerson,
    StartSite,
    browser_database_url,
    chromium,
    live,
    live_db,
    live_sim,
    new_person,
)

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)

STATE_PATH = "/auth/wechat/embed-state"


async def test_the_login_page_renews_its_qr_with_a_new_state_before_the_old_one_expires(
    live: StartSite, new_person: NewPerson  # noqa: F811
) -> None:
    site = await live()
    person = await new_person(viewport={"width": 1280, "height": 800})
    page = person.page
    asked: list[int] = []
    page.on("response", lambda r: asked.append(r.status) if r.url.split("?")[0].endswith(STATE_PATH) else None)
    await page.clock.install()
    await page.goto(f"{site.url}/login")
    box, frame = page.locator("#wechat-qr"), page.locator("#wechat-qr iframe")
    await expect(box).to_have_attribute("data-ready", "true")
    first = await box.get_attribute("data-state")
    assert first and asked == [200]
    await expect(frame).to_have_attribute("src", re.compile(rf"[?&]state={first}(&|$)"))

    await page.clock.fast_forward("08:50")  # not yet: the renewal is due 9 minutes after the first state
    assert await box.get_attribute("data-state") == first and asked == [200]
    await page.clock.fast_forward("00:15")

    await expect(box).not_to_have_attribute("data-state", first)
    second = await box.get_attribute("data-state")
    assert second and asked == [200, 200]
    await expect(frame).to_have_count(1)
    await expect(frame).to_have_attribute("src", re.compile(rf"[?&]state={second}(&|$)"))
    await expect(page.frame_locator("#wechat-qr iframe").locator("img.qrcode")).to_be_visible()
    assert await site.count("oauth_states") == 0  # states are signed: nothing stored until WeChat calls back
    assert not person.csp_violations()
