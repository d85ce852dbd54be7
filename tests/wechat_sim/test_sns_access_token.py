"""/sns/oauth2/access_token: transport format, errcodes, code lifetimes, unionid rules."""

from __future__ import annotations

import json

import pytest

from tests.wechat_sim.conftest import Sim
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids

TOKEN = "/sns/oauth2/access_token"


async def test_success_is_text_plain_raw_utf8_json_without_token_type(sim: Sim) -> None:
    code = await sim.issue_code(user=2)
    resp = await sim.client.get(TOKEN, params={"appid": fx.WEBSITE_APPID, "secret": fx.WEBSITE_SECRET,
                                               "code": code, "grant_type": "authorization_code"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain"
    body = json.loads(await resp.read())
    assert set(body) == {"access_token", "expires_in", "refresh_token", "openid", "scope", "unionid"}
    assert body["expires_in"] == 7200 and body["scope"] == "snsapi_login"
    assert body["openid"] == ids.openid_for(fx.WEBSITE_APPID, 2)
    assert body["unionid"] == ids.unionid_for(fx.OPEN_PLATFORM_ID, 2)


async def test_post_form_is_accepted(sim: Sim) -> None:
    code = await sim.issue_code()
    resp = await sim.client.post(TOKEN, data={"appid": fx.WEBSITE_APPID, "secret": fx.WEBSITE_SECRET,
                                              "code": code, "grant_type": "authorization_code"})
    assert "access_token" in json.loads(await resp.read())


async def test_errors_carry_rid_suffix(sim: Sim) -> None:
    resp = await sim.client.get(TOKEN, params={"appid": fx.WEBSITE_APPID})
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/plain"
    body = json.loads(await resp.read())
    assert body["errcode"] == 41004
    assert body["errmsg"].startswith("appsecret missing, rid: ")
    assert len(body["errmsg"].split("rid: ")[1].split("-")) == 3


@pytest.mark.parametrize(("params", "errcode"), [
    ({"secret": fx.WEBSITE_SECRET, "code": "x", "grant_type": "authorization_code"}, 41002),
    ({"appid": fx.WEBSITE_APPID, "code": "x", "grant_type": "authorization_code"}, 41004),
    ({"appid": fx.WEBSITE_APPID, "secret": fx.WEBSITE_SECRET, "grant_type": "authorization_code"}, 41008),
    ({"appid": "wx0000000000000000", "secret": fx.WEBSITE_SECRET, "code": "x",
      "grant_type": "authorization_code"}, 40013),
    ({"appid": fx.WEBSITE_APPID, "secret": "0" * 32, "code": "x", "grant_type": "authorization_code"}, 40125),
    ({"appid": fx.WEBSITE_APPID, "secret": fx.WEBSITE_SECRET, "code": "nope",
      "grant_type": "authorization_code"}, 40029),
])
async def test_parameter_errors(sim: Sim, params: dict[str, str], errcode: int) -> None:
    assert (await sim.sns(TOKEN, **params))["errcode"] == errcode


async def test_code_is_single_use(sim: Sim) -> None:
    code = await sim.issue_code()
    assert "access_token" in await sim.exchange(code)
    assert (await sim.exchange(code))["errcode"] == 40163


async def test_code_of_another_app_is_invalid(sim: Sim) -> None:
    code = await sim.issue_code(fx.MP_APPID, scope="snsapi_base")
    assert (await sim.exchange(code))["errcode"] == 40029


@pytest.mark.parametrize(("appid", "secret", "scope", "ttl"), [
    (fx.WEBSITE_APPID, fx.WEBSITE_SECRET, "snsapi_login", 600),
    (fx.MP_APPID, fx.MP_SECRET, "snsapi_base", 300),
])
async def test_code_lifetime_per_app_kind(sim: Sim, appid: str, secret: str, scope: str, ttl: int) -> None:
    fresh, stale = [await sim.issue_code(appid, scope=scope) for _ in range(2)]
    await sim.advance(ttl - 1)
    assert "access_token" in await sim.exchange(fresh, appid, secret)
    await sim.advance(1)
    assert (await sim.exchange(stale, appid, secret))["errcode"] == 40029


@pytest.mark.parametrize(("appid", "secret", "scope", "has_unionid"), [
    (fx.WEBSITE_APPID, fx.WEBSITE_SECRET, "snsapi_login", True),
    (fx.MP_APPID, fx.MP_SECRET, "snsapi_userinfo", True),
    (fx.MP_APPID, fx.MP_SECRET, "snsapi_base", False),
    (fx.UNBOUND_APPID, fx.UNBOUND_SECRET, "snsapi_login", False),
])
async def test_unionid_rules(sim: Sim, appid: str, secret: str, scope: str, has_unionid: bool) -> None:
    body = await sim.login(appid, secret, user=3, scope=scope)
    assert ("unionid" in body) is has_unionid
    if has_unionid:
        assert body["unionid"] == ids.unionid_for(fx.OPEN_PLATFORM_ID, 3)


async def test_website_and_official_account_share_unionid_not_openid(sim: Sim) -> None:
    web = await sim.login(user=4)
    mp = await sim.login(fx.MP_APPID, fx.MP_SECRET, user=4, scope="snsapi_userinfo")
    assert web["unionid"] == mp["unionid"]
    assert web["openid"] != mp["openid"]


async def test_snapshot_code_gives_virtual_ids(sim: Sim) -> None:
    body = await sim.login(fx.MP_APPID, fx.MP_SECRET, user=1, scope="snsapi_userinfo", snapshot=True)
    assert body["is_snapshotuser"] == 1
    assert body["openid"] != ids.openid_for(fx.MP_APPID, 1)
    assert body["unionid"] != ids.unionid_for(fx.OPEN_PLATFORM_ID, 1)
    assert len(body["openid"]) == 28 and body["openid"].startswith("o")


async def test_real_grant_has_no_snapshot_flag(sim: Sim) -> None:
    body = await sim.login(fx.MP_APPID, fx.MP_SECRET, scope="snsapi_userinfo")
    assert "is_snapshotuser" not in body


async def test_wrong_grant_type_is_refused(sim: Sim) -> None:
    code = await sim.issue_code()
    body = await sim.sns(TOKEN, appid=fx.WEBSITE_APPID, secret=fx.WEBSITE_SECRET, code=code, grant_type="x")
    assert body["errcode"] == 40002
