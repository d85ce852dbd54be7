"""Races the database settles: the same new person logging in twice at once is one account."""

from __future__ import annotations

import asyncio

from tests.wechat.harness import World, count, pooled_world, sim_server, wechat_settings  # noqa: F401
from webapp.models import User, WeChatIdentity, WeChatUnion


async def test_simultaneous_first_logins_of_one_person_make_one_account(pooled_world: World) -> None:
    world = pooled_world
    pc, phone = world.browser(), world.browser(wechat=True)
    pc_callback = await pc.scan_qr(await pc.start("/auth/wechat/start"), 3)
    phone_callback = await phone.authorize_in_wechat(await phone.start("/auth/wechat/start?scope=userinfo"), 3)
    await asyncio.gather(pc.get(pc_callback), phone.get(phone_callback))  # both find nobody, both insert
    assert await count(world.sm, User) == 1
    assert await count(world.sm, WeChatUnion) == 1
    assert await count(world.sm, WeChatIdentity) == 2
    pc_me, phone_me = await pc.me(), await phone.me()
    assert pc_me is not None and phone_me is not None and pc_me["id"] == phone_me["id"]


async def test_simultaneous_logins_of_one_new_openid_make_one_identity(pooled_world: World) -> None:
    world = pooled_world
    first, second = world.browser(), world.browser()
    callbacks = [await b.scan_qr(await b.start("/auth/wechat/start"), 4) for b in (first, second)]
    await asyncio.gather(first.get(callbacks[0]), second.get(callbacks[1]))
    assert await count(world.sm, User) == 1
    assert await count(world.sm, WeChatIdentity) == 1
    assert (await first.me())["id"] == (await second.me())["id"]  # type: ignore[index]
