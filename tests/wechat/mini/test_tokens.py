"""Bearer tokens are sessions: accepted on /api/*, no cookie, no CSRF, listed, and ended every way a session ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.wechat.harness import Browser, World
from tests.wechat.mini.conftest import Mini
from webapp.admin import users as admin
from webapp.wechat.mp import identities
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids


async def assert_ended(mini: Mini, token: str) -> None:
    answer = await mini.me(token)
    assert answer.status == 401 and answer.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert answer.body == {"error": "invalid_token"}


async def same_account_browser(world: World, user: int) -> Browser:
    """The same person on the website (QR login, linked by unionid): a cookie session of the token's account."""
    browser = world.browser()
    assert (await browser.qr_login(user=user)).status == 302
    return browser


async def test_missing_or_malformed_tokens_get_a_bearer_challenge(mini: Mini) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"},
                    {"Authorization": "Bearer " + "x" * 20}, {"Authorization": "Bearer " + "é" * 40}):
        answer = await mini.call("/api/me", method="GET", headers=headers)
        assert answer.status == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer"), headers
    for path in ("/api/logout", "/api/wechat/mini/phone"):
        answer = await mini.call(path, {"code": "x"})
        assert (answer.status, answer.headers["WWW-Authenticate"]) == (401, "Bearer"), path
    await assert_ended(mini, "A" * 43)


async def test_a_token_is_never_a_cookie_and_a_cookie_is_never_a_token(mini: Mini, world: World) -> None:
    token = (await mini.login(1))["token"]
    browser = await same_account_browser(world, 1)
    cookie = next(c.value for c in browser.site.session.cookie_jar if c.key == "webapp_session")
    cookie_me = await mini.site.get("/api/me", headers={"Cookie": f"webapp_session={token}"})
    assert cookie_me.status == 401
    assert (await browser.me()) is not None
    await assert_ended(mini, cookie)


async def test_a_bearer_request_ignores_cookies_and_sets_none(mini: Mini, world: World) -> None:
    token = (await mini.login(2))["token"]
    browser = await same_account_browser(world, 1)  # another account's cookie in the jar
    resp = await browser.site.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200 and (await resp.json())["wechat"][0]["openid"] == ids.openid_for(fx.MINI_APPID, 2)
    assert "Set-Cookie" not in resp.headers


async def test_csrf_is_skipped_only_for_bearer_authenticated_json_api_posts(mini: Mini, world: World) -> None:
    token = (await mini.login(1))["token"]
    form = await mini.site.post("/api/logout", data={"x": "1"}, headers={"Authorization": f"Bearer {token}"})
    assert form.status == 403  # a bearer form post is still a form
    settings_post = await mini.site.post("/settings/profile", json={"display_name": "x"},
                                          headers={"Authorization": f"Bearer {token}"})
    assert settings_post.status == 403  # outside /api/ a bearer token is nothing
    assert (await mini.me(token)).status == 200
    assert (await mini.call("/api/logout", {}, token=token)).status == 204


async def test_logout_ends_only_that_token(mini: Mini) -> None:
    first, second = (await mini.login(3))["token"], (await mini.login(3))["token"]
    answer = await mini.call("/api/logout", {}, token=first)
    assert answer.status == 204 and answer.body is None
    await assert_ended(mini, first)
    assert (await mini.me(second)).status == 200
    assert (await mini.call("/api/logout", {}, token=first)).status == 401


async def test_the_sessions_list_names_it_and_log_out_everywhere_else_ends_it(mini: Mini, world: World) -> None:
    token = (await mini.login(1))["token"]
    browser = await same_account_browser(world, 1)
    zh = browser.headers | {"Accept-Language": "zh-CN"}
    page = await (await browser.site.get("/settings", headers=zh, allow_redirects=False)).text()
    assert "微信小程序" in page
    page = await (await browser.get("/settings")).text()
    assert "WeChat mini program" in page
    assert (await browser.post("/settings/sessions/logout-others", {})).status == 302
    await assert_ended(mini, token)
    assert await browser.me() is not None


async def test_ending_it_from_the_sessions_list(mini: Mini, world: World) -> None:
    token = (await mini.login(1))["token"]
    browser = await same_account_browser(world, 1)
    page = await (await browser.get("/settings")).text()
    handle = page.split("WeChat mini program")[1].split('name="session" value="')[1].split('"')[0]
    assert (await browser.post("/settings/sessions/end", {"session": handle})).status == 302
    await assert_ended(mini, token)


async def test_a_password_change_ends_it(mini: Mini, world: World) -> None:
    token = (await mini.login(4))["token"]
    browser = await same_account_browser(world, 4)
    resp = await browser.post("/settings/password", {"username": "panda", "password": "correct horse battery",
                                                     "confirm": "correct horse battery"})
    assert resp.status == 302
    await assert_ended(mini, token)


async def test_an_administrators_logout_and_disable_end_it(mini: Mini, world: World) -> None:
    body = await mini.login(2)
    await admin.logout_user(world.sm, str(body["user"]["id"]), now=world.clock())
    await assert_ended(mini, body["token"])
    token = (await mini.login(2))["token"]
    await admin.disable_user(world.sm, str(body["user"]["id"]), now=world.clock())
    await assert_ended(mini, token)
    refused = await mini.call("/api/wechat/mini/login", {"code": await mini.login_code(2)})
    assert (refused.status, refused.body) == (403, {"error": "account_disabled"})


async def test_deleting_the_account_ends_it(mini: Mini, world: World) -> None:
    token = (await mini.login(5))["token"]
    browser = await same_account_browser(world, 5)
    resp = await browser.post("/settings/account/delete", {"confirmation": "delete my account"},
                              csrf_from="/settings/account/delete")
    assert resp.status == 302
    await assert_ended(mini, token)


@pytest.mark.parametrize("how", ["revoked", "unbound"])
async def test_losing_the_identity_ends_it(mini: Mini, world: World, how: str) -> None:
    body = await mini.login(3)
    if how == "revoked":
        async with world.sm.begin() as s:
            await identities.revoke(s, appid=fx.MINI_APPID, openid=ids.openid_for(fx.MINI_APPID, 3), now=world.clock())
    else:
        browser = await same_account_browser(world, 3)
        await browser.post("/settings/password", {"username": "xiaoming", "password": "correct horse battery",
                                                  "confirm": "correct horse battery"})
        await admin.unbind_user(world.sm, str(body["user"]["id"]), now=world.clock())
    await assert_ended(mini, body["token"])


async def test_it_expires(mini: Mini, world: World) -> None:
    body = await mini.login(1)
    world.clock.advance(seconds=body["expires_in"] - 1)
    assert (await mini.me(body["token"])).status == 200
    world.clock.advance(seconds=1)
    await assert_ended(mini, body["token"])


async def test_use_is_seen_coarsely_in_the_sessions_list(mini: Mini, world: World) -> None:
    from webapp.models import WebSession
    from webapp.security import digest

    token = (await mini.login(1))["token"]
    world.clock.advance(minutes=10)
    assert (await mini.me(token)).status == 200
    async with world.sm() as s:
        row = await s.get(WebSession, digest(token))
    assert row is not None and row.last_seen_at == world.clock() and row.created_at == world.clock() - timedelta(minutes=10)
