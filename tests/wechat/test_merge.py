"""A bind that meets a WeChat whose own account holds nothing else offers to merge; every other conflict is refused."""

from __future__ import annotations

from sqlalchemy import func, select, update

from tests.wechat.harness import Browser, World, count, table_counts
from webapp.models import SecurityEvent, User, WebSession, WeChatIdentity, WeChatUnion

PASSWORD = "correct horse battery"


async def bind(browser: Browser, user: int, *, in_wechat: bool = False) -> tuple[int, str]:
    """Bind as `user`'s WeChat; the page it ends on (status, text)."""
    authorize = await browser.start("POST /settings/wechat/bind")
    callback = await (browser.authorize_in_wechat(authorize, user) if in_wechat else browser.scan_qr(authorize, user))
    page = await browser.follow((await browser.get(callback)).headers["Location"])
    return page.status, await page.text()


async def wechat_only(world: World, user: int, *, in_wechat: bool = False) -> tuple[Browser, int]:
    browser = world.browser(wechat=in_wechat)
    await (browser.wechat_login(user=user) if in_wechat else browser.qr_login(user=user))
    me = await browser.me()
    assert me is not None and not me["has_password"]
    return browser, me["id"]


async def test_the_offer_moves_the_wechat_here_and_deletes_the_empty_account(world: World) -> None:
    old, old_id = await wechat_only(world, 1)
    browser = world.browser()
    await browser.signup("alice", PASSWORD)
    alice_id = (await browser.me())["id"]  # type: ignore[index]
    before = await table_counts(world.sm)

    status, page = await bind(browser, 1)

    assert status == 409 and 'id="wechat-merge"' in page and "holds nothing else" in page
    assert await table_counts(world.sm) == before  # nothing changes until the person chooses
    resp = await browser.post("/settings/wechat/merge", {}, csrf_from="/auth/wechat/continue")
    assert resp.headers["Location"] == "/settings#wechat"
    settings_page = await (await browser.follow("/settings")).text()
    assert "its empty account was deleted" in settings_page and "Accounts merged" in settings_page
    me = await browser.me()
    assert me is not None and me["id"] == alice_id and len(me["wechat"]) == 1
    async with world.sm() as s:
        assert await s.get(User, old_id) is None
        assert await s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == old_id)) == 0
        merged = (await s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "merged"))).all()
        history = (await s.scalars(select(SecurityEvent.kind).where(SecurityEvent.user_id == alice_id))).all()
    assert [(e.user_id, e.method) for e in merged] == [(alice_id, "wechat_qr")]
    assert "login" in history  # the empty account's history is now the person's
    assert await old.me() is None  # its sessions ended with it
    again = world.browser()
    await again.qr_login(user=1)
    assert (await again.me())["id"] == alice_id  # type: ignore[index]


async def test_both_identities_of_one_person_move_together(world: World) -> None:
    await wechat_only(world, 2)
    inside = world.browser(wechat=True)  # the same person inside WeChat: linked by unionid, one account
    await inside.wechat_login(user=2)
    authorize = await inside.start("/auth/wechat/start?scope=userinfo&next=/settings")
    await inside.get(await inside.authorize_in_wechat(authorize, 2))
    assert await count(world.sm, WeChatIdentity) == 2
    browser = world.browser()
    await browser.signup("bob", PASSWORD)
    status, page = await bind(browser, 2)
    assert status == 409 and 'id="wechat-merge"' in page
    await browser.post("/settings/wechat/merge", {}, csrf_from="/auth/wechat/continue")
    me = await browser.me()
    assert me is not None and len(me["wechat"]) == 2
    async with world.sm() as s:
        assert (await s.scalars(select(WeChatUnion.user_id))).all() == [me["id"]]


async def test_an_account_with_a_password_is_never_merged(world: World) -> None:
    old, _old_id = await wechat_only(world, 3)
    await old.post("/settings/password", {"username": "carol", "password": PASSWORD, "confirm": PASSWORD})
    browser = world.browser()
    await browser.signup("dave", PASSWORD)
    before = await table_counts(world.sm)
    status, page = await bind(browser, 3)
    assert status == 409 and "already bound to another account" in page and "wechat-merge" not in page
    resp = await browser.post("/settings/wechat/merge", {}, csrf_from="/auth/wechat/continue")
    assert resp.headers["Location"] == "/settings#wechat"
    assert "can no longer be moved to your account. Nothing was changed." in await (await browser.follow("/settings")).text()
    assert await table_counts(world.sm) == before


async def test_a_disabled_account_is_not_merged(world: World) -> None:
    _old, old_id = await wechat_only(world, 4)
    async with world.sm.begin() as s:
        await s.execute(update(User).where(User.id == old_id).values(disabled_at=world.clock()))
    browser = world.browser()
    await browser.signup("erin", PASSWORD)
    status, page = await bind(browser, 4)
    assert status == 409 and "wechat-merge" not in page


async def test_an_account_that_already_has_a_wechat_of_its_own_is_refused(world: World) -> None:
    await wechat_only(world, 1)
    browser = world.browser()
    await browser.signup("fay", PASSWORD)
    await bind(browser, 5)
    before = await table_counts(world.sm)
    status, page = await bind(browser, 1)
    assert status == 409 and "wechat-merge" not in page and "already bound to another account" in page
    assert await table_counts(world.sm) == before


async def test_the_offer_is_for_the_browser_and_account_that_scanned_within_ten_minutes(world: World) -> None:
    await wechat_only(world, 1)
    browser = world.browser()
    await browser.signup("gus", PASSWORD)
    await bind(browser, 1)
    bystander = world.browser()  # another account cannot use it (the offer lives in the scanner's browser)
    await bystander.signup("hal", PASSWORD)
    resp = await bystander.post("/settings/wechat/merge", {}, csrf_from="/settings")
    assert resp.headers["Location"] == "/settings#wechat"
    world.clock.advance(minutes=11)
    resp = await browser.post("/settings/wechat/merge", {}, csrf_from="/settings")
    assert "That offer has expired" in await (await browser.follow("/settings")).text()
    assert await count(world.sm, User) == 3


async def test_the_merge_needs_csrf(world: World) -> None:
    await wechat_only(world, 1)
    browser = world.browser()
    await browser.signup("ivy", PASSWORD)
    await bind(browser, 1)
    resp = await browser.site.post("/settings/wechat/merge", data={}, headers=browser.headers, allow_redirects=False)
    assert resp.status == 403
    assert await count(world.sm, User) == 2
