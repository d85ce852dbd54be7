"""WeChat login in a real Chromium: QR redirect, embedded QR (self_redirect true and false), the fallback
link, in-WeChat login with the step-up, cancel on the phone, and screenshots of the pages involved.

The site runs on `localhost` and the simulator on `127.0.0.1` (two sites), so the QR iframe is
cross-site as it is with open.weixin.qq.com. The simulator's control API plays the phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.browser.conftest import BROWSER_LOOP, CHROMIUM, TIMEOUT_MS, Live, NewPerson, Person, StartSite, closed_port
from tests.wechat.harness import WECHAT_UA
from webapp.wechat_sim import fixture as sim_fixture

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)

from playwright.async_api import FrameLocator, Page, Request, expect

pytestmark = [pytest.mark.browser, BROWSER_LOOP]
expect.set_options(timeout=TIMEOUT_MS)

QR_PAGE = re.compile(r"^http://127\.0\.0\.1:\d+/connect/qrconnect\?")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


async def click(page: Page, selector: str) -> None:
    """A real click, but scrolled first and after the next frames are painted.

    Without this Chromium can deliver the click to WeChat's cross-process QR iframe at the spot where
    the link was before Playwright scrolled (seen: the click landed on the QR <img> inside the frame).
    """
    target = page.locator(selector)
    await target.scroll_into_view_if_needed()
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    await target.click()


async def qr_uuid(root: Page | FrameLocator) -> str:
    """The uuid of the QR code the simulator's page shows (from its <img src=/connect/qrcode/UUID>)."""
    img = root.locator("img.qrcode")
    await expect(img).to_have_attribute("src", re.compile(r"/connect/qrcode/[A-Za-z0-9]+$"))
    src = await img.get_attribute("src")
    assert src is not None
    return src.rsplit("/", 1)[1]


async def scan(live: Live, root: Page | FrameLocator, user: int = 1) -> str:
    """Scan the QR code shown in `root` as `user`; wait until the QR page itself shows "scanned"."""
    uuid = await qr_uuid(root)
    await live.qr(uuid, "scan", user)
    await expect(root.locator("#wx_after_scan")).to_be_visible()
    return uuid


async def scan_and_confirm(live: Live, root: Page | FrameLocator, user: int = 1) -> None:
    """Scan, then allow the login on the phone; the QR page's own long poll does the rest."""
    uuid = await scan(live, root, user)
    await live.qr(uuid, "confirm", user)


async def expect_outcome(person: Person, outcome: str) -> None:
    """Wait for our WeChat outcome page (`data-outcome`); stop early on a CSP violation, and on failure
    show what the browser said."""
    shown = asyncio.ensure_future(expect(person.page.locator(f"[data-outcome='{outcome}']")).to_be_visible())
    violated = asyncio.ensure_future(person.csp_violated.wait())
    await asyncio.wait({shown, violated}, return_when=asyncio.FIRST_COMPLETED)
    violated.cancel()
    failed = not shown.done() or shown.exception() is not None
    if not shown.done():
        shown.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await shown
    if failed:
        console = "\n".join(person.console)
        raise AssertionError(f"no {outcome!r} outcome page at {person.page.url}; the browser's console:\n{console}")


def path_of(url: str) -> str:
    return urlsplit(url).path


def assert_clean(url: str) -> None:
    """No code or state left in the address bar."""
    query = parse_qs(urlsplit(url).query)
    assert "code" not in query and "state" not in query, url


def assert_no_csp_violations(person: Person) -> None:
    assert person.csp_violations() == [], "\n".join(person.console)


def track_callbacks(page: Page, live: Live) -> list[Request]:
    """Collect the browser's requests to our callback (to see which frame loaded it)."""
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r) if r.url.startswith(f"{live.url}/auth/wechat/callback") else None)
    return seen


async def assert_logged_in_as(person: Person, live: Live, sim_user: int, appid: str) -> dict[str, Any]:
    """/api/me in this browser is the person behind `sim_user`, with that app's identity."""
    me = await person.me(live)
    assert me is not None, "not logged in"
    user = await live.sim.user(sim_user)
    assert me["display_name"] == user["nickname"]
    assert [i["openid"] for i in me["wechat"] if i["appid"] == appid] == [user["openids"][appid]]
    return me


async def test_qr_redirect_flow_logs_in_and_leaves_a_clean_url(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**DESKTOP)
    page = person.page
    callbacks = track_callbacks(page, site)
    await page.goto(f"{site.url}/login")
    # The link to WeChat's own QR page is shown only where the embedded QR cannot work; it is there all the same.
    await page.goto(site.url + (await page.locator("#wechat-login-link").get_attribute("href") or ""))
    await page.wait_for_url(QR_PAGE)

    await scan_and_confirm(site, page, user=1)

    await expect_outcome(person, "login")  # first login: "Welcome!"
    assert page.url == f"{site.url}/auth/wechat/continue"
    assert_clean(page.url)
    assert len(callbacks) == 1 and callbacks[0].frame == page.main_frame
    await assert_logged_in_as(person, site, 1, sim_fixture.WEBSITE_APPID)
    assert_no_csp_violations(person)


async def test_embedded_qr_self_redirect_true_hands_over_to_the_top_window(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**DESKTOP)
    page = person.page
    callbacks = track_callbacks(page, site)
    await page.goto(f"{site.url}/login")
    frame = page.locator("#wechat-qr iframe")
    await expect(frame).to_have_attribute("src", re.compile(r"^http://127\.0\.0\.1:\d+/connect/qrconnect\?.*&self_redirect=true&"))
    assert await frame.get_attribute("sandbox") is None

    await scan_and_confirm(site, page.frame_locator("#wechat-qr iframe"), user=1)

    await expect_outcome(person, "login")
    assert page.url == f"{site.url}/auth/wechat/continue"
    assert_clean(page.url)
    # The callback really rendered inside the cross-site iframe, and the top window finished the login.
    assert len(callbacks) == 1 and callbacks[0].frame != page.main_frame
    await assert_logged_in_as(person, site, 1, sim_fixture.WEBSITE_APPID)
    [cookie] = [c for c in await person.context.cookies(site.url) if c["name"] == "webapp_session"]
    assert cookie["sameSite"] == "Lax" and cookie["httpOnly"] is True
    assert_no_csp_violations(person)


async def test_embedded_qr_self_redirect_false_navigates_the_top_window(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**DESKTOP)
    page = person.page
    callbacks = track_callbacks(page, site)
    await page.goto(f"{site.url}/login?self_redirect=false")
    await expect(page.locator("#wechat-qr")).to_have_attribute("data-ready", "true")
    frame = page.locator("#wechat-qr iframe")
    await expect(frame).to_have_attribute("src", re.compile(r"^http://127\.0\.0\.1:\d+/connect/qrconnect\?.*&self_redirect=false&"))
    await expect(frame).to_have_attribute("sandbox", re.compile(r"\ballow-top-navigation\b"))

    await scan_and_confirm(site, page.frame_locator("#wechat-qr iframe"), user=1)

    await expect_outcome(person, "login")
    assert page.url == f"{site.url}/auth/wechat/continue"
    assert_clean(page.url)
    assert len(callbacks) == 1 and callbacks[0].frame == page.main_frame  # the top window went to the callback
    await assert_logged_in_as(person, site, 1, sim_fixture.WEBSITE_APPID)
    assert_no_csp_violations(person)


async def test_fallback_link_when_wxlogin_js_cannot_load(live: StartSite, new_person: NewPerson) -> None:
    site = await live(wechat_js_url=f"http://127.0.0.1:{closed_port()}/connect/zh_CN/htmledition/js/wxLogin.js")
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/login")
    await expect(page.locator("#wechat-qr-fallback")).to_be_visible()
    await expect(page.locator("#wechat-qr")).to_be_hidden()

    await click(page, "#wechat-login-link")
    await page.wait_for_url(QR_PAGE)
    await scan_and_confirm(site, page, user=1)
    await expect_outcome(person, "login")
    assert_clean(page.url)
    await assert_logged_in_as(person, site, 1, sim_fixture.WEBSITE_APPID)
    assert_no_csp_violations(person)


async def test_in_wechat_unknown_user_continues_once_then_logs_in_silently(
    live: StartSite, new_person: NewPerson, tmp_path: Path
) -> None:
    site = await live()
    start = quote(f"{site.url}/auth/wechat/start?next=/settings", safe="")
    enter_wechat = f"{site.sim.url}/_sim/wechat-browser?user=2&next={start}"

    person = await new_person(user_agent=WECHAT_UA, **PHONE)
    page = person.page
    await page.goto(enter_wechat)
    await expect_outcome(person, "need_userinfo")  # snsapi_base gave an openid nobody knows
    assert path_of(page.url) == "/auth/wechat/continue"
    await page.screenshot(path=tmp_path / "in-wechat-continue-phone.png", full_page=True)
    assert await person.me(site) is None

    await click(page, "#wechat-continue")
    await page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/connect/oauth2/authorize\?.*scope=snsapi_userinfo"))
    await click(page, "#btn-allow")  # WeChat's consent page
    await expect_outcome(person, "login")  # a new account from the WeChat profile
    assert path_of(page.url) == "/auth/wechat/continue"
    assert_clean(page.url)
    me = await assert_logged_in_as(person, site, 2, sim_fixture.MP_APPID)
    assert_no_csp_violations(person)

    # Another visit from the same WeChat (a fresh browser, no session): silent, straight to `next`.
    again = await new_person(user_agent=WECHAT_UA, **PHONE)
    asked: list[str] = []
    again.page.on("request", lambda r: asked.append(r.url) if "snsapi_userinfo" in r.url or "/decide" in r.url else None)
    await again.page.goto(enter_wechat)
    await again.page.wait_for_url(re.compile(rf"^{re.escape(site.url)}/settings(#.*)?$"))
    await expect(again.page.locator("#wechat")).to_be_visible()
    assert asked == []
    assert_clean(again.page.url)
    assert (await assert_logged_in_as(again, site, 2, sim_fixture.MP_APPID))["id"] == me["id"]
    assert await site.count("users") == 1
    assert_no_csp_violations(again)


async def test_cancel_on_the_phone_then_rescan_and_confirm(live: StartSite, new_person: NewPerson) -> None:
    site = await live()
    person = await new_person(**DESKTOP)
    page = person.page
    await page.goto(f"{site.url}/auth/wechat/start?next=/settings")
    await page.wait_for_url(QR_PAGE)

    uuid = await scan(site, page, user=3)
    await site.qr(uuid, "cancel", 3)
    cancelled = page.locator("#wx_after_cancel")
    await expect(cancelled).to_be_visible()
    await expect(cancelled).to_contain_text(re.compile("cancelled|取消"))
    assert QR_PAGE.match(page.url)
    assert await person.me(site) is None
    assert await site.count("users") == 0 and await site.count("wechat_identities") == 0

    await scan(site, page, user=3)  # the same QR code, scanned again
    await site.qr(uuid, "confirm", 3)
    await expect_outcome(person, "login")
    assert_clean(page.url)
    await assert_logged_in_as(person, site, 3, sim_fixture.WEBSITE_APPID)
    assert_no_csp_violations(person)


async def _no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is wider than the screen: {width}"


async def test_screenshots_of_the_login_page_and_the_settings_page(
    live: StartSite, new_person: NewPerson, tmp_path: Path
) -> None:
    """Saved under tmp_path for a person to look at; the test checks only what can be checked."""
    site = await live()
    people = {"phone": await new_person(**PHONE), "desktop": await new_person(**DESKTOP)}
    for name, person in people.items():
        page = person.page
        await page.goto(f"{site.url}/login")
        qr = page.frame_locator("#wechat-qr iframe").locator("img.qrcode")
        await expect(qr).to_be_visible()
        await qr.evaluate("img => img.decode()")
        await page.screenshot(path=tmp_path / f"login-{name}.png", full_page=True)
        await _no_horizontal_scroll(page)
        assert_no_csp_violations(person)

    # A password account binds WeChat on the desktop (QR redirect flow), then both look at settings.
    desktop = people["desktop"].page
    await desktop.goto(f"{site.url}/signup")
    await desktop.fill("#field-username", "alice")
    await desktop.fill("#field-password", "correct horse battery")
    await desktop.fill("#field-confirm", "correct horse battery")
    await click(desktop, "form[action='/signup'] button[type=submit]")
    await desktop.wait_for_url(lambda url: path_of(url) != "/signup")
    await desktop.goto(f"{site.url}/settings")
    await click(desktop, "#wechat-bind")
    await desktop.wait_for_url(QR_PAGE)
    await scan_and_confirm(site, desktop, user=4)
    await desktop.wait_for_url(f"{site.url}/settings")
    await expect(desktop.locator(".alert-success")).to_be_visible()
    await expect(desktop.locator("#wechat .identity")).to_have_count(1)
    await expect(desktop.locator("#wechat-unbind")).to_be_visible()
    await desktop.screenshot(path=tmp_path / "settings-bound-desktop.png", full_page=True)

    phone = people["phone"].page
    await phone.goto(f"{site.url}/login")
    await phone.fill("#field-username", "alice")
    await phone.fill("#field-password", "correct horse battery")
    await click(phone, "form[action='/login'] button[type=submit]")
    await phone.wait_for_url(lambda url: path_of(url) != "/login")
    await phone.goto(f"{site.url}/settings")
    await expect(phone.locator("#wechat .identity")).to_have_count(1)
    await phone.locator("#wechat .identity img.avatar").evaluate("img => img.decode()")
    await phone.screenshot(path=tmp_path / "settings-bound-phone.png", full_page=True)
    await _no_horizontal_scroll(phone)
    for person in people.values():
        assert_no_csp_violations(person)
