"""A callback URL (code + state) opened in any other browser never logs that browser in, fresh or used.

Every flow is tried: the QR page, in WeChat (snsapi_base and snsapi_userinfo), the embedded QR (at the
top and in WeChat's cookie-less iframe), bind and re-authentication. A double delivery in the browser
that started still ends logged in, with no error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.hardening.test_embedded_qr import handed_to, in_frame, scanned_embedded
from tests.wechat.harness import Browser, World
from webapp.models import OAuthState, User, WebSession

OTHER_BROWSER = "Finish in the browser you started in"
Scanned = Callable[[World, Browser], Awaitable[str]]


async def qr_page(world: World, owner: Browser) -> str:
    return await owner.scan_qr(await owner.start("/auth/wechat/start?next=/settings"), 1)


async def in_wechat(world: World, owner: Browser) -> str:
    first = await owner.authorize_in_wechat(await owner.start("/auth/wechat/start?scope=userinfo"), 1)
    await owner.get(first)  # known to the official account from now on: the next login is silent
    await owner.post("/logout", {}, csrf_from="/settings")
    return await owner.authorize_in_wechat(await owner.start("/auth/wechat/start?next=/settings"), 1)


async def in_wechat_step_up(world: World, owner: Browser) -> str:
    return await owner.authorize_in_wechat(await owner.start("/auth/wechat/start?scope=userinfo&next=/settings"), 2)


async def embedded_at_the_top(world: World, owner: Browser) -> str:
    _state, callback = await scanned_embedded(world, owner)
    return callback


FLOWS = {"qr_page": qr_page, "in_wechat": in_wechat, "in_wechat_step_up": in_wechat_step_up,
         "embedded": embedded_at_the_top}


async def rows(world: World, model: type) -> int:
    from sqlalchemy import func, select

    async with world.sm() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def landing(browser: Browser, resp: object) -> str:
    """The text of the page a callback's redirect lands on."""
    location = resp.headers.get("Location", "")  # type: ignore[attr-defined]
    return await (await browser.follow(location)).text() if location else await resp.text()  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", FLOWS)
async def test_a_fresh_callback_url_opened_in_another_browser_logs_nobody_in_and_spends_nothing(
    world: World, name: str
) -> None:
    owner = world.browser(wechat=name.startswith("in_wechat"))
    callback = await FLOWS[name](world, owner)
    stranger = world.browser(wechat=name.startswith("in_wechat"))
    exchanges = len(await world.sim.calls("/sns/oauth2/access_token"))
    states, sessions = await rows(world, OAuthState), await rows(world, WebSession)

    assert OTHER_BROWSER in await landing(stranger, await stranger.get(callback))

    assert await stranger.me() is None
    assert len(await world.sim.calls("/sns/oauth2/access_token")) == exchanges  # the code was not spent
    assert (await rows(world, OAuthState), await rows(world, WebSession)) == (states, sessions)
    owned = await owner.get(callback)  # the person who scanned still logs in with it
    assert owned.status == 302 and (await owner.me() or {}).get("id") is not None


@pytest.mark.parametrize("name", FLOWS)
async def test_a_used_callback_url_opened_in_another_browser_logs_nobody_in(world: World, name: str) -> None:
    owner = world.browser(wechat=name.startswith("in_wechat"))
    callback = await FLOWS[name](world, owner)
    assert (await owner.get(callback)).status == 302
    me = await owner.me()
    assert me is not None

    stranger = world.browser(wechat=name.startswith("in_wechat"))
    assert OTHER_BROWSER in await landing(stranger, await stranger.get(callback))
    assert await stranger.me() is None
    # The same URL again in the browser that started: a double delivery, still logged in, no error page.
    again = await owner.get(callback)
    assert again.status == 302 and (await owner.follow(again.headers["Location"])).status == 200
    assert await owner.me() == me


async def test_an_embedded_callback_run_in_a_frame_hands_over_only_to_the_browser_that_started(world: World) -> None:
    owner = world.browser()
    _state, callback = await scanned_embedded(world, owner)
    finish = await handed_to(await in_frame(world, callback))  # WeChat's iframe: no cookies of ours
    stranger = world.browser()
    assert OTHER_BROWSER in await landing(stranger, await stranger.get(finish))
    assert await stranger.me() is None
    # A stranger replaying the callback in a frame of their own gets a hand-off they cannot use either.
    replayed = await handed_to(await in_frame(world, callback))
    assert OTHER_BROWSER in await landing(stranger, await stranger.get(replayed))
    assert (await owner.get(finish)).status == 302 and await owner.me() is not None


async def test_a_bind_callback_opened_in_another_browser_binds_nothing(world: World) -> None:
    owner = world.browser()
    await owner.signup("bea")
    bind = await owner.post("/settings/wechat/bind", {}, csrf_from="/settings")
    callback = await owner.scan_qr(bind.headers["Location"], 1)
    stranger = world.browser()
    await stranger.signup("eve")
    assert OTHER_BROWSER in await landing(stranger, await stranger.get(callback))
    assert (await stranger.me() or {}).get("wechat") == []
    assert (await owner.get(callback)).status == 302
    assert [i["appid"] for i in (await owner.me() or {}).get("wechat", [])] != []


async def test_three_hundred_people_behind_one_address_all_log_in(world: World) -> None:
    """A campus or a carrier NAT: every request comes from 127.0.0.1, and no limit keyed on it refuses anyone."""
    users = [u["id"] for u in await world.sim.control("GET", "users")]
    logged_in = 0
    for person in range(300):
        in_wechat = person % 2 == 1  # half scan a QR on a computer, half open the site inside WeChat
        browser = world.browser(wechat=in_wechat)
        page = await browser.get("/login")
        assert page.status == 200
        user = users[person % len(users)]
        if in_wechat:
            authorize = await browser.start("/auth/wechat/start?scope=userinfo&next=/")
            response = await browser.get(await browser.authorize_in_wechat(authorize, user))
        else:
            response = await browser.qr_login(user=user)
        assert response.status < 400, (person, response.status)
        logged_in += await browser.me() is not None
    assert logged_in == 300
    assert await rows(world, User) <= len(users)
