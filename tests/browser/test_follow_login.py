"""Follow the official account to log in, in a real Chromium: the login page shows our own QR (an SVG from
the site, no third-party image), the simulator's phone scans it and follows, WeChat pushes the event to
the site, and the page logs itself in. The QR is asked for only once the option is opened; an expired one is
renewed by itself while the page is seen, and waits for the person while it is not."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.browser.conftest import BROWSER_LOOP, CHROMIUM, TIMEOUT_MS, Live, NewPerson, StartSite
from tests.wechat.mp.pushes import MP_AES_KEY, MP_TOKEN
from webapp.wechat_sim import fixture as sim_fixture

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
FOLLOW_LOGIN = {"wechat_mp_token": MP_TOKEN, "wechat_mp_aes_key": MP_AES_KEY, "wechat_mp_follow_login": True}


class ShiftedClock:
    """Real time plus a shift a test can move (the live site runs on real time)."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


async def follow_login_site(live: StartSite, **overrides: Any) -> Live:
    """The live site with follow-login on (on a clock tests can move), the simulator pushing to it in safe mode."""
    site = await live(**FOLLOW_LOGIN, **{"clock": ShiftedClock(), **overrides})
    # The live site runs on real time; the simulator's frozen clock is moved up to it (pushes are
    # checked against the site's clock, within a few minutes).
    lag = time.time() - (await site.sim.control("GET", "clock"))["now"]
    if lag > 0:
        await site.sim.control("POST", "clock", {"advance_s": lag})
    config = {"url": f"{site.url}/wechat/mp/events", "token": MP_TOKEN, "aes_key": MP_AES_KEY, "mode": "safe"}
    await site.sim.control("POST", "push-config", {**config, "verify": True})
    return site


async def click(page: Page, selector: str) -> None:
    """Scroll first and let two frames paint: a click computed before scrolling can land in WeChat's QR iframe."""
    target = page.locator(selector)
    await target.scroll_into_view_if_needed()
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    await target.click()


async def open_option(page: Page) -> None:
    """Open "log in by following our official account" (its QR is asked for only then)."""
    await click(page, "#follow-login-option summary")


async def qr_count(site: Live) -> int:
    """How many follow-login QR codes the site has asked WeChat for."""
    return len(await site.sim.control("GET", "mp/qrcodes"))


async def set_visibility(page: Page, state: str) -> None:
    """Tell the page it is (not) seen, as switching tabs does (headless Chromium has no other tab to show)."""
    await page.evaluate(
        """state => {
          Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


async def shown_ticket(site: Live) -> str:
    """The ticket of the one live QR code (the one the page shows)."""
    [code] = await site.sim.control("GET", "mp/qrcodes")
    return str(code["ticket"])


async def test_the_page_logs_itself_in_after_the_phone_scans_and_follows(
    live: StartSite, new_person: NewPerson, tmp_path: Path
) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login?next=/settings")
    await open_option(page)
    block = page.locator("#follow-login")
    await expect(block).to_have_attribute("data-status", "pending")
    qr = page.locator("#follow-login-qr")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    await page.screenshot(path=tmp_path / "follow-login-qr.png", full_page=True)

    answer = await site.sim.control("POST", "mp/scan", {"user": 2, "ticket": await shown_ticket(site), "follow": True})
    assert answer["delivery"]["status"] == "delivered", answer

    await page.wait_for_url(re.compile(r"/auth/wechat/continue$"))  # a new account: the welcome page
    me = await person.me(site)
    assert me is not None
    assert [i["appid"] for i in me["wechat"]] == [sim_fixture.MP_APPID]
    assert me["wechat"][0]["openid"] == answer["openid"]
    assert person.csp_violations() == [], "\n".join(person.console)


async def expire_the_shown_qr(site: Live) -> None:
    """Move the site's clock past the QR's five minutes (a scene carries its expiry) and wake the long polls."""
    assert isinstance(site.clock, ShiftedClock)
    site.clock.shift += timedelta(minutes=6)
    async with site.db.begin() as s:
        for qr in await site.sim.control("GET", "mp/qrcodes"):
            await s.execute(text("SELECT pg_notify('webapp_wechat_mp', 'scene:' || :scene)"), {"scene": qr["scene"]})


async def test_an_expired_qr_code_is_renewed_while_the_page_is_seen(live: StartSite, new_person: NewPerson) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login")
    await open_option(page)
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")
    first, shown = await shown_ticket(site), await page.locator("#follow-login-qr").get_attribute("src")
    await expire_the_shown_qr(site)
    await expect(page.locator("#follow-login-qr")).not_to_have_attribute("src", shown or "")
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")
    assert await qr_count(site) == 2
    codes = await site.sim.control("GET", "mp/qrcodes")
    assert codes[-1]["ticket"] != first


async def test_a_hidden_page_waits_to_be_seen_and_the_button_renews_too(live: StartSite, new_person: NewPerson) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login")
    await open_option(page)
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")
    await set_visibility(page, "hidden")
    await expire_the_shown_qr(site)
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "expired")
    await expect(page.locator("#follow-login-refresh")).to_be_visible()
    assert await qr_count(site) == 1  # nobody looks: no new QR code
    await set_visibility(page, "visible")
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")
    assert await qr_count(site) == 2

    await set_visibility(page, "hidden")
    await expire_the_shown_qr(site)
    await expect(page.locator("#follow-login-refresh")).to_be_visible()
    await click(page, "#follow-login-refresh")
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")
    assert await qr_count(site) == 3


async def test_phones_get_no_follow_login_qr(live: StartSite, new_person: NewPerson) -> None:
    site = await follow_login_site(live)
    person = await new_person(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
    )
    await person.page.goto(f"{site.url}/login")
    await expect(person.page.locator("#follow-login")).to_be_hidden()
    assert await site.sim.control("GET", "mp/qrcodes") == []
