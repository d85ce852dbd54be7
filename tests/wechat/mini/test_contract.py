"""One contract for every kind of WeChat app (website QR, official account, mini program): the identity core's rules.

Each kind logs a test user in its own way; the rules must hold for all of them alike: a new person gets an
account, a returning person lands in it again, a unionid links the kinds into one account, a disabled
account is refused by every kind, and a person whose authorization WeChat revoked comes back to the same
account by logging in again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests.wechat.harness import World
from tests.wechat.mini.conftest import Mini
from webapp.admin import users as admin
from webapp.models import User, WeChatIdentity
from webapp.wechat.mp import identities
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids

Login = Callable[[World, int], Awaitable[int | None]]


async def website_qr(world: World, user: int) -> int | None:
    """The QR redirect flow on a desktop browser."""
    browser = world.browser()
    await browser.qr_login(user=user)
    me = await browser.me()
    return None if me is None else int(me["id"])


async def official_account(world: World, user: int) -> int | None:
    """Inside WeChat: snsapi_base, stepping up to snsapi_userinfo when the openid is unknown."""
    browser = world.browser(wechat=True)
    response = await browser.wechat_login(user=user)
    if response.headers.get("Location") == "/auth/wechat/continue":
        authorize = await browser.start("/auth/wechat/start?scope=userinfo&next=/settings")
        await browser.get(await browser.authorize_in_wechat(authorize, user))
    me = await browser.me()
    return None if me is None else int(me["id"])


async def mini_program(world: World, user: int) -> int | None:
    """The mini program: wx.login's code to the site's API; the bearer token's /api/me."""
    mini = Mini(world)
    answer = await mini.call("/api/wechat/mini/login", {"code": await mini.login_code(user)})
    if answer.status != 200:
        return None
    me = await mini.me(answer.body["token"])
    assert me.body == answer.body["user"]  # the login's answer is /api/me
    return int(me.body["id"]) if me.status == 200 else None


@dataclass(frozen=True)
class Kind:
    """A kind of app: how its people log in, its appid, and another kind to link with."""

    name: str
    login: Login
    appid: str
    other: Login


KINDS = [
    Kind("website", website_qr, fx.WEBSITE_APPID, mini_program),
    Kind("official_account", official_account, fx.MP_APPID, website_qr),
    Kind("mini_program", mini_program, fx.MINI_APPID, website_qr),
]
every_kind = pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])


async def users(world: World) -> int:
    async with world.sm() as s:
        return int(await s.scalar(select(func.count()).select_from(User)) or 0)


@every_kind
async def test_a_new_person_gets_an_account_with_this_apps_identity(world: World, kind: Kind) -> None:
    user_id = await kind.login(world, 1)
    assert user_id is not None and await users(world) == 1
    async with world.sm() as s:
        row = await s.scalar(select(WeChatIdentity).where(WeChatIdentity.appid == kind.appid))
    assert row is not None and row.user_id == user_id and row.openid == ids.openid_for(kind.appid, 1)
    assert row.unionid == ids.unionid_for(fx.OPEN_PLATFORM_ID, 1)


@every_kind
async def test_a_returning_person_lands_in_the_same_account(world: World, kind: Kind) -> None:
    first = await kind.login(world, 2)
    assert first is not None and await kind.login(world, 2) == first and await users(world) == 1


@every_kind
async def test_the_unionid_links_this_kind_to_an_account_made_by_another(world: World, kind: Kind) -> None:
    existing = await kind.other(world, 3)
    assert existing is not None
    assert await kind.login(world, 3) == existing and await users(world) == 1


@every_kind
async def test_a_disabled_account_is_refused(world: World, kind: Kind) -> None:
    user_id = await kind.login(world, 4)
    await admin.disable_user(world.sm, str(user_id), now=world.clock())
    assert await kind.login(world, 4) is None
    await admin.enable_user(world.sm, str(user_id), now=world.clock())
    assert await kind.login(world, 4) == user_id


@every_kind
async def test_after_a_revocation_logging_in_again_restores_the_same_account(world: World, kind: Kind) -> None:
    user_id = await kind.login(world, 5)
    async with world.sm.begin() as s:
        assert await identities.revoke(s, appid=kind.appid, openid=ids.openid_for(kind.appid, 5), now=world.clock())
    assert await kind.login(world, 5) == user_id and await users(world) == 1
    async with world.sm() as s:
        status = await s.scalar(select(WeChatIdentity.status).where(WeChatIdentity.appid == kind.appid))
    assert status == "active"
