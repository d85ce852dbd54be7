"""What a person is told and offered after each WeChat hitch, and how "confirm it's you" hands back: a bad link,
an expired one, one opened in another browser, one already used; a bind carried on after confirming; unbinding
asked first."""

from __future__ import annotations

import re

from tests.wechat.harness import Browser, World, count
from webapp.models import OAuthState, WeChatIdentity

PASSWORD = "correct horse battery"
STALE = {"minutes": 11}


async def landing(browser: Browser, resp: object) -> tuple[int, str]:
    assert resp.status == 302  # type: ignore[attr-defined]
    page = await browser.follow(resp.headers["Location"])  # type: ignore[attr-defined]
    return page.status, await page.text()


def retry(page: str) -> str:
    match = re.search(r'id="outcome-retry"[^>]*>|href="([^"]+)"[^>]*id="outcome-retry"', page)
    assert match and match.group(1), page[-3000:]
    return match.group(1).replace("&amp;", "&")


async def test_a_forged_link_says_not_valid_and_offers_a_new_start_and_the_password(world: World) -> None:
    browser = world.browser()
    status, page = await landing(browser, await browser.get("/auth/wechat/callback?code=abc&state=Forged123"))
    assert status == 400 and "This login link is not valid" in page and "incomplete or was changed" in page
    assert retry(page) == "/auth/wechat/start?next=/" and "Start again here" in page
    assert 'href="/login?next=/"' in page


async def test_an_expired_link_says_so_and_starts_again_towards_the_same_page(world: World) -> None:
    browser = world.browser()
    callback = await browser.scan_qr(await browser.start("/auth/wechat/start?next=/settings"), 1)
    world.clock.advance(**STALE)
    status, page = await landing(browser, await browser.get(callback))
    assert status == 400 and "This login link has expired" in page and "within 10 minutes" in page
    assert retry(page) == "/auth/wechat/start?next=/settings"


async def test_a_link_opened_in_another_browser_says_where_to_finish(world: World) -> None:
    owner = world.browser()
    callback = await owner.scan_qr(await owner.start("/auth/wechat/start?next=/settings"), 1)
    other = world.browser()
    status, page = await landing(other, await other.get(callback))
    assert status == 400 and "Finish in the browser you started in" in page and "started in another browser" in page
    # The other browser learns nothing of the flow (its next path stays in the starting browser).
    assert retry(page) == "/auth/wechat/start?next=/" and "Start again here" in page
    assert await other.me() is None


async def test_a_used_link_says_so_and_a_logged_in_person_may_just_continue(world: World) -> None:
    browser = world.browser()
    authorize = await browser.start("/auth/wechat/start?next=/settings")
    callback = await browser.scan_qr(authorize, 1)
    await browser.get(callback)
    state = re.search(r"state=([A-Za-z0-9]+)", callback).group(1)  # type: ignore[union-attr]
    stranger = world.browser()  # another browser is told where to finish, and is never logged in
    status, page = await landing(stranger, await stranger.get(f"/auth/wechat/callback?code=another&state={state}"))
    assert status == 400 and "Finish in the browser you started in" in page and await stranger.me() is None
    await browser.post("/logout", {}, csrf_from="/settings")
    status, page = await landing(browser, await browser.get(f"/auth/wechat/callback?code=another&state={state}"))
    assert status == 400 and "This login link was already used" in page
    bound = world.browser()  # someone logged in who follows a bad link is offered the way on
    await bound.signup("ann", PASSWORD)
    status, page = await landing(bound, await bound.get("/auth/wechat/callback?code=abc&state=Forged123"))
    assert 'id="outcome-continue"' in page


async def test_an_expired_bind_goes_back_to_the_settings_wechat_section(world: World) -> None:
    browser = world.browser()
    await browser.signup("bea", PASSWORD)
    callback = await browser.scan_qr(await browser.start("POST /settings/wechat/bind"), 1)
    world.clock.advance(**STALE)
    status, page = await landing(browser, await browser.get(callback))
    assert status == 400 and retry(page) == "/settings#wechat" and "Back to settings" in page


async def test_an_expired_confirmation_scan_goes_back_to_confirm_it_is_you(world: World) -> None:
    browser = world.browser()
    await browser.qr_login(user=2)
    world.clock.advance(**STALE)
    confirm = await browser.post("/settings/confirm/wechat", {"next": "/settings#wechat"}, csrf_from="/settings/confirm")
    callback = await browser.scan_qr(confirm.headers["Location"], 2)
    world.clock.advance(**STALE)
    status, page = await landing(browser, await browser.get(callback))
    assert status == 400 and retry(page) == "/settings/confirm?next=/settings%23wechat"
    assert "Confirm it&#39;s you again" in page or "Confirm it's you again" in page


async def test_a_bind_waiting_for_confirmation_carries_on_by_itself(world: World) -> None:
    browser = world.browser()
    await browser.signup("cat", PASSWORD)
    world.clock.advance(**STALE)
    refused = await browser.post("/settings/wechat/bind", {})
    assert (refused.status, refused.headers["Location"]) == (302, "/settings/confirm?next=/settings%23wechat")
    assert "Binding WeChat continues as soon as you have confirmed." in await (await browser.get(refused.headers["Location"])).text()

    confirmed = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings#wechat"},
                                   csrf_from="/settings/confirm")

    authorize = confirmed.headers["Location"]
    assert authorize.startswith(world.sim.url + "/connect/qrconnect?")  # straight on to WeChat, no second click
    bound = await browser.get(await browser.scan_qr(authorize, 3))
    assert bound.headers["Location"] == "/settings"
    assert len((await browser.me())["wechat"]) == 1  # type: ignore[index]
    world.clock.advance(**STALE)  # once carried on, a later confirmation just goes back
    await browser.post("/settings/wechat/unbind", {})
    again = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings#wechat"},
                               csrf_from="/settings/confirm")
    assert again.headers["Location"] == "/settings#wechat"


async def test_confirming_without_a_waiting_bind_only_goes_back(world: World) -> None:
    browser = world.browser()
    await browser.signup("dan", PASSWORD)
    world.clock.advance(**STALE)
    page = await (await browser.get("/settings/confirm?next=/settings%23wechat")).text()  # e.g. a link from elsewhere
    assert "Binding WeChat continues" not in page
    confirmed = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings#wechat"},
                                   csrf_from="/settings/confirm")
    assert confirmed.headers["Location"] == "/settings#wechat"
    assert await count(world.sm, OAuthState) == 0


async def test_a_waiting_bind_belongs_to_the_account_that_asked(world: World) -> None:
    browser = world.browser()
    await browser.signup("eve", PASSWORD)
    world.clock.advance(**STALE)
    await browser.post("/settings/wechat/bind", {})
    await browser.post("/logout", {})
    await browser.signup("fox", PASSWORD)
    world.clock.advance(**STALE)
    confirmed = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings"},
                                   csrf_from="/settings/confirm")
    assert confirmed.headers["Location"] == "/settings"


async def test_unbinding_is_asked_first_after_confirming_it_is_you(world: World) -> None:
    browser = world.browser()
    await browser.signup("gil", PASSWORD)
    await browser.get(await browser.scan_qr(await browser.start("POST /settings/wechat/bind"), 4))
    settings_page = await (await browser.get("/settings")).text()
    assert 'href="/settings/wechat/unbind"' in settings_page and 'action="/settings/wechat/unbind"' not in settings_page
    world.clock.advance(**STALE)
    ask = await browser.get("/settings/wechat/unbind")
    assert ask.headers["Location"] == "/settings/confirm?next=/settings/wechat/unbind"
    back = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings/wechat/unbind"},
                              csrf_from="/settings/confirm")
    assert back.headers["Location"] == "/settings/wechat/unbind"
    page = await (await browser.get("/settings/wechat/unbind")).text()
    assert "Unbind WeChat?" in page and 'action="/settings/wechat/unbind"' in page
    assert await count(world.sm, WeChatIdentity) == 1  # asking changed nothing
    await browser.post("/settings/wechat/unbind", {}, csrf_from="/settings/wechat/unbind")
    assert await count(world.sm, WeChatIdentity) == 0
    assert (await browser.get("/settings/wechat/unbind")).headers["Location"] == "/settings#wechat"


async def test_a_wechat_only_account_is_told_why_it_cannot_unbind(world: World) -> None:
    browser = world.browser()
    await browser.qr_login(user=5)
    page = await (await browser.get("/settings/wechat/unbind")).text()
    assert "only way to log in" in page and 'action="/settings/wechat/unbind"' not in page


async def test_confirming_on_the_way_to_something_else_does_not_start_the_waiting_bind(world: World) -> None:
    browser = world.browser()
    await browser.signup("hap", PASSWORD)
    world.clock.advance(**STALE)
    await browser.post("/settings/wechat/bind", {})  # the person asks for a bind, is sent to confirm, goes back…
    ask = await browser.get("/settings/account/delete")  # …and heads for something else
    assert ask.headers["Location"] == "/settings/confirm?next=/settings/account/delete"
    assert "Binding WeChat continues" not in await (await browser.get(ask.headers["Location"])).text()
    confirmed = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings/account/delete"},
                                   csrf_from="/settings/confirm")
    assert confirmed.headers["Location"] == "/settings/account/delete"
    assert await count(world.sm, OAuthState) == 0
