"""The README's screenshots: the main pages in both languages (the login page and settings in dark mode too),
taken in Chromium from the running site.

Skipped unless asked for: `uv run pytest tests/browser/test_screenshots.py --screenshots` rewrites
docs/screenshots/*.png. (Chinese glyphs need a CJK font on the machine, e.g. Debian's fonts-wqy-microhei.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import BROWSER_LOOP, CHROMIUM, NewPerson, StartSite
from tests.browser.test_account_pages import DESKTOP, PASSWORD, PHONE, click, qr_scan, sign_up

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCALES = {"en": "en-US", "zh": "zh-CN"}


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where to write (only with --screenshots)."""
    if not request.config.getoption("--screenshots"):
        pytest.skip("screenshots are regenerated on request: add --screenshots")
    DOCS.mkdir(parents=True, exist_ok=True)
    return DOCS


@pytest.mark.parametrize("lang", list(LOCALES))
async def test_main_pages(live: StartSite, new_person: NewPerson, shots: Path, lang: str) -> None:
    site = await live()
    locale = LOCALES[lang]

    visitor = await new_person(**DESKTOP, locale=locale)
    await visitor.page.goto(f"{site.url}/login")
    await expect(visitor.page.locator("#wechat-qr iframe")).to_be_visible()
    await expect(visitor.page.frame_locator("#wechat-qr iframe").locator("img.qrcode")).to_be_visible()
    await visitor.page.screenshot(path=shots / f"login-desktop-{lang}.png", full_page=True)

    night = await new_person(**DESKTOP, locale=locale, color_scheme="dark")
    await night.page.goto(f"{site.url}/login")
    await expect(night.page.frame_locator("#wechat-qr iframe").locator("img.qrcode")).to_be_visible()
    await night.page.screenshot(path=shots / f"login-desktop-dark-{lang}.png", full_page=True)

    phone = await new_person(**PHONE, locale=locale, user_agent=(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Mobile/15E148 Safari/604.1"))
    await phone.page.goto(f"{site.url}/login")
    await phone.page.screenshot(path=shots / f"login-phone-{lang}.png", full_page=True)

    newcomer = await new_person(**DESKTOP, locale=locale)
    await newcomer.page.goto(f"{site.url}/auth/wechat/start?next=/settings")
    await qr_scan(site, newcomer.page, 2)
    await expect(newcomer.page.locator("[data-outcome='login']")).to_be_visible()
    await newcomer.page.screenshot(path=shots / f"welcome-{lang}.png", full_page=True)

    member = await new_person(**DESKTOP, locale=locale)
    await sign_up(member.page, site, f"ada{lang}")
    await member.page.goto(f"{site.url}/settings")
    await click(member.page, "#wechat-bind")
    await qr_scan(site, member.page, 3)
    await member.page.wait_for_url(re.compile(r"/settings"))
    await expect(member.page.locator("#wechat .identity")).to_have_count(1)
    await member.page.screenshot(path=shots / f"settings-{lang}.png", full_page=True)
    await member.page.emulate_media(color_scheme="dark")
    await member.page.screenshot(path=shots / f"settings-dark-{lang}.png", full_page=True)
    await member.page.emulate_media(color_scheme="light")

    await member.page.goto(f"{site.url}/settings/confirm?next=/settings")
    await expect(member.page.locator("#field-reauth-password")).to_be_visible()
    await member.page.fill("#field-reauth-password", PASSWORD[:3])
    await member.page.screenshot(path=shots / f"confirm-{lang}.png", full_page=True)
