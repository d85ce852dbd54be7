"""WeChat login end to end against the simulator: QR redirect, in-WeChat silent login, unionid step-up."""

from __future__ import annotations

from sqlalchemy import select

from tests.wechat.harness import World, count, local_path, query_of
from webapp.models import User, WeChatIdentity, WeChatUnion
from webapp.wechat.service import PROFILE_MAX_AGE
from webapp.wechat_sim import fixture as sim_fixture


async def test_start_on_desktop_goes_to_the_qr_page_with_the_website_app(world: World) -> None:
    browser = world.browser()
    location = await browser.start("/auth/wechat/start?next=/settings")
    assert location.startswith(f"{world.sim.url}/connect/qrconnect?")
    query = query_of(location)
    assert query["appid"] == sim_fixture.WEBSITE_APPID
    assert query["scope"] == "snsapi_login"
    assert query["redirect_uri"] == "http://localhost:8080/auth/wechat/callback"
    assert location.endswith("#wechat_redirect")
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fwechat%2Fcallback&" in location  # encoded on the wire


async def test_start_inside_wechat_uses_the_official_account_silently_in_wechats_order(world: World) -> None:
    location = await world.browser(wechat=True).start("/auth/wechat/start")
    head = location.split("?", 1)[1].split("#")[0]
    names = [pair.split("=")[0] for pair in head.split("&")]
    assert names == ["appid", "redirect_uri", "response_type", "scope", "state", "connect_redirect"]
    assert query_of(location)["scope"] == "snsapi_base"
    assert query_of(location)["appid"] == sim_fixture.MP_APPID
    assert location.endswith("#wechat_redirect")


async def test_first_qr_login_creates_an_account_from_the_profile(world: World) -> None:
    browser = world.browser()
    resp = await browser.qr_login(user=2)
    assert resp.status == 302
    assert resp.headers["Location"] == "/auth/wechat/continue"
    page = await browser.follow(resp.headers["Location"])
    text = await page.text()
    assert page.status == 200
    assert "set a password" in text and "I already have an account" in text
    me = await browser.me()
    sim_user = await world.sim.user(2)
    assert me is not None and me["has_password"] is False and me["username"] is None
    assert me["display_name"] == sim_user["nickname"]
    [identity] = me["wechat"]
    assert identity["appid"] == sim_fixture.WEBSITE_APPID
    assert identity["openid"] == sim_user["openids"][sim_fixture.WEBSITE_APPID]
    assert identity["unionid"] == sim_user["unionid"]
    assert identity["status"] == "active"
    assert identity["access_expires_at"] == "2026-11-20T14:00:00Z"  # 7200 s after the sim's frozen T0
    assert identity["refresh_expires_at"] == "2026-12-20T12:00:00Z"


async def test_second_qr_login_finds_the_same_account_and_follows_next(world: World) -> None:
    first = world.browser()
    await first.qr_login(user=1)
    first_id = (await first.me())["id"]  # type: ignore[index]
    second = world.browser()
    resp = await second.qr_login(user=1, next_path="/settings")
    assert resp.status == 302 and resp.headers["Location"] == "/settings"
    assert (await second.me())["id"] == first_id  # type: ignore[index]
    assert await count(world.sm, User) == 1


async def test_callback_redirects_to_a_clean_url(world: World) -> None:
    resp = await world.browser().qr_login(user=1, next_path="/settings")
    location = resp.headers["Location"]
    assert "code=" not in location and "state=" not in location


async def test_unknown_official_account_user_steps_up_once_and_is_linked_by_unionid(world: World) -> None:
    pc = world.browser()
    await pc.qr_login(user=3)
    pc_id = (await pc.me())["id"]  # type: ignore[index]

    phone = world.browser(wechat=True)
    resp = await phone.wechat_login(user=3)
    assert resp.headers["Location"] == "/auth/wechat/continue"
    page = await phone.follow("/auth/wechat/continue")
    assert "Continue with WeChat" in await page.text()
    assert await phone.me() is None
    assert await count(world.sm, WeChatIdentity) == 1  # nothing stored for the unknown openid

    authorize = await phone.start("/auth/wechat/start?scope=userinfo&next=/settings")
    assert query_of(authorize)["scope"] == "snsapi_userinfo"
    resp = await phone.get(await phone.authorize_in_wechat(authorize, 3))
    assert resp.headers["Location"] == "/settings"
    me = await phone.me()
    assert me is not None and me["id"] == pc_id
    assert {i["appid"] for i in me["wechat"]} == {sim_fixture.WEBSITE_APPID, sim_fixture.MP_APPID}

    later = world.browser(wechat=True)  # from now on: silent
    resp = await later.wechat_login(user=3, next_path="/")
    assert resp.headers["Location"] == "/"
    assert (await later.me())["id"] == pc_id  # type: ignore[index]
    assert await count(world.sm, User) == 1


async def test_official_account_first_then_pc_is_one_person(world: World) -> None:
    phone = world.browser(wechat=True)
    await phone.wechat_login(user=4)
    authorize = await phone.start("/auth/wechat/start?scope=userinfo")
    await phone.get(await phone.authorize_in_wechat(authorize, 4))
    phone_id = (await phone.me())["id"]  # type: ignore[index]
    pc = world.browser()
    await pc.qr_login(user=4)
    assert (await pc.me())["id"] == phone_id  # type: ignore[index]
    async with world.sm() as s:
        unions = (await s.scalars(select(WeChatUnion))).all()
    assert [u.user_id for u in unions] == [phone_id]


async def test_snapshot_user_is_never_stored(world: World) -> None:
    phone = world.browser(wechat=True)
    authorize = await phone.start("/auth/wechat/start?scope=userinfo")
    resp = await phone.get(await phone.authorize_in_wechat(authorize, 2, snapshot=True))
    page = await phone.follow(resp.headers["Location"])
    assert "使用完整服务" in await page.text()
    assert await phone.me() is None
    assert await count(world.sm, User) == 0
    assert await count(world.sm, WeChatIdentity) == 0


async def test_denied_authorization_shows_a_way_to_try_again(world: World) -> None:
    phone = world.browser(wechat=True)
    authorize = await phone.start("/auth/wechat/start?scope=userinfo&next=/settings")
    callback = await phone.authorize_in_wechat(authorize, 1, decision="deny")
    assert "code=" not in callback
    page = await phone.follow(callback)
    text = await page.text()
    assert "cancelled" in text
    assert "/auth/wechat/start?next=/settings" in text.replace("%2F", "/")
    assert await count(world.sm, User) == 0


async def test_unconfigured_app_hides_its_flow(aiohttp_client, settings, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    from webapp.app import create_app

    client = await aiohttp_client(create_app(settings, sessionmaker=sessionmaker, clock=clock))
    resp = await client.get("/auth/wechat/start", allow_redirects=False)
    assert resp.status == 404
    login = await (await client.get("/login")).text()
    assert "/auth/wechat/start" not in login


async def test_login_page_embeds_the_qr_with_wxlogin_js(world: World) -> None:
    page = await (await world.browser().get("/login?next=/settings")).text()
    assert 'id="wechat-qr"' in page
    assert f'data-js-url="{world.settings.wechat_js_url}"' in page
    assert 'data-appid="' + sim_fixture.WEBSITE_APPID in page
    assert "/auth/wechat/start?next=/settings" in page  # the fallback link


async def test_callback_path_and_query_follow_the_fragment_rule(world: World) -> None:
    phone = world.browser(wechat=True)
    authorize = await phone.start("/auth/wechat/start")
    callback = await phone.authorize_in_wechat(authorize, 1)
    assert callback.startswith("/auth/wechat/callback?code=")
    assert local_path("http://x/auth/wechat/callback?code=1&state=2") == "/auth/wechat/callback?code=1&state=2"


async def test_a_returning_login_reads_the_profile_again_only_once_the_stored_one_is_a_day_old(world: World) -> None:
    async def stored_nickname() -> str:
        async with world.sm() as s:
            return str(await s.scalar(select(WeChatIdentity.nickname)))

    await world.browser().qr_login(user=1)
    first = await stored_nickname()
    await world.sim.control("PATCH", "users/1", {"nickname": "改过的名字"})

    world.clock.advance(seconds=PROFILE_MAX_AGE.total_seconds() - 1)
    await world.browser().qr_login(user=1)
    assert await stored_nickname() == first  # fresh enough: not asked for again

    world.clock.advance(seconds=1)  # exactly a day old: stale
    await world.browser().qr_login(user=1)
    assert await stored_nickname() == "改过的名字"
    assert await count(world.sm, User) == 1
