"""Mini program login end to end: new and returning people, unionid links with the web flows, unbound apps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.wechat.harness import World
from tests.wechat.mini.conftest import Mini
from webapp.devserver import dev_settings
from webapp.keys import cipher_key
from webapp.models import SecurityEvent, User, WebSession, WeChatIdentity
from webapp.security import digest
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids


async def identity(world: World, appid: str, user: int) -> WeChatIdentity:
    async with world.sm() as s:
        row = await s.scalar(select(WeChatIdentity).where(
            WeChatIdentity.appid == appid, WeChatIdentity.openid == ids.openid_for(appid, user)))
    assert row is not None
    return row


async def test_a_new_person_gets_an_account_and_a_token_that_is_a_session(mini: Mini, world: World) -> None:
    body = await mini.login(2)
    assert set(body) == {"token", "expires_in", "user"}
    assert len(body["token"]) >= 32 and body["expires_in"] == world.settings.session_max_age_s
    user = body["user"]
    assert user["phone"] is None and user["has_password"] is False
    assert [(w["appid"], w["openid"], w["unionid"], w["kind"]) for w in user["wechat"]] == [
        (fx.MINI_APPID, ids.openid_for(fx.MINI_APPID, 2), ids.unionid_for(fx.OPEN_PLATFORM_ID, 2), "mini_program")]
    me = await mini.me(body["token"])
    assert me.status == 200 and me.body == user
    async with world.sm() as s:
        row = await s.get(WebSession, digest(body["token"]))
        assert row is not None and row.user_id == user["id"] and row.client == "WeChat mini program"
        assert await s.get(WebSession, body["token"]) is None  # stored only as its hash
        events = (await s.scalars(select(SecurityEvent.method).where(SecurityEvent.user_id == user["id"]))).all()
    assert events == ["wechat_mini"]


async def test_the_session_key_is_stored_encrypted_and_replaced_at_each_login(mini: Mini, world: World) -> None:
    first = await mini.login(1)
    keys = [world.sim.state.mini.session_keys[(fx.MINI_APPID, 1)]]
    stored = (await identity(world, fx.MINI_APPID, 1)).session_key_enc
    cipher = world.site.app[cipher_key]
    assert stored is not None and keys[0] not in stored and cipher.decrypt(stored) == keys[0]
    second = await mini.login(1)
    keys.append(world.sim.state.mini.session_keys[(fx.MINI_APPID, 1)])
    assert cipher.decrypt((await identity(world, fx.MINI_APPID, 1)).session_key_enc or "") == keys[1] != keys[0]
    assert second["user"]["id"] == first["user"]["id"] and second["token"] != first["token"]
    for answer in (first, second, (await mini.me(second["token"])).body):
        assert all(key not in str(answer) for key in keys)  # never returned


async def test_a_returning_person_lands_in_the_same_account_with_both_tokens_alive(mini: Mini) -> None:
    first, second = await mini.login(3), await mini.login(3)
    assert first["user"]["id"] == second["user"]["id"]
    assert (await mini.me(first["token"])).status == (await mini.me(second["token"])).status == 200


async def test_a_website_qr_account_is_the_mini_programs_account(mini: Mini, world: World) -> None:
    browser = world.browser()
    assert (await browser.qr_login(user=4)).status == 302
    web_me = await browser.me()
    assert web_me is not None
    body = await mini.login(4)
    assert body["user"]["id"] == web_me["id"]
    assert {w["kind"] for w in body["user"]["wechat"]} == {"website", "mini_program"}
    async with world.sm() as s:
        assert await s.scalar(select(User.id).where(User.id != web_me["id"])) is None


async def test_the_mini_programs_account_is_found_by_the_in_wechat_login_later(mini: Mini, world: World) -> None:
    body = await mini.login(5)
    browser = world.browser(wechat=True)
    assert (await browser.wechat_login(user=5)).headers["Location"] == "/auth/wechat/continue"  # snsapi_base
    authorize = await browser.start("/auth/wechat/start?scope=userinfo&next=/settings")
    assert (await browser.get(await browser.authorize_in_wechat(authorize, 5))).status == 302  # links by unionid
    me = await browser.me()
    assert me is not None and me["id"] == body["user"]["id"]
    assert {w["kind"] for w in me["wechat"]} == {"official_account", "mini_program"}


async def test_an_unbound_mini_program_gets_accounts_of_its_own(unbound_mini: Mini) -> None:
    browser = unbound_mini.world.browser()
    assert (await browser.qr_login(user=1)).status == 302
    web_me = await browser.me()
    first = await unbound_mini.login(1, fx.UNBOUND_MINI_APPID)
    assert web_me is not None and first["user"]["id"] != web_me["id"]  # no unionid: nothing links them
    assert [(w["openid"], w["unionid"]) for w in first["user"]["wechat"]] == [
        (ids.openid_for(fx.UNBOUND_MINI_APPID, 1), None)]
    again = await unbound_mini.login(1, fx.UNBOUND_MINI_APPID)
    assert again["user"]["id"] == first["user"]["id"]  # the openid alone is the identity


async def test_a_code_of_another_mini_program_is_an_invalid_code(mini: Mini) -> None:
    answer = await mini.call("/api/wechat/mini/login", {"code": await mini.login_code(1, fx.UNBOUND_MINI_APPID)})
    assert (answer.status, answer.body) == (400, {"error": "invalid_code"})


async def test_two_first_logins_racing_make_one_account(pooled_world: World) -> None:
    mini = Mini(pooled_world)
    codes = [await mini.login_code(2) for _ in range(3)]
    answers = await asyncio.gather(*(mini.call("/api/wechat/mini/login", {"code": c}) for c in codes))
    assert [a.status for a in answers] == [200, 200, 200]
    assert len({a.body["user"]["id"] for a in answers}) == 1
    async with pooled_world.sm() as s:
        assert len((await s.scalars(select(User.id))).all()) == 1


def test_webapp_dev_configures_the_simulators_bound_mini_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # dev keeps its generated secrets in ./var
    dev = dev_settings({"DATABASE_URL": "postgresql://unused/db"}, site_port=8080, sim_host="127.0.0.1", sim_port=8081)
    assert dev.wechat_mini is not None and (dev.wechat_mini.appid, dev.wechat_mini.secret) == (
        fx.MINI_APPID, fx.MINI_SECRET)
    mine = dev_settings({"DATABASE_URL": "postgresql://unused/db", "WECHAT_MINI_APPID": "wx0123456789abcdef",
                         "WECHAT_MINI_SECRET": "0" * 32}, site_port=8080, sim_host="127.0.0.1", sim_port=8081)
    assert mine.wechat_mini is not None and mine.wechat_mini.appid == "wx0123456789abcdef"
