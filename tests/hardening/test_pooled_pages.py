"""Pages as they run on a real connection pool (not inside the tests' rolled-back transaction).

Inside the rolled-back test transaction every `conn.transaction()` is a savepoint, which ignores
`readonly=True`; on a pool it is a real `BEGIN READ ONLY`. These pages are checked where that differs
(found by issue 7: the merge offer locked rows in a read-only transaction and answered 500 on a pool).
"""

from __future__ import annotations

from tests.hardening.conftest import PASSWORD, MakeWorld


async def test_a_bind_conflict_page_offers_the_merge_on_a_real_pool(make_pooled_world: MakeWorld) -> None:
    world = await make_pooled_world()
    owner = world.browser()
    assert (await owner.qr_login(user=1)).status == 302  # a WeChat-only account holds WeChat user 1
    binder = world.browser()
    await binder.signup("alice", PASSWORD)
    authorize = await binder.start("POST /settings/wechat/bind")
    callback = await binder.get(await binder.scan_qr(authorize, 1))
    assert callback.headers["Location"] == "/auth/wechat/continue"

    page = await binder.get("/auth/wechat/continue")
    text = await page.text()

    assert page.status == 409, text[:500]
    assert 'id="wechat-merge"' in text  # the other account has nothing else: moving WeChat here is offered
