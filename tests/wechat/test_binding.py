"""Binding and unbinding WeChat in settings, recent-login checks, conflicts, "I already have an account"."""

from __future__ import annotations

from sqlalchemy import select

from tests.wechat.harness import Browser, World, count, table_counts
from webapp.models import SecurityEvent, User, WeChatIdentity
from webapp.wechat_sim import fixture as sim_fixture

PASSWORD = "correct horse battery"


async def _bind(browser: Browser, user: int, *, in_wechat: bool = False) -> object:
    """POST bind, do the WeChat side as `user`, return the callback's response."""
    authorize = await browser.start("POST /settings/wechat/bind")
    callback = await (browser.authorize_in_wechat(authorize, user) if in_wechat else browser.scan_qr(authorize, user))
    return await browser.get(callback)


async def test_bind_with_qr_in_settings(world: World) -> None:
    browser = world.browser()
    await browser.signup("alice", PASSWORD)
    resp = await _bind(browser, 1)
    assert resp.headers["Location"] == "/settings"  # type: ignore[attr-defined]
    page = await (await browser.follow("/settings")).text()
    sim_user = await world.sim.user(1)
    assert "WeChat is now bound to your account." in page
    assert sim_user["nickname"] in page
    me = await browser.me()
    assert me is not None and me["username"] == "alice"
    assert [i["openid"] for i in me["wechat"]] == [sim_user["openids"][sim_fixture.WEBSITE_APPID]]
    later = world.browser()  # that WeChat now logs in to alice
    await later.qr_login(user=1)
    assert (await later.me())["username"] == "alice"  # type: ignore[index]


async def test_bind_inside_wechat_uses_the_official_account_with_userinfo(world: World) -> None:
    browser = world.browser(wechat=True)
    await browser.signup("bob", PASSWORD)
    authorize = await browser.start("POST /settings/wechat/bind")
    assert "scope=snsapi_userinfo" in authorize and sim_fixture.MP_APPID in authorize
    resp = await browser.get(await browser.authorize_in_wechat(authorize, 2))
    assert resp.headers["Location"] == "/settings"
    [identity] = (await browser.me())["wechat"]  # type: ignore[index]
    assert identity["appid"] == sim_fixture.MP_APPID
    assert identity["unionid"] == (await world.sim.user(2))["unionid"]


async def test_bind_needs_a_recent_login(world: World) -> None:
    browser = world.browser()
    await browser.signup("carol", PASSWORD)
    world.clock.advance(minutes=11)
    resp = await browser.post("/settings/wechat/bind", {})
    assert (resp.status, resp.headers["Location"]) == (302, "/settings/confirm?next=/settings%23wechat")
    assert "This change needs a recent login." in await (await browser.get(resp.headers["Location"])).text()
    resp = await browser.post("/settings/reauth", {"password": PASSWORD, "next": "/settings"})
    assert resp.status == 302
    authorize = await browser.start("POST /settings/wechat/bind")
    assert authorize.startswith(world.sim.url)


async def test_wechat_bound_to_another_account_is_a_conflict_and_changes_nothing(world: World) -> None:
    owner = world.browser()
    await owner.qr_login(user=1)
    other = world.browser()
    await other.signup("dave", PASSWORD)
    before = await table_counts(world.sm)
    resp = await _bind(other, 1)
    page = await other.follow(resp.headers["Location"])  # type: ignore[attr-defined]
    assert page.status == 409
    assert "already bound to another account" in await page.text()
    assert await table_counts(world.sm) == before
    assert (await other.me())["wechat"] == []  # type: ignore[index]


async def test_a_second_different_wechat_for_the_same_app_is_refused(world: World) -> None:
    browser = world.browser()
    await browser.signup("erin", PASSWORD)
    await _bind(browser, 1)
    resp = await _bind(browser, 2)
    page = await browser.follow(resp.headers["Location"])  # type: ignore[attr-defined]
    assert page.status == 409
    assert "already bound to a different WeChat" in await page.text()
    assert await count(world.sm, WeChatIdentity) == 1


async def test_binding_the_same_wechat_twice_is_a_no_op(world: World) -> None:
    browser = world.browser()
    await browser.signup("fay", PASSWORD)
    await _bind(browser, 1)
    await _bind(browser, 1)
    page = await (await browser.follow("/settings")).text()
    assert "already bound to your account" in page
    assert await count(world.sm, WeChatIdentity) == 1


async def test_unbind_with_a_password_removes_every_wechat_identity(world: World) -> None:
    browser = world.browser()
    await browser.signup("gus", PASSWORD)
    await _bind(browser, 1)
    resp = await browser.post("/settings/wechat/unbind", {})
    assert resp.status == 302
    assert "unbound" in await (await browser.follow("/settings")).text()
    assert (await browser.me())["wechat"] == []  # type: ignore[index]
    assert await table_counts(world.sm) == {"users": 1, "wechat_identities": 0, "wechat_unions": 0}
    again = world.browser()  # the WeChat is free again: it makes a new account
    await again.qr_login(user=1)
    assert (await again.me())["username"] is None  # type: ignore[index]


async def test_unbind_refuses_to_remove_the_last_way_to_log_in(world: World) -> None:
    browser = world.browser()
    await browser.qr_login(user=1)
    settings_page = await (await browser.follow("/settings")).text()
    assert "only way to log in" in settings_page
    resp = await browser.post("/settings/wechat/unbind", {})
    page = await (await browser.follow(resp.headers["Location"])).text()
    assert "Set a password first" in page
    assert await count(world.sm, WeChatIdentity) == 1
    resp = await browser.post("/settings/password", {"username": "hana", "password": PASSWORD, "confirm": PASSWORD})
    assert resp.status == 302, await resp.text()
    resp = await browser.post("/settings/wechat/unbind", {})
    assert await count(world.sm, WeChatIdentity) == 0


async def test_unbind_needs_a_recent_login(world: World) -> None:
    browser = world.browser()
    await browser.signup("ivan", PASSWORD)
    await _bind(browser, 1)
    world.clock.advance(minutes=11)
    resp = await browser.post("/settings/wechat/unbind", {})
    assert (resp.status, resp.headers["Location"]) == (302, "/settings/confirm?next=/settings%23wechat")
    assert await count(world.sm, WeChatIdentity) == 1


async def test_unbind_without_csrf_is_refused(world: World) -> None:
    browser = world.browser()
    await browser.signup("joan", PASSWORD)
    await _bind(browser, 1)
    resp = await browser.site.post("/settings/wechat/unbind", data={}, headers=browser.headers, allow_redirects=False)
    assert resp.status == 403
    assert await count(world.sm, WeChatIdentity) == 1


async def test_i_already_have_an_account_moves_the_wechat_onto_it(world: World) -> None:
    existing = world.browser()
    await existing.signup("kim", PASSWORD)
    kim_id = (await existing.me())["id"]  # type: ignore[index]
    newcomer = world.browser()
    await newcomer.qr_login(user=5)
    assert (await newcomer.me())["id"] != kim_id  # type: ignore[index]
    resp = await newcomer.post("/auth/wechat/link-existing", {"username": "kim", "password": PASSWORD}, csrf_from="/auth/wechat/continue")
    assert resp.status == 302
    me = await newcomer.me()
    assert me is not None and me["id"] == kim_id and len(me["wechat"]) == 1
    assert await count(world.sm, User) == 1  # the fresh WeChat-only account is gone


async def test_i_already_have_an_account_with_a_wrong_password_changes_nothing(world: World) -> None:
    existing = world.browser()
    await existing.signup("lee", PASSWORD)
    newcomer = world.browser()
    await newcomer.qr_login(user=5)
    resp = await newcomer.post("/auth/wechat/link-existing", {"username": "lee", "password": "wrong password"}, csrf_from="/auth/wechat/continue")
    assert resp.status == 400
    assert "Wrong username or password" in await resp.text()
    assert await count(world.sm, User) == 2


async def test_security_activity_records_wechat_logins_binds_and_unbinds(world: World) -> None:
    browser = world.browser()
    await browser.signup("max", PASSWORD)
    await _bind(browser, 1)
    await browser.post("/settings/wechat/unbind", {})
    async with world.sm() as s:
        kinds = [(e.kind, e.method) for e in (await s.scalars(select(SecurityEvent).order_by(SecurityEvent.id))).all()]
    assert ("bind", "wechat_qr") in kinds
    assert ("unbind", "") in kinds
    page = await (await browser.follow("/settings")).text()
    assert "Unbound WeChat" in page or "unbind" in page.lower()
