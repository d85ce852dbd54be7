"""The account page in a real Chromium, in both languages, phone and desktop: profile, avatar (default, then the
copy on our origin), sessions, local times, export, deletion, merge on a bind conflict, unbind asked first, and
a bind carried on after "confirm it's you". Screenshots are saved for a person to look at."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    BROWSER_LOOP,
    CHROMIUM,
    TIMEOUT_MS,
    Live,
    NewPerson,
    Person,
    StartSite,
    _listen,
    _serve,
    browser_fixture,
)
from tests.wechat.harness import SIM_T0
from webapp.app import create_app
from webapp.avatars.copier import copy_due_avatars
from webapp.avatars.fetch import AvatarFetcher
from webapp.clock import FrozenClock
from webapp.db import Database
from webapp.settings import WeChatAppConfig
from webapp.wechat_sim import fixture as sim_fixture
from webapp.wechat_sim.app import WXLOGIN_PATH

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import Page, expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)

PASSWORD = "correct horse battery"
QR_PAGE = re.compile(r"^http://127\.0\.0\.1:\d+/connect/qrconnect\?")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SIZES = {"phone": PHONE, "desktop": DESKTOP}


@browser_fixture
async def clocked(settings: Any, live_sim: Any, live_db: Any) -> AsyncIterator[tuple[Live, FrozenClock]]:
    """The live site on a clock the test moves (the simulator's frozen time), to make a login stale."""
    clock = FrozenClock(datetime.fromtimestamp(SIM_T0, UTC))
    sock = _listen("127.0.0.1")
    port = sock.getsockname()[1]
    socks = [sock]
    try:
        socks.append(_listen("::1", port))
    except OSError:
        pass
    url = f"http://localhost:{port}"
    site_settings = settings.with_(
        public_url=url, wechat_web=WeChatAppConfig(sim_fixture.WEBSITE_APPID, sim_fixture.WEBSITE_SECRET),
        wechat_mp=WeChatAppConfig(sim_fixture.MP_APPID, sim_fixture.MP_SECRET), wechat_open_base=live_sim.url,
        wechat_api_base=live_sim.url, wechat_js_url=f"{live_sim.url}{WXLOGIN_PATH}", wechat_timeout_s=5.0,
        run_worker=False,
    )
    runner = await _serve(create_app(site_settings, sessionmaker=live_db, clock=clock), socks)
    yield Live(url=url, sim=live_sim, settings=site_settings, db=live_db), clock
    await runner.cleanup()


async def click(page: Page, selector: str) -> None:
    """Scroll first and let two frames paint (a click can otherwise land where the element was)."""
    target = page.locator(selector)
    await target.scroll_into_view_if_needed()
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    await target.click()


async def sign_up(page: Page, site: Live, username: str) -> None:
    await page.goto(f"{site.url}/signup")
    await page.fill("#field-username", username)
    await page.fill("#field-password", PASSWORD)
    await page.fill("#field-confirm", PASSWORD)
    await click(page, "form[action='/signup'] button[type=submit]")
    await page.wait_for_url(f"{site.url}/")


async def qr_scan(site: Live, page: Page, user: int) -> None:
    """On WeChat's QR page: the phone scans and confirms as `user`."""
    await page.wait_for_url(QR_PAGE)
    img = page.locator("img.qrcode")
    await expect(img).to_have_attribute("src", re.compile(r"/connect/qrcode/[A-Za-z0-9]+$"))
    uuid = (await img.get_attribute("src") or "").rsplit("/", 1)[1]
    await site.qr(uuid, "scan", user)
    await expect(page.locator("#wx_after_scan")).to_be_visible()
    await site.qr(uuid, "confirm", user)


async def qr_login(site: Live, person: Person, user: int, next_path: str = "/settings") -> None:
    await person.page.goto(f"{site.url}/auth/wechat/start?next={next_path}")
    await qr_scan(site, person.page, user)
    await expect(person.page.locator("[data-outcome='login']")).to_be_visible()


async def fits(page: Page) -> None:
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is wider than the screen: {width}"


@pytest.mark.parametrize(("locale", "zone", "saved", "zone_name"), [
    ("en-US", "Europe/Paris", "Your display name has been saved.", "Paris"),
    ("zh-CN", "Asia/Shanghai", "显示名称已保存。", "上海"),
])
async def test_profile_sessions_and_activity_read_in_the_readers_language_and_time(
    live: StartSite, new_person: NewPerson, tmp_path: Path, locale: str, zone: str, saved: str, zone_name: str
) -> None:
    site = await live()
    for size, options in SIZES.items():
        person = await new_person(**options, locale=locale, timezone_id=zone)
        page = person.page
        await sign_up(page, site, f"user{size}{locale[:2]}")
        await page.goto(f"{site.url}/settings")
        default = page.locator("#profile img.avatar[data-avatar='default']")
        await expect(default).to_be_visible()
        assert await default.evaluate("img => img.decode().then(() => img.naturalWidth)") == 40
        await page.fill("#field-display_name", "Ada 🌸")
        await click(page, "#profile-form button[type=submit]")
        await page.wait_for_url(f"{site.url}/settings#profile")
        await expect(page.locator(".alert-success")).to_have_text(saved)
        await expect(page.locator("#field-display_name")).to_have_value("Ada 🌸")
        await expect(page.locator("#sessions li.session-current")).to_have_count(1)
        await expect(page.locator("#activity")).to_contain_text(zone_name)
        now_there = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo(zone)).strftime("%H:")
        await expect(page.locator("#activity time").first).to_contain_text(now_there)
        await page.screenshot(path=tmp_path / f"settings-{size}-{locale}.png", full_page=True)
        await fits(page)
        assert person.csp_violations() == [], person.console


async def test_a_session_is_logged_out_from_another_device(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    laptop, phone = await new_person(**DESKTOP), await new_person(**PHONE)
    await sign_up(laptop.page, site, "alice")
    await phone.page.goto(f"{site.url}/login")
    await phone.page.fill("#field-username", "alice")
    await phone.page.fill("#field-password", PASSWORD)
    await click(phone.page, "form[action='/login'] button[type=submit]")
    await phone.page.wait_for_url(f"{site.url}/")
    await laptop.page.goto(f"{site.url}/settings")
    await expect(laptop.page.locator("#sessions li.session")).to_have_count(2)
    await click(laptop.page, "#sessions li.session:not(.session-current) button[type=submit]")
    await expect(laptop.page.locator(".alert-success")).to_be_visible()
    await expect(laptop.page.locator("#sessions li.session")).to_have_count(1)
    await phone.page.goto(f"{site.url}/settings")
    await phone.page.wait_for_url(re.compile(r"/login\?next=/settings&why=login_required$"))
    assert await laptop.me(site) is not None and await phone.me(site) is None


async def test_the_avatar_is_a_default_until_the_worker_copies_it_then_ours(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**DESKTOP)
    await qr_login(site, person, 4)
    page = person.page
    await page.goto(f"{site.url}/settings")
    await expect(page.locator("#avatar-pending")).to_be_visible()
    database = Database.pooled(site.db)
    try:
        report = await copy_due_avatars(database, AvatarFetcher(site.sim.http, api_base=site.sim.url),
                                        clock=lambda: datetime.now(UTC))
    finally:
        if database.pool is not None:
            await database.pool.close()
    assert report.copied == 1
    await page.reload()
    img = page.locator("#profile img.avatar")
    await expect(img).to_have_attribute("src", re.compile(r"^/avatars/\d+/[0-9a-f]{16}$"))
    assert await img.evaluate("img => img.decode().then(() => img.naturalWidth)") == 132
    me = await person.me(site)
    assert me is not None and me["avatar"] == site.url + await img.get_attribute("src")
    assert person.csp_violations() == [], person.console


async def test_export_downloads_json_and_deletion_needs_the_typed_phrase(
    live: StartSite, new_person: NewPerson, tmp_path: Path
) -> None:
    site = await live()
    person = await new_person(**PHONE, locale="zh-CN")
    page = person.page
    await sign_up(page, site, "lihua")
    await page.goto(f"{site.url}/settings")
    async with page.expect_download() as info:
        await click(page, "#export-data")
    download = await info.value
    data = json.loads(Path(await download.path()).read_text())
    assert data["profile"]["username"] == "lihua" and data["security_activity"][0]["kind"] == "signup"

    await click(page, "#delete-account")
    await page.wait_for_url(f"{site.url}/settings/account/delete")
    await expect(page.locator("label[for=field-confirmation]")).to_have_text("请输入“删除我的账号”以确认")
    await page.screenshot(path=tmp_path / "delete-phone-zh.png", full_page=True)
    await page.fill("#field-confirmation", "删除")
    await click(page, "#delete-account-confirm")
    await expect(page.locator("#field-confirmation-error")).to_be_visible()
    assert await person.me(site) is not None
    await page.fill("#field-confirmation", "删除我的账号")
    await click(page, "#delete-account-confirm")
    await page.wait_for_url(f"{site.url}/")
    await expect(page.locator(".alert-success")).to_have_text("你的账号及所有相关数据已被删除。")
    assert await person.me(site) is None and await site.count("users") == 0
    await fits(page)
    assert person.csp_violations() == [], person.console


async def test_a_bind_meeting_an_empty_wechat_account_merges_after_one_click(
    live: StartSite, new_person: NewPerson, tmp_path: Path
) -> None:
    site = await live()
    earlier = await new_person(**DESKTOP)
    await qr_login(site, earlier, 3)  # long ago this WeChat made an account of its own
    person = await new_person(**DESKTOP)
    page = person.page
    await sign_up(page, site, "alice")
    await page.goto(f"{site.url}/settings")
    await click(page, "#wechat-bind")
    await qr_scan(site, page, 3)
    await expect(page.locator("[data-outcome='conflict']")).to_be_visible()
    await page.screenshot(path=tmp_path / "merge-offer.png", full_page=True)
    await click(page, "#wechat-merge")
    await page.wait_for_url(f"{site.url}/settings#wechat")
    await expect(page.locator("#wechat .identity")).to_have_count(1)
    await expect(page.locator("#activity")).to_contain_text("Accounts merged")
    assert await site.count("users") == 1 and await earlier.me(site) is None
    assert person.csp_violations() == [], person.console


async def test_unbinding_asks_first(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**PHONE)
    page = person.page
    await sign_up(page, site, "bob")
    await page.goto(f"{site.url}/settings")
    await click(page, "#wechat-bind")
    await qr_scan(site, page, 5)
    await page.wait_for_url(f"{site.url}/settings")
    await click(page, "#wechat-unbind")
    await page.wait_for_url(f"{site.url}/settings/wechat/unbind")
    assert await site.count("wechat_identities") == 1
    await click(page, "#wechat-unbind-confirm")
    await page.wait_for_url(f"{site.url}/settings")
    await expect(page.locator("#wechat .identity")).to_have_count(0)
    await fits(page)


async def test_after_confirming_it_is_you_the_bind_carries_on_by_itself(
    clocked: tuple[Live, FrozenClock], new_person: NewPerson, tmp_path: Path
) -> None:
    site, clock = clocked
    person = await new_person(**DESKTOP)
    page = person.page
    await sign_up(page, site, "carol")
    clock.advance(minutes=11)
    await page.goto(f"{site.url}/settings")
    await click(page, "#wechat-bind")
    await page.wait_for_url(f"{site.url}/settings/confirm?next=/settings%23wechat")
    await expect(page.locator("#confirm-resume")).to_be_visible()
    await page.screenshot(path=tmp_path / "confirm-desktop.png", full_page=True)
    await page.fill("#field-reauth-password", PASSWORD)
    await click(page, "form[action='/settings/reauth'] button[type=submit]")
    await qr_scan(site, page, 2)  # straight to WeChat's QR page: no second click on "Bind WeChat"
    await page.wait_for_url(f"{site.url}/settings")
    await expect(page.locator("#wechat .identity")).to_have_count(1)
    assert person.csp_violations() == [], person.console
