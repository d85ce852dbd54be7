"""The callback under misuse: bad/expired/replayed state, other browsers, double delivery, WeChat faults, hostile next."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import T0
from tests.wechat.harness import World, query_of, table_counts

ACCESS_TOKEN = "/sns/oauth2/access_token"


async def _callback_path(world: World, browser=None, *, user: int = 1, next_path: str = "/settings") -> tuple[str, object]:  # type: ignore[no-untyped-def]
    browser = browser or world.browser()
    authorize = await browser.start(f"/auth/wechat/start?next={next_path}")
    return await browser.scan_qr(authorize, user), browser


async def _outcome(browser, resp) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Status and text of the page the callback sends the browser to."""
    assert resp.status == 302
    location = resp.headers["Location"]
    assert "code=" not in location and "state=" not in location
    page = await browser.follow(location)
    return page.status, await page.text()


@pytest.mark.parametrize(
    "query",
    ["", "?code=abc", "?code=abc&state=", "?code=abc&state=has-dash", "?code=abc&state=" + "a" * 129, "?state=%00%01"],
)
async def test_malformed_state_is_a_clear_400_and_writes_nothing(world: World, query: str) -> None:
    browser = world.browser()
    before = await table_counts(world.sm)
    status, text = await _outcome(browser, await browser.get("/auth/wechat/callback" + query))
    assert status == 400 and "not valid" in text
    assert await table_counts(world.sm) == before


async def test_unknown_state_is_400_and_called_not_valid_rather_than_expired(world: World) -> None:
    browser = world.browser()
    status, text = await _outcome(browser, await browser.get("/auth/wechat/callback?code=x&state=Unknown123"))
    assert status == 400 and "This login link is not valid" in text and "expired" not in text


async def test_expired_state_is_400_and_the_code_is_not_spent(world: World) -> None:
    callback, browser = await _callback_path(world)
    world.clock.advance(minutes=11)
    status, text = await _outcome(browser, await browser.get(callback))
    assert status == 400 and "expired" in text
    assert await world.sim.calls(ACCESS_TOKEN) == []
    assert await table_counts(world.sm) == {"users": 0, "wechat_identities": 0, "wechat_unions": 0}


async def test_state_from_another_browser_is_refused_without_exchanging_the_code(world: World) -> None:
    callback, owner = await _callback_path(world)
    stranger = world.browser()
    status, text = await _outcome(stranger, await stranger.get(callback))
    assert status == 400 and "another browser" in text
    assert await stranger.me() is None
    assert await world.sim.calls(ACCESS_TOKEN) == []
    resp = await owner.get(callback)  # the person who started it still gets in (a new account: welcome page)
    assert resp.headers["Location"] == "/auth/wechat/continue"
    assert await owner.me() is not None


async def test_second_delivery_of_the_same_callback_is_not_an_error_for_the_logged_in_person(world: World) -> None:
    callback, browser = await _callback_path(world)
    first = await browser.get(callback)
    second = await browser.get(callback)  # a reload, or WeChat delivering twice
    assert first.headers["Location"] == second.headers["Location"] == "/auth/wechat/continue"
    page = await browser.follow("/auth/wechat/continue")
    assert page.status == 200
    assert len(await world.sim.calls(ACCESS_TOKEN)) == 1
    assert (await table_counts(world.sm))["users"] == 1


async def test_concurrent_double_delivery_exchanges_the_code_once(pooled_world: World) -> None:
    world = pooled_world
    first_browser = world.browser()
    await first_browser.qr_login(user=1)  # the account exists; the race below is a plain login
    callback, browser = await _callback_path(world, user=1)
    first, second = await asyncio.gather(browser.get(callback), browser.get(callback))
    assert {first.headers["Location"], second.headers["Location"]} == {"/settings"}
    assert len(await world.sim.calls(ACCESS_TOKEN)) == 2  # one per login, not per delivery
    assert await browser.me() is not None


async def test_replayed_state_with_another_code_never_logs_in_someone_else(world: World) -> None:
    callback, browser = await _callback_path(world)
    await browser.get(callback)
    forged = callback.replace("code=", "code=X")
    stranger = world.browser()
    status, _text = await _outcome(stranger, await stranger.get(forged))
    assert status == 400
    assert await stranger.me() is None
    again = await browser.get(forged)  # the person already logged in is not shown an error
    assert again.headers["Location"] == "/settings"


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [
        ({"errcode": -1}, 503, "busy"),
        ({"errcode": 45011}, 503, "busy"),
        ({"errcode": 40029}, 400, "Scan again"),
        ({"errcode": 40163}, 400, "Scan again"),
        ({"errcode": 40125}, 503, "temporarily unavailable"),
        ({"errcode": 40013}, 503, "temporarily unavailable"),
        ({"errcode": 99999}, 502, "went wrong at WeChat"),
        ({"http_status": 502}, 502, "could not reach WeChat"),
        ({"http_status": 500}, 502, "could not reach WeChat"),
        ({"body": "<html>not json</html>"}, 502, "could not reach WeChat"),
        ({"body": "{\"access_token\": "}, 502, "could not reach WeChat"),
        ({"drop": True, "times": 2}, 502, "could not reach WeChat"),  # aiohttp resends a dropped GET once
    ],
)
async def test_wechat_failures_show_a_specific_page_and_write_nothing(world: World, fault: dict, status: int, words: str) -> None:
    await world.sim.fault(ACCESS_TOKEN, **fault)
    callback, browser = await _callback_path(world)
    got, text = await _outcome(browser, await browser.get(callback))
    assert got == status
    assert words in text
    assert "Traceback" not in text
    assert await table_counts(world.sm) == {"users": 0, "wechat_identities": 0, "wechat_unions": 0}
    assert await browser.me() is None


async def test_misconfiguration_is_explained_to_the_operator_in_the_log(world: World, caplog: pytest.LogCaptureFixture) -> None:
    await world.sim.fault(ACCESS_TOKEN, errcode=40125)
    callback, browser = await _callback_path(world)
    await browser.get(callback)
    assert "check-config" in caplog.text


async def test_wechat_timeout_is_a_502_page(aiohttp_client, wechat_settings, sessionmaker, clock, sim_server) -> None:  # type: ignore[no-untyped-def]
    from webapp.app import create_app

    settings = wechat_settings.with_(wechat_timeout_s=0.2)  # the only wall-clock wait: a tiny client timeout
    site = await aiohttp_client(create_app(settings, sessionmaker=sessionmaker, clock=clock))
    w = World(site, sim_server, settings, sessionmaker, clock)
    try:
        await sim_server.fault(ACCESS_TOKEN, delay_s=30)
        callback, browser = await _callback_path(w)
        status, text = await _outcome(browser, await browser.get(callback))
        assert status == 502 and "could not reach WeChat" in text
        assert await table_counts(sessionmaker) == {"users": 0, "wechat_identities": 0, "wechat_unions": 0}
    finally:
        await w.close()


HOSTILE_NEXT = [
    "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "http:evil.example",
    "javascript:alert(1)", "data:text/html,x", "%2F%2Fevil.example", "/%2F%2Fevil.example", "/%5Cevil.example",
    "%252F%252Fevil.example", "/%09/evil.example", "/\t/evil.example", "/%0d%0aSet-Cookie:x=1",
    "///evil.example", "////evil.example", " //evil.example", "/%5C%5Cevil.example", "evil.example", "..//evil.example",
    "/\u3000/evil.example", "/%00", "https:/evil.example", "\\/evil.example",
]


@pytest.mark.parametrize("next_value", HOSTILE_NEXT)
async def test_hostile_next_ends_at_home(world: World, next_value: str) -> None:
    browser = world.browser()
    await browser.qr_login(user=1)  # existing account, so the callback goes straight to `next`
    authorize = await browser.start("/auth/wechat/start?" + _q(next_value))
    resp = await browser.get(await browser.scan_qr(authorize, 1))
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("next_value", ["/settings", "/api/me", "/settings?tab=wechat", "/%E4%BD%A0%E5%A5%BD"])
async def test_local_next_is_followed(world: World, next_value: str) -> None:
    browser = world.browser()
    await browser.qr_login(user=1)
    authorize = await browser.start("/auth/wechat/start?" + _q(next_value))
    resp = await browser.get(await browser.scan_qr(authorize, 1))
    assert resp.headers["Location"] == next_value


def _q(next_value: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": next_value})


async def test_state_is_alphanumeric_single_use_for_ten_minutes_and_stored_only_at_the_callback(world: World) -> None:
    browser = world.browser()
    authorize = await browser.start("/auth/wechat/start")
    state = query_of(authorize)["state"]
    assert state.isalnum() and state.isascii() and len(state) <= 128
    assert await world.state_row(state) is None  # starting wrote nothing
    callback = await browser.scan_qr(authorize, 1)
    await browser.get(callback)
    row = await world.state_row(state)
    assert row is not None and row.consumed_at is not None and (row.expires_at - T0).total_seconds() == 600
    assert row.next_path == "/" and row.purpose == "login" and row.result is not None
    again = await browser.get(callback.replace("code=", "code=x"))  # the same state with another code
    assert again.status == 302 and again.headers["Location"] == "/"  # logged in already: just go on
    assert (await world.state_row(state)).code_hash == row.code_hash  # type: ignore[union-attr]


