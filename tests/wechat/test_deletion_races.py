"""A WeChat bind racing the deletion of its account, proven to have raced: no 500, nothing orphaned.

The test holds a lock on wechat_unions, delivers the bind's callback and sees it blocked there (past its
checks, inside its transaction); then it deletes the account and sees that blocked too, before letting go.
"""

from __future__ import annotations

import asyncio

from tests.conftest import T0
from tests.races import backends_blocked, held_table_lock
from tests.wechat.harness import World, count, pooled_world, sim_server, wechat_settings  # noqa: F401
from webapp.accounts import closing
from webapp.keys import database_key
from webapp.models import User, WeChatIdentity, WeChatUnion


async def test_a_bind_racing_the_deletion_of_its_account_is_no_500(pooled_world: World) -> None:  # noqa: F811
    world = pooled_world
    alice = world.browser()
    await alice.signup("alice")
    me = await alice.me()
    assert me is not None
    callback = await alice.scan_qr(await alice.start("POST /settings/wechat/bind"), 5)
    db = world.site.server.app[database_key]

    async with held_table_lock(world.sm, "wechat_unions") as waiting:
        binding = asyncio.ensure_future(alice.get(callback))
        await waiting(1)  # the bind checked the account and the WeChat, and is inserting the unionid
        deleting = asyncio.ensure_future(closing.delete_account(db, user_id=me["id"], now=T0))
        await backends_blocked(world.sm, 2)  # the deletion is inside its transaction too, waiting
    response, deleted = await asyncio.gather(binding, deleting)

    assert response.status < 500, await response.text()
    assert deleted is True
    assert await count(world.sm, User) == 0
    assert await count(world.sm, WeChatIdentity) == 0 and await count(world.sm, WeChatUnion) == 0
