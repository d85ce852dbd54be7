"""A disabled account cannot log in by any method and loses its sessions at once (end to end, real HTTP).

Disabling is `webapp admin user disable`'s service; refusing the logins is the site's (password, WeChat
and session loading each check users.disabled_at).
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from tests.wechat.harness import Browser, World
from webapp.admin import users
from webapp.models import User, WebSession

PASSWORD = "correct horse battery"


async def sessions_of(world: World, user_id: int) -> int:
    async with world.sm() as s:
        return int(await s.scalar(select(func.count()).where(WebSession.user_id == user_id)) or 0)


async def user_count(world: World) -> int:
    async with world.sm() as s:
        return int(await s.scalar(select(func.count()).select_from(User)) or 0)


async def password_login(browser: Browser, username: str = "alice") -> None:
    await browser.post("/login", {"username": username, "password": PASSWORD}, csrf_from="/login")


async def test_disabling_ends_every_open_session_at_once(world: World) -> None:
    by_password, by_wechat = world.browser(), world.browser()
    await by_password.signup("alice", PASSWORD)
    await by_wechat.qr_login(user=1)
    wechat_user = (await by_wechat.me() or {})["id"]

    await users.disable_user(world.sm, "alice", now=world.clock())
    await users.disable_user(world.sm, f"id:{wechat_user}", now=world.clock())

    assert await by_password.me() is None
    assert await by_wechat.me() is None


async def test_a_disabled_account_cannot_log_in_with_its_password(world: World) -> None:
    browser = world.browser()
    await browser.signup("alice", PASSWORD)
    await browser.post("/logout", {})
    await users.disable_user(world.sm, "alice", now=world.clock())

    await password_login(browser)

    assert await browser.me() is None
    alice = (await users.user_report(world.sm, "alice", now=world.clock())).user.id
    assert await sessions_of(world, alice) == 0
    await users.enable_user(world.sm, "alice", now=world.clock())
    await password_login(browser)
    assert (await browser.me() or {}).get("username") == "alice"  # the password was right all along


async def test_a_disabled_account_cannot_log_in_by_wechat_qr(world: World) -> None:
    first = world.browser()
    await first.qr_login(user=1)
    user_id = (await first.me() or {})["id"]
    await users.disable_user(world.sm, f"id:{user_id}", now=world.clock())
    accounts = await user_count(world)

    again = world.browser()
    await again.qr_login(user=1)

    assert await again.me() is None
    assert await sessions_of(world, user_id) == 0
    assert await user_count(world) == accounts  # no fresh account for the same WeChat either


async def test_a_disabled_account_cannot_log_in_inside_wechat(world: World) -> None:
    pc = world.browser()
    await pc.qr_login(user=1)
    user_id = (await pc.me() or {})["id"]
    phone = world.browser(wechat=True)  # link the official account once (snsapi_userinfo), as in the login tests
    await phone.wechat_login(user=1)
    await phone.get(await phone.authorize_in_wechat(await phone.start("/auth/wechat/start?scope=userinfo"), 1))
    silent = world.browser(wechat=True)
    await silent.wechat_login(user=1)
    assert (await silent.me() or {}).get("id") == user_id  # from now on the silent login works...
    await users.disable_user(world.sm, f"id:{user_id}", now=world.clock())
    accounts = await user_count(world)

    again = world.browser(wechat=True)
    await again.wechat_login(user=1)

    assert await again.me() is None  # ...except for a disabled account
    assert await user_count(world) == accounts


async def test_a_surviving_session_of_a_disabled_account_is_refused(world: World) -> None:
    browser = world.browser()
    await browser.signup("alice", PASSWORD)
    async with world.sm.begin() as s:  # disabled_at set while a login raced the session purge
        await s.execute(update(User).where(User.username == "alice").values(disabled_at=world.clock()))

    assert await browser.me() is None
