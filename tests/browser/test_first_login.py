"""A fresh browser's first WeChat login works on every path, every time, with both QR codes on the page.

Each round opens a new Chromium context (no cookies), loads the login page that shows the embedded
QR and the follow-login QR, and logs in with one of them. The page's scripts share the one browser
binding the page response gave; before, two scripts each set their own and the last one won.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import BROWSER_LOOP, CHROMIUM, TIMEOUT_MS, NewPerson, StartSite
from tests.browser.test_follow_login import follow_login_site, open_option, shown_ticket
from tests.browser.test_wechat_browser import DESKTOP, expect_outcome, scan_and_confirm
from webapp.browser import BINDING_COOKIE
from webapp.wechat_sim import fixture as sim_fixture

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)
ROUNDS = 3


async def open_follow_login(page: Page) -> None:
    """Open the follow-login option: its QR is asked for only then."""
    await open_option(page)
    await expect(page.locator("#follow-login")).to_have_attribute("data-status", "pending")


async def both_qr_codes_shown(page: Page) -> None:
    await expect(page.locator("#wechat-qr")).to_have_attribute("data-ready", "true")
    await open_follow_login(page)


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_a_fresh_browser_logs_in_with_the_embedded_qr_while_the_follow_login_qr_is_shown(
    live: StartSite, new_person: NewPerson, round_: int
) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login")
    await both_qr_codes_shown(page)
    [binding] = [c for c in await person.context.cookies(site.url) if c["name"] == BINDING_COOKIE]

    await scan_and_confirm(site, page.frame_locator("#wechat-qr iframe"), user=1 + round_)

    await expect_outcome(person, "login")
    me = await person.me(site)
    assert me is not None and [i["appid"] for i in me["wechat"]] == [sim_fixture.WEBSITE_APPID]
    assert [c["value"] for c in await person.context.cookies(site.url) if c["name"] == BINDING_COOKIE] == [
        binding["value"]
    ]


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_a_fresh_browser_logs_in_by_following_while_the_embedded_qr_is_shown(
    live: StartSite, new_person: NewPerson, round_: int
) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login?next=/settings")
    await both_qr_codes_shown(page)

    answer = await site.sim.control("POST", "mp/scan", {"user": 2, "ticket": await shown_ticket(site), "follow": True})
    assert answer["delivery"]["status"] == "delivered", answer

    await page.wait_for_url(re.compile(r"/auth/wechat/continue$"))
    me = await person.me(site)
    assert me is not None and [i["appid"] for i in me["wechat"]] == [sim_fixture.MP_APPID]


async def test_the_follow_login_claim_holds_while_a_second_tab_loads_pages(
    live: StartSite, new_person: NewPerson
) -> None:
    site = await follow_login_site(live)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login?next=/settings")
    await open_follow_login(page)
    ticket = await shown_ticket(site)
    second = await person.context.new_page()  # a second tab of the same browser, busy meanwhile
    await second.goto(f"{site.url}/login")
    await expect(second.locator("#wechat-qr")).to_have_attribute("data-ready", "true")

    answer = await site.sim.control("POST", "mp/scan", {"user": 3, "ticket": ticket, "follow": True})
    assert answer["delivery"]["status"] == "delivered", answer
    await second.goto(f"{site.url}/signup")  # requests of the second tab while the first one claims

    await page.wait_for_url(re.compile(r"/auth/wechat/continue$"))
    me = await person.me(site)
    assert me is not None and me["wechat"][0]["openid"] == answer["openid"]
    await second.reload()
    await expect(second.locator("body")).not_to_contain_text("belongs to another browser")
