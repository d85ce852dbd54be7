"""Every device in a real Chromium: a phone browser that is not WeChat's gets "open this page in WeChat" with a
working copy button and the password (never a QR); inside WeChat the address bar ends clean; `webapp dev` lets
an ordinary browser try the in-WeChat path."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.browser.conftest import BROWSER_LOOP, CHROMIUM, TIMEOUT_MS, NewPerson, StartSite
from tests.wechat.harness import WECHAT_UA

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)

IPHONE = {
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                  "Version/17.4 Mobile/15E148 Safari/604.1",
    "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
}
ANDROID = {
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36",
    "viewport": {"width": 412, "height": 915}, "is_mobile": True, "has_touch": True,
}
IN_WECHAT = {"user_agent": WECHAT_UA, "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is wider than the screen: {width}"


@pytest.mark.parametrize(("device", "locale", "copied"), [(IPHONE, "en-US", "Link copied"), (ANDROID, "zh-CN", "链接已复制")])
async def test_a_phone_gets_open_in_wechat_with_a_copy_button_and_the_password(
    live: StartSite, new_person: NewPerson, tmp_path: Path, device: dict, locale: str, copied: str
) -> None:
    site = await live()
    person = await new_person(**device, locale=locale, permissions=["clipboard-read", "clipboard-write"])
    page = person.page
    await page.goto(f"{site.url}/login?next=/settings")
    await expect(page.locator("#open-in-wechat")).to_be_visible()
    await expect(page.locator("#wechat-qr")).to_have_count(0)
    await expect(page.locator("#wechat-login-link")).to_have_count(0)
    await expect(page.locator("#field-password")).to_be_visible()
    await page.screenshot(path=tmp_path / f"login-phone-{locale}.png", full_page=True)
    await no_horizontal_scroll(page)

    await page.locator("#copy-link").click()
    await expect(page.locator("#copy-link-status")).to_contain_text(copied)
    assert await page.evaluate("navigator.clipboard.readText()") == f"{site.url}/login?next=/settings"

    await page.goto(f"{site.url}/auth/wechat/start?next=/settings")
    await expect(page.locator("[data-page='open-in-wechat']")).to_be_visible()
    await page.locator("#password-login").click()
    await page.wait_for_url(f"{site.url}/login?next=/settings")
    assert await site.count("oauth_states") == 0
    assert person.csp_violations() == []


async def test_inside_wechat_the_address_bar_ends_without_wechat_redirect(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    start = quote(f"{site.url}/auth/wechat/start?next=/settings", safe="")
    enter = f"{site.sim.url}/_sim/wechat-browser?user=2&next={start}"
    person = await new_person(**IN_WECHAT)
    page = person.page
    await page.goto(enter)
    await expect(page.locator("[data-outcome='need_userinfo']")).to_be_visible()
    await page.wait_for_url(f"{site.url}/auth/wechat/continue")  # no #wechat_redirect left behind
    await page.locator("#wechat-continue").click()
    await page.locator("#btn-allow").click()
    await expect(page.locator("[data-outcome='login']")).to_be_visible()
    await page.wait_for_url(f"{site.url}/auth/wechat/continue")

    again = await new_person(**IN_WECHAT)
    await again.page.goto(enter)  # a returning person: silent, straight to /settings
    await expect(again.page.locator("#wechat")).to_be_visible()
    await again.page.wait_for_url(f"{site.url}/settings")
    assert "#" not in again.page.url
    assert person.csp_violations() == [] and again.csp_violations() == []


async def test_in_dev_an_ordinary_browser_tries_the_in_wechat_path(live: StartSite, new_person: NewPerson) -> None:
    site = await live(dev=True)
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/_dev/wechat-browser?next={quote('/auth/wechat/start?next=/settings')}")
    # The simulator's WeChat asks which test user this browser is (it has no WeChat of its own).
    await page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/connect/oauth2/authorize\?.*snsapi_base"))
    await page.locator("a", has_text=re.compile("李娜")).first.click()
    await expect(page.locator("[data-outcome='need_userinfo']")).to_be_visible()
    await expect(page.locator("#dev-wechat-banner")).to_be_visible()
    await page.locator("#dev-wechat-banner a").click()
    await expect(page.locator("#dev-wechat-banner")).to_have_count(0)
