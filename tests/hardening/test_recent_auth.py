"""Sensitive changes need a recent login; a scan proves it only with the account's own WeChat; new passwords end other sessions."""

from __future__ import annotations

from tests.hardening.conftest import PASSWORD
from tests.wechat.harness import Browser, World, local_path

STALE = {"minutes": 11}  # RECENT_AUTH_S is 600


async def wechat_account(world: World, user: int) -> Browser:
    """A browser logged in to the WeChat-only account a QR login of `user` creates (or finds)."""
    browser = world.browser()
    resp = await browser.qr_login(user=user)
    assert resp.status == 302, await resp.text()
    assert (await browser.me()) is not None
    return browser


async def confirm_with_wechat(browser: Browser, user: int, next_path: str = "/settings") -> tuple[int, str, str]:
    """"Confirm with WeChat" scanned by `user`: where the callback sends the browser, and the page it ends on."""
    resp = await browser.post("/settings/confirm/wechat", {"next": next_path}, csrf_from="/settings/confirm")
    assert resp.status == 302, await resp.text()
    callback = await browser.get(await browser.scan_qr(resp.headers["Location"], user))
    assert callback.status == 302
    location = callback.headers["Location"]
    page = await browser.follow(location)
    return page.status, location, await page.text()


def to_confirm(resp: object) -> bool:
    return resp.status == 302 and resp.headers["Location"].startswith("/settings/confirm?next=")  # type: ignore[attr-defined]


async def test_a_stale_wechat_only_session_must_confirm_before_password_bind_or_unbind_and_its_own_scan_confirms(
    world: World,
) -> None:
    browser = await wechat_account(world, 1)
    world.clock.advance(**STALE)
    new_password = {"username": "neo", "password": PASSWORD, "confirm": PASSWORD}

    assert to_confirm(await browser.post("/settings/password", new_password))
    assert to_confirm(await browser.post("/settings/wechat/bind", {}))
    assert to_confirm(await browser.post("/settings/wechat/unbind", {}))
    me = await browser.me()
    assert me is not None and (me["username"], me["has_password"], len(me["wechat"])) == (None, False, 1)

    status, location, _page = await confirm_with_wechat(browser, 1, "/settings")
    assert (status, location) == (200, "/settings")

    bind = await browser.post("/settings/wechat/bind", {})
    assert bind.status == 302 and bind.headers["Location"].startswith(world.sim.url)  # the flow starts
    unbind = await browser.post("/settings/wechat/unbind", {})
    assert unbind.headers["Location"] == "/settings"  # not sent to confirm; refused as the last way in
    assert "only way you can log in" in await (await browser.follow("/settings")).text()
    saved = await browser.post("/settings/password", new_password)
    assert saved.headers["Location"] == "/settings"
    me = await browser.me()
    assert me is not None and (me["username"], me["has_password"]) == ("neo", True)
    await browser.post("/settings/wechat/unbind", {})
    assert (await browser.me())["wechat"] == []  # type: ignore[index]


async def test_confirming_with_another_wechat_is_refused_and_the_session_stays_whose_it_was(world: World) -> None:
    other = await wechat_account(world, 2)  # that WeChat has an account of its own here
    other_id = (await other.me())["id"]  # type: ignore[index]
    browser = await wechat_account(world, 1)
    mine = (await browser.me())["id"]  # type: ignore[index]
    world.clock.advance(**STALE)

    status, _location, page = await confirm_with_wechat(browser, 2)

    assert status == 403
    assert "That is not the WeChat bound to your account" in page and "still logged in as before" in page
    me = await browser.me()
    assert me is not None and me["id"] == mine != other_id
    assert to_confirm(await browser.post("/settings/wechat/unbind", {}))  # no recent login was granted


async def test_a_password_account_confirms_with_its_own_bound_wechat(world: World) -> None:
    browser = world.browser()
    await browser.signup("trinity", PASSWORD)
    bind = await browser.get(await browser.scan_qr(await browser.start("POST /settings/wechat/bind"), 3))
    assert bind.headers["Location"] == "/settings"
    world.clock.advance(**STALE)
    assert to_confirm(await browser.post("/settings/wechat/unbind", {}))

    status, location, _page = await confirm_with_wechat(browser, 3, "/settings#wechat")

    assert (status, location) == (200, "/settings#wechat")
    assert (await browser.post("/settings/wechat/unbind", {})).headers["Location"] == "/settings"
    assert (await browser.me())["wechat"] == []  # type: ignore[index]


async def test_confirming_with_wechat_without_any_bound_wechat_is_refused_clearly(world: World) -> None:
    browser = world.browser()
    await browser.signup("morpheus", PASSWORD)
    mine = (await browser.me())["id"]  # type: ignore[index]
    world.clock.advance(**STALE)

    resp = await browser.post("/settings/confirm/wechat", {"next": "/settings"}, csrf_from="/settings/confirm")
    page = await browser.follow(local_path(resp.headers["Location"])) if resp.status == 302 else resp
    text = await page.text()

    assert page.status != 404 and "Page not found" not in text
    assert "WeChat" in text and "password" in text
    assert (await browser.me())["id"] == mine  # type: ignore[index]
    assert to_confirm(await browser.post("/settings/wechat/bind", {}))


async def test_changing_a_password_ends_every_other_session(world: World) -> None:
    first, second = world.browser(), world.browser()
    await first.signup("carol", PASSWORD)
    assert (await second.post("/login", {"username": "carol", "password": PASSWORD}, csrf_from="/login")).status == 302
    assert await second.me() is not None

    changed = await first.post("/settings/password", {"current_password": PASSWORD, "password": "a new passphrase",
                                                      "confirm": "a new passphrase"})

    assert changed.headers["Location"] == "/settings"
    assert "1 other session was logged out." in await (await first.follow("/settings")).text()
    assert await second.me() is None
    assert (await first.me())["username"] == "carol"  # type: ignore[index]
    old = await second.post("/login", {"username": "carol", "password": PASSWORD}, csrf_from="/login")
    assert old.status == 400


async def test_setting_a_first_password_on_a_wechat_account_ends_its_other_sessions(world: World) -> None:
    first, second = await wechat_account(world, 4), await wechat_account(world, 4)
    assert (await first.me())["id"] == (await second.me())["id"]  # type: ignore[index]

    saved = await first.post("/settings/password", {"username": "switch", "password": PASSWORD, "confirm": PASSWORD})

    assert saved.headers["Location"] == "/settings"
    assert await second.me() is None
    me = await first.me()
    assert me is not None and (me["username"], me["has_password"]) == ("switch", True)
