"""Avatars copied to our own origin: the worker fetches WeChat's picture once it arrives or changes, the site
serves it with long caching, /api/me's `avatar` points at it while identities keep WeChat's URL."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from tests.wechat.harness import Browser, World
from webapp.avatars.copier import copy_due_avatars
from webapp.avatars.fetch import AvatarFetcher
from webapp.keys import cipher_key, database_key
from webapp.models import User, UserAvatar
from webapp.wechat.refresher import configured_apps
from webapp.wechat.worker import maintenance_pass
from webapp.wechat_sim.avatar import avatar_png

AVATAR_URL = re.compile(r"^http://localhost:8080/avatars/(\d+)/([0-9a-f]{16})$")


def fetcher(world: World) -> AvatarFetcher:
    return AvatarFetcher(world.sim.http, api_base=world.settings.wechat_api_base)


async def copy(world: World) -> None:
    await copy_due_avatars(world.site.app[database_key], fetcher(world), clock=world.clock)


async def logged_in(world: World, user: int = 1) -> Browser:
    browser = world.browser()
    await browser.qr_login(user=user)
    return browser


async def test_a_first_login_queues_the_picture_and_the_worker_pass_copies_it(world: World) -> None:
    browser = await logged_in(world, 1)
    me = await browser.me()
    assert me is not None and me["avatar"] is None  # not copied yet: null, never WeChat's URL
    settings_page = await (await browser.get("/settings")).text()
    assert 'data-avatar="default"' in settings_page and "appear here shortly" in settings_page
    app = world.site.app

    await maintenance_pass(app[database_key], None, app[cipher_key], configured_apps(world.settings),  # type: ignore[arg-type]
                           clock=world.clock, avatars=fetcher(world))

    me = await browser.me()
    assert me is not None
    match = AVATAR_URL.match(me["avatar"])
    assert match and int(match.group(1)) == me["id"]
    assert me["wechat"][0]["avatar_url"] == f"{world.sim.url}/mmopen/1/132"  # the identity keeps WeChat's URL
    served = await browser.get(me["avatar"].removeprefix("http://localhost:8080"))
    assert served.status == 200 and served.content_type == "image/png"
    assert await served.read() == avatar_png(1, 132)
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    settings_page = await (await browser.get("/settings")).text()
    assert f'<img class="avatar" src="{me["avatar"].removeprefix("http://localhost:8080")}"' in settings_page
    assert world.sim.url not in settings_page.split("<main", 1)[1]  # no picture is loaded from WeChat
    async with world.sm() as s:
        user = await s.get(User, me["id"])
    assert user is not None and (user.avatar_fetch_due_at, user.avatar_fetch_failures) == (None, 0)


async def test_the_served_avatar_answers_a_revalidation_and_only_its_own_hash(world: World) -> None:
    browser = await logged_in(world, 2)
    await copy(world)
    path = (await browser.me())["avatar"].removeprefix("http://localhost:8080")  # type: ignore[index]
    etag = (await browser.get(path)).headers["ETag"]
    assert (await world.site.get(path, headers={"If-None-Match": etag})).status == 304
    user_id = path.split("/")[2]
    for other in (f"/avatars/{user_id}/0000000000000000", f"/avatars/999/{path[-16:]}", "/avatars/1/xyz",
                  f"/avatars/{user_id}/{path[-16:].upper()}"):
        assert (await browser.get(other)).status == 404, other


async def test_a_new_picture_is_copied_again_and_the_old_url_stops_serving(world: World) -> None:
    browser = await logged_in(world, 3)
    await copy(world)
    old = (await browser.me())["avatar"]  # type: ignore[index]
    await world.sim.control("PATCH", "users/3", {"headimgurl": f"{world.sim.url}/mmopen/4/0"})
    world.clock.advance(hours=25)  # the stored profile is a day old: the next login reads it again
    await world.browser().qr_login(user=3)
    await copy(world)
    new = (await browser.me())["avatar"]  # type: ignore[index]
    assert new != old
    assert await (await browser.get(new.removeprefix("http://localhost:8080"))).read() == avatar_png(4, 132)  # /0 → /132
    assert (await browser.get(old.removeprefix("http://localhost:8080"))).status == 404


async def test_a_failing_source_backs_off_then_gives_up(world: World) -> None:
    browser = await logged_in(world, 5)
    user_id = (await browser.me())["id"]  # type: ignore[index]
    await world.sim.control("PATCH", "users/5", {"headimgurl": "x"})  # keep the sim from changing it under us
    async with world.sm.begin() as s:  # a source that answers 503 (the simulator's fault injection)
        await s.execute(update(User).where(User.id == user_id).values(avatar_source=f"{world.sim.url}/mmopen/5/132"))
    waits = []
    for _attempt in range(3):
        await world.sim.fault("/mmopen/5/132", http_status=503, times=1)
        await copy(world)
        async with world.sm() as s:
            user = await s.get(User, user_id)
        assert user is not None and user.avatar_fetch_due_at is not None
        waits.append((user.avatar_fetch_due_at - world.clock()).total_seconds())
        world.clock.advance(seconds=waits[-1])
    assert waits == [60, 120, 240]
    assert user.avatar_fetch_failures == 3
    await copy(world)  # the source answers again
    async with world.sm() as s:
        assert await s.get(UserAvatar, user_id) is not None
        user = await s.get(User, user_id)
    assert user is not None and (user.avatar_fetch_due_at, user.avatar_fetch_failures) == (None, 0)


async def test_a_source_off_wechats_image_hosts_is_never_fetched(world: World) -> None:
    browser = await logged_in(world, 1)
    user_id = (await browser.me())["id"]  # type: ignore[index]
    async with world.sm.begin() as s:
        await s.execute(update(User).where(User.id == user_id).values(avatar_source="http://169.254.169.254/latest"))
    report = await copy_due_avatars(world.site.app[database_key], fetcher(world), clock=world.clock)
    assert (report.copied, report.gave_up) == (0, 1)
    async with world.sm() as s:
        user = await s.get(User, user_id)
        assert await s.scalar(select(UserAvatar).where(UserAvatar.user_id == user_id)) is None
    assert user is not None and user.avatar_fetch_due_at is None  # given up until WeChat brings a new picture


async def test_pages_load_images_only_from_our_origin(world: World) -> None:
    csp = (await world.browser().get("/login")).headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in csp + ";" and "qlogo" not in csp
