"""Every device: phone browsers that are not WeChat are told how to open the page in WeChat (never a useless QR);
inside WeChat the official account's flow; `webapp dev` can make an ordinary browser count as WeChat's."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.wechat.harness import Browser, World, count
from webapp.app import create_app
from webapp.models import OAuthState
from webapp.wechat_sim import fixture as sim_fixture

IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")
PASSWORD = "correct horse battery"


def phone(world: World, agent: str = IPHONE_SAFARI) -> Browser:
    browser = world.browser()
    browser.headers["User-Agent"] = agent
    return browser


@pytest.mark.parametrize("agent", [IPHONE_SAFARI, ANDROID_CHROME])
async def test_a_phone_is_told_to_open_the_site_in_wechat_and_given_no_qr(world: World, agent: str) -> None:
    browser = phone(world, agent)
    login = await (await browser.get("/login?next=/settings")).text()
    assert 'id="wechat-qr"' not in login and "Open WeChat's QR page" not in login
    assert "A QR code cannot be scanned by the phone that shows it." in login
    assert 'value="http://localhost:8080/login?next=/settings"' in login and 'id="copy-link"' in login
    assert 'action="/login"' in login  # the password still works here
    start = await browser.get("/auth/wechat/start?next=/settings")
    page = await start.text()
    assert start.status == 200 and 'data-page="open-in-wechat"' in page
    assert 'value="http://localhost:8080/auth/wechat/start?next=/settings"' in page
    assert 'href="/login?next=/settings"' in page
    assert await count(world.sm, OAuthState) == 0  # nothing started, nothing stored
    assert (await browser.post("/auth/wechat/embed-state", {}, csrf_from="/login")).status == 404


async def test_the_same_phone_inside_wechat_uses_the_official_account(world: World) -> None:
    browser = world.browser(wechat=True)
    authorize = await browser.start("/auth/wechat/start?next=/settings")
    assert "/connect/oauth2/authorize?" in authorize and sim_fixture.MP_APPID in authorize
    assert "A QR code cannot be scanned" not in await (await browser.get("/login")).text()


async def test_without_an_official_account_a_phone_is_offered_only_the_password(
    aiohttp_client, wechat_settings, sessionmaker, clock  # type: ignore[no-untyped-def]
) -> None:
    client: TestClient = await aiohttp_client(
        create_app(wechat_settings.with_(wechat_mp=None), sessionmaker=sessionmaker, clock=clock)
    )
    headers = {"User-Agent": IPHONE_SAFARI, "Accept-Language": "en"}
    login = await (await client.get("/login", headers=headers)).text()
    assert "copy-link" not in login and "wechat-qr" not in login and 'action="/login"' in login
    page = await (await client.get("/auth/wechat/start", headers=headers)).text()
    assert "On this phone, log in with your password." in page and "copy-link" not in page


async def test_binding_from_a_phone_explains_instead_of_showing_a_qr(world: World) -> None:
    browser = phone(world)
    await browser.signup("alice", PASSWORD)
    settings_page = await (await browser.get("/settings")).text()
    assert 'id="wechat-bind"' not in settings_page
    assert "To bind WeChat from this phone, open this page in WeChat." in settings_page
    assert 'value="http://localhost:8080/settings#wechat"' in settings_page
    resp = await browser.post("/settings/wechat/bind", {})
    assert resp.headers["Location"] == "/settings#wechat"
    assert await count(world.sm, OAuthState) == 0


async def test_confirming_with_wechat_from_a_phone_explains_how(world: World) -> None:
    browser = world.browser()
    await browser.qr_login(user=1)  # a WeChat-only account, on a computer
    browser.headers["User-Agent"] = IPHONE_SAFARI  # …and later on a phone browser (same cookies)
    world.clock.advance(minutes=11)
    page = await (await browser.get("/settings/confirm?next=/settings")).text()
    assert 'id="confirm-wechat"' not in page and "To confirm with WeChat from this phone" in page


async def test_the_dev_switch_exists_only_in_dev(world: World) -> None:
    assert (await world.browser().get("/_dev/wechat-browser?next=/login")).status == 404


async def test_in_dev_an_ordinary_browser_can_count_as_wechat_and_back(
    aiohttp_client, wechat_settings, sessionmaker, clock  # type: ignore[no-untyped-def]
) -> None:
    client: TestClient = await aiohttp_client(
        create_app(wechat_settings.with_(dev=True), sessionmaker=sessionmaker, clock=clock)
    )
    headers = {"Accept-Language": "en"}
    switched = await client.get("/_dev/wechat-browser?next=/login", headers=headers, allow_redirects=False)
    assert (switched.status, switched.headers["Location"]) == (302, "/login")
    login = await (await client.get("/login", headers=headers)).text()
    assert 'id="dev-wechat-banner"' in login
    start = await client.get("/auth/wechat/start?next=/", headers=headers, allow_redirects=False)
    assert "/connect/oauth2/authorize?" in start.headers["Location"]  # the official account's flow
    back = await client.get("/_dev/wechat-browser?off=1&next=//evil.example", headers=headers, allow_redirects=False)
    assert back.headers["Location"] == "/"
    start = await client.get("/auth/wechat/start?next=/", headers=headers, allow_redirects=False)
    assert "/connect/qrconnect?" in start.headers["Location"]
    assert 'id="dev-wechat-banner"' not in await (await client.get("/login", headers=headers)).text()


async def test_the_dev_cookie_means_nothing_outside_dev(world: World) -> None:
    browser = world.browser()
    browser.site.session.cookie_jar.update_cookies({"dev_wechat": "1"})
    assert "/connect/qrconnect?" in await browser.start("/auth/wechat/start?next=/")
