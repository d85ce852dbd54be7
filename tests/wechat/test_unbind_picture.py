"""Unbinding WeChat takes the picture copied from WeChat with it, unless the person keeps it on the unbind
confirmation; a picture the person uploaded stays."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from tests.wechat.harness import World
from tests.wechat.test_binding import PASSWORD, _bind
from webapp.avatars import store
from webapp.avatars.fetch import Fetched
from webapp.keys import database_key
from webapp.models import User, UserAvatar

WECHAT_PICTURE = "https://thirdwx.qlogo.cn/mmopen/abc/132"


async def avatar_of(world: World) -> UserAvatar | None:
    async with world.sm() as s:
        return (await s.scalars(select(UserAvatar))).first()


async def copy_wechat_picture(world: World) -> None:
    """What the worker does after a bind: copy WeChat's picture to our origin."""
    async with world.sm() as s:
        user_id = (await s.scalars(select(User.id))).one()
    image = Fetched(content=b"\x89PNG from wechat", content_type="image/png", sha256="a" * 64)
    async with world.site.app[database_key].connection() as conn:
        await conn.execute("UPDATE users SET avatar_source = $2 WHERE id = $1", user_id, WECHAT_PICTURE)
        assert await store.save(conn, user_id=user_id, source=WECHAT_PICTURE, image=image, now=world.clock())


async def test_unbinding_removes_the_picture_copied_from_wechat(world: World) -> None:
    browser = world.browser()
    await browser.signup("gus", PASSWORD)
    await _bind(browser, 1)
    await copy_wechat_picture(world)
    page = await (await browser.follow("/settings/wechat/unbind")).text()
    assert "Your picture came from WeChat, so it is removed too, unless you keep it." in page
    assert (await browser.post("/settings/wechat/unbind", {})).status == 302
    assert await avatar_of(world) is None
    async with world.sm() as s:
        assert (await s.scalars(select(User.avatar_source))).one() == ""  # nothing left to copy either


async def test_an_uploaded_picture_survives_the_unbind(world: World) -> None:
    browser = world.browser()
    await browser.signup("ida", PASSWORD)
    await _bind(browser, 2)
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 200)).save(out, format="PNG")
    token = await browser.csrf("/settings")
    resp = await browser.site.post("/settings/picture", data={"csrf_token": token, "picture": io.BytesIO(out.getvalue())},
                                   headers=browser.headers, allow_redirects=False)
    assert resp.status == 302
    assert (await browser.post("/settings/wechat/unbind", {})).status == 302
    kept = await avatar_of(world)
    assert kept is not None and kept.source_url == "upload"


async def test_keeping_the_wechat_picture_on_the_unbind_page_makes_it_stay(world: World) -> None:
    browser = world.browser()
    await browser.signup("jonas", PASSWORD)
    await _bind(browser, 3)
    await copy_wechat_picture(world)
    resp = await browser.post("/settings/picture/keep", {}, csrf_from="/settings/wechat/unbind")
    assert (resp.status, resp.headers["Location"]) == (302, "/settings/wechat/unbind")
    page = await (await browser.follow("/settings/wechat/unbind")).text()
    assert "Your WeChat picture is now your own" in page and 'id="keep-picture"' not in page
    assert (await browser.post("/settings/wechat/unbind", {})).status == 302
    kept = await avatar_of(world)
    assert kept is not None and kept.content == b"\x89PNG from wechat" and kept.source_url == "upload"
