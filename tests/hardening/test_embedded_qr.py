"""The QR embedded in the login page, over HTTP: its state endpoint, the callback inside WeChat's iframe, the hand-off.

In a browser the callback of an embedded QR (self_redirect=true) loads inside WeChat's cross-site
iframe, where the SameSite=Lax cookies are not sent: here that is a request with `Sec-Fetch-Dest:
iframe` from a client with no cookies. The top window, which has them, then finishes the login.
"""

from __future__ import annotations

import html
import re

import aiohttp
from sqlalchemy import text

from tests.hardening.conftest import table_rows
from tests.wechat.harness import Browser, World, query_of
from webapp.browser import BINDING_COOKIE
from webapp.csrf import CSRF_HEADER
from webapp.keys import state_signer_key
from webapp.wechat import flow, urls

FINISH_URL = re.compile(r'id="handoff" data-finish-url="([^"]+)"')
QR_EXPIRED = "That QR code had expired. Here is a new one: scan it again."


async def embed_state(browser: Browser, *, token: str | None = "fetch") -> aiohttp.ClientResponse:
    """What the login page's script does: POST for a fresh state, with the page's CSRF token in a header."""
    headers = dict(browser.headers, Accept="application/json")
    if token == "fetch":
        token = await browser.csrf("/login")
    if token is not None:
        headers[CSRF_HEADER] = token
    return await browser.site.post("/auth/wechat/embed-state?next=/settings", headers=headers, allow_redirects=False)


async def scanned_embedded(world: World, browser: Browser, user: int = 1) -> tuple[str, str]:
    """The embedded QR of this browser scanned and confirmed as `user`: (state, callback path)."""
    resp = await embed_state(browser)
    assert resp.status == 200, await resp.text()
    state = (await resp.json())["state"]
    app = flow.website_app(world.settings)
    assert app is not None
    qr_page = urls.qrconnect_url(world.settings.wechat_open_base, app, redirect_uri=world.settings.callback_url,
                                 state=state)
    return state, await browser.scan_qr(qr_page, user)


async def in_frame(world: World, path: str) -> aiohttp.ClientResponse:
    """GET `path` as WeChat's cross-site QR iframe does it: no cookies of ours."""
    frame = world.browser()
    return await frame.site.get(path, headers={**frame.headers, "Sec-Fetch-Dest": "iframe"}, allow_redirects=False)


async def handed_to(resp: aiohttp.ClientResponse) -> str:
    """The URL a hand-off page sends the top window to."""
    assert resp.status == 200 and resp.headers["Referrer-Policy"] == "no-referrer"
    match = FINISH_URL.search(await resp.text())
    assert match, await resp.text()
    return html.unescape(match.group(1))


async def states(world: World) -> int:
    return (await table_rows(world.sm))["oauth_states"]


async def test_embed_state_needs_the_csrf_token(world: World) -> None:
    browser = world.browser()
    for token in (None, "forged-token"):
        resp = await embed_state(browser, token=token)
        assert resp.status == 403 and "Form expired" in await resp.text()
    assert await states(world) == 0


async def test_embed_state_answers_a_fresh_state_bound_to_this_browser(world: World) -> None:
    browser = world.browser()
    resp = await embed_state(browser)
    assert resp.status == 200
    answer = await resp.json()
    assert answer["expires_in"] == 600 and re.fullmatch(r"[A-Za-z0-9]{1,128}", answer["state"])
    assert await states(world) == 0  # nothing stored until WeChat calls back
    ticket = world.site.app[state_signer_key].read(answer["state"])
    binding = next(c.value for c in browser.site.session.cookie_jar if c.key == BINDING_COOKIE)
    assert ticket is not None and ticket.flow == "embedded" and world.site.app[state_signer_key].bound_to(ticket, binding)


async def test_embed_state_never_gives_the_browser_its_binding(world: World) -> None:
    """The page does: two scripts of one page racing each other would each set their own."""
    browser = world.browser()
    token = await browser.csrf("/login")
    binding = next(c.value for c in browser.site.session.cookie_jar if c.key == BINDING_COOKIE)
    resp = await embed_state(browser, token=token)
    assert resp.status == 200 and BINDING_COOKIE not in resp.cookies
    browser.site.session.cookie_jar.clear(lambda c: c.key == BINDING_COOKIE)
    resp = await embed_state(browser, token=token)
    assert resp.status == 409 and (await resp.json()) == {"error": "no_binding"} and BINDING_COOKIE not in resp.cookies
    assert binding


async def test_embed_state_has_no_limit_per_address(world: World) -> None:
    """Many people behind one address (a campus, a carrier NAT) each get their QR; nothing is stored."""
    browsers = [world.browser() for _ in range(40)]
    assert [(await embed_state(browser)).status for browser in browsers] == [200] * 40
    assert await states(world) == 0


async def test_embed_state_for_a_logged_in_browser_is_404(world: World) -> None:
    browser = world.browser()
    await browser.signup("neo")
    token = await browser.csrf("/settings")
    resp = await embed_state(browser, token=token)
    assert resp.status == 404 and await states(world) == 0


async def test_the_callback_inside_the_frame_hands_the_top_window_to_finish_which_logs_in(world: World) -> None:
    browser = world.browser()
    state, callback = await scanned_embedded(world, browser)

    finish = await handed_to(await in_frame(world, callback))

    assert finish == f"/auth/wechat/finish?state={state}"
    assert await browser.me() is None  # the frame had no cookies: nobody is logged in yet
    done = await browser.get(finish)
    assert (done.status, done.headers["Location"]) == (302, "/auth/wechat/continue")  # a new account: welcome
    me = await browser.me()
    assert me is not None and me["wechat"][0]["openid"] == (await world.sim.user(1))["openids"][world.settings.wechat_web.appid]  # type: ignore[union-attr]


async def test_the_top_window_at_the_callback_of_an_embedded_qr_logs_in_directly(world: World) -> None:
    browser = world.browser()  # self_redirect=false: WeChat's frame navigates the top window, cookies and all
    _state, callback = await scanned_embedded(world, browser, user=2)
    resp = await browser.get(callback)
    assert (resp.status, resp.headers["Location"]) == (302, "/auth/wechat/continue")
    assert await browser.me() is not None


async def test_finish_after_the_state_expired_is_refused_clearly(world: World) -> None:
    browser = world.browser()
    _state, callback = await scanned_embedded(world, browser)
    finish = await handed_to(await in_frame(world, callback))
    world.clock.advance(minutes=11)

    page = await browser.follow(finish)

    assert page.status == 400 and "This login link has expired" in await page.text()
    assert await browser.me() is None


async def test_finish_from_another_browser_is_refused_and_the_right_browser_still_finishes(world: World) -> None:
    browser, stranger = world.browser(), world.browser()
    _state, callback = await scanned_embedded(world, browser)
    finish = await handed_to(await in_frame(world, callback))

    page = await stranger.follow(finish)

    assert page.status == 400 and "Finish in the browser you started in" in await page.text()
    assert await stranger.me() is None
    assert (await browser.get(finish)).status == 302 and await browser.me() is not None


async def test_a_replayed_finish_logs_nobody_in_again(world: World) -> None:
    browser = world.browser()
    _state, callback = await scanned_embedded(world, browser)
    finish = await handed_to(await in_frame(world, callback))
    assert (await browser.get(finish)).status == 302
    account = await browser.me()

    again = await browser.get(finish)  # a reload while logged in: no error, same account
    assert again.status == 302 and await browser.me() == account
    await browser.post("/logout", {}, csrf_from="/settings")
    replayed = await browser.follow(finish)
    assert replayed.status == 400 and "This login link was already used" in await replayed.text()
    assert await browser.me() is None


async def test_an_expired_state_inside_the_frame_hands_the_top_window_a_new_qr(world: World) -> None:
    browser = world.browser()
    _state, callback = await scanned_embedded(world, browser)
    world.clock.advance(minutes=11)

    top = await handed_to(await in_frame(world, callback))

    # The frame has no cookies, so it cannot know the page's next path: the new QR's page starts from home.
    assert top.startswith("/login?") and query_of(top) == {"next": "/", "qr": "expired"}
    page = await browser.get(top)
    assert page.status == 200 and QR_EXPIRED in await page.text()
    assert await browser.me() is None


async def test_an_unknown_state_inside_the_frame_hands_the_top_window_a_new_qr(world: World) -> None:
    top = await handed_to(await in_frame(world, "/auth/wechat/callback?code=abc&state=NoSuchState"))
    assert query_of(top) == {"next": "/", "qr": "expired"}


async def test_an_account_disabled_before_the_hand_off_is_not_logged_in(world: World) -> None:
    browser = world.browser()
    _state, callback = await scanned_embedded(world, browser)
    finish = await handed_to(await in_frame(world, callback))
    async with world.sm.begin() as s:  # an administrator disables it between the scan and the hand-off
        await s.execute(text("UPDATE users SET disabled_at = now()"))
    page = await browser.follow(finish)
    assert page.status == 403 and await browser.me() is None


async def test_a_failed_exchange_inside_the_frame_tells_the_top_window_what_happened_and_leaves_no_row(
    world: World,
) -> None:
    browser = world.browser()
    _state, callback = await scanned_embedded(world, browser)
    await world.sim.fault("/sns/oauth2/access_token", errcode=-1, times=1)  # WeChat is busy

    finish = await handed_to(await in_frame(world, callback))

    assert query_of(finish)["failed"] == "busy" and await states(world) == 0
    page = await browser.follow(finish)
    assert page.status == 503 and "WeChat is busy" in await page.text()
    assert await browser.me() is None
    stranger = world.browser()  # the reason is only read after the browser check
    assert "Finish in the browser you started in" in await (await stranger.follow(finish)).text()
