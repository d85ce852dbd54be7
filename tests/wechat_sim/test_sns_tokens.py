"""/sns/oauth2/refresh_token, /sns/auth and /sns/userinfo: errcodes, lifetimes, profile shape."""

from __future__ import annotations

import json

import pytest

from tests.wechat_sim.conftest import Sim
from webapp.wechat_sim import fixture as fx

REFRESH = "/sns/oauth2/refresh_token"
AUTH = "/sns/auth"
USERINFO = "/sns/userinfo"
DAY = 86400


async def test_refresh_while_valid_returns_same_access_token_with_new_expiry(sim: Sim) -> None:
    token = await sim.login()
    await sim.advance(7000)
    body = await sim.refresh(token["refresh_token"])
    assert body == {"access_token": token["access_token"], "expires_in": 7200,
                    "refresh_token": token["refresh_token"], "openid": token["openid"], "scope": "snsapi_login"}
    await sim.advance(7000)
    assert (await sim.sns(AUTH, access_token=token["access_token"], openid=token["openid"]))["errcode"] == 0


async def test_refresh_after_expiry_issues_new_access_token_and_keeps_refresh_token(sim: Sim) -> None:
    token = await sim.login()
    await sim.advance(7200)
    body = await sim.refresh(token["refresh_token"])
    assert body["access_token"] != token["access_token"]
    assert body["refresh_token"] == token["refresh_token"]
    old = await sim.sns(AUTH, access_token=token["access_token"], openid=token["openid"])
    assert old["errcode"] == 42001
    assert (await sim.sns(AUTH, access_token=body["access_token"], openid=token["openid"]))["errcode"] == 0


async def test_refresh_token_lives_30_days_from_the_grant_and_is_not_extended(sim: Sim) -> None:
    token = await sim.login()
    await sim.advance(29 * DAY)
    assert "access_token" in await sim.refresh(token["refresh_token"])
    await sim.advance(DAY)
    assert (await sim.refresh(token["refresh_token"]))["errcode"] == 42002


@pytest.mark.parametrize(("params", "errcode"), [
    ({"grant_type": "refresh_token", "refresh_token": "x"}, 41002),
    ({"appid": fx.WEBSITE_APPID, "grant_type": "refresh_token"}, 41003),
    ({"appid": "wx0000000000000000", "grant_type": "refresh_token", "refresh_token": "x"}, 40013),
    ({"appid": fx.WEBSITE_APPID, "grant_type": "refresh_token", "refresh_token": "x"}, 40030),
])
async def test_refresh_parameter_errors(sim: Sim, params: dict[str, str], errcode: int) -> None:
    assert (await sim.sns(REFRESH, **params))["errcode"] == errcode


async def test_refresh_token_of_another_app_is_invalid(sim: Sim) -> None:
    token = await sim.login()
    assert (await sim.refresh(token["refresh_token"], appid=fx.MP_APPID))["errcode"] == 40030


async def test_refresh_needs_no_secret_and_has_no_unionid(sim: Sim) -> None:
    token = await sim.login()
    body = await sim.refresh(token["refresh_token"])
    assert "unionid" not in body and "errcode" not in body


async def test_revoked_authorization_kills_refresh_and_access_tokens(sim: Sim) -> None:
    token = await sim.login(user=2)
    resp = await sim.client.post("/_sim/api/tokens/revoke", json={"appid": fx.WEBSITE_APPID, "user": 2})
    assert resp.status == 200
    assert (await sim.refresh(token["refresh_token"]))["errcode"] == 40030
    assert (await sim.sns(AUTH, access_token=token["access_token"], openid=token["openid"]))["errcode"] == 40014
    assert (await sim.sns(USERINFO, access_token=token["access_token"], openid=token["openid"]))["errcode"] == 40001
    assert "access_token" in await sim.login(user=2)


async def test_new_grant_keeps_old_tokens_by_default(sim: Sim) -> None:
    first = await sim.login(user=1)
    await sim.login(user=1)
    assert "access_token" in await sim.refresh(first["refresh_token"])


async def test_optional_flag_new_grant_revokes_previous_tokens(sim: Sim) -> None:
    sim.state.fixture = fx.Fixture(sim.state.fixture.apps, sim.state.fixture.users,
                                   new_grant_revokes_previous=True)
    sim.state.reset()
    first = await sim.login(user=1)
    second = await sim.login(user=1)
    assert (await sim.refresh(first["refresh_token"]))["errcode"] == 40030
    assert "access_token" in await sim.refresh(second["refresh_token"])


@pytest.mark.parametrize("path", [AUTH, USERINFO])
async def test_missing_access_token_and_openid(sim: Sim, path: str) -> None:
    assert (await sim.sns(path, openid="o"))["errcode"] == 41001
    assert (await sim.sns(path, access_token="t"))["errcode"] == 41009


async def test_auth_semantics(sim: Sim) -> None:
    token = await sim.login()
    ok = await sim.sns(AUTH, access_token=token["access_token"], openid=token["openid"])
    assert ok == {"errcode": 0, "errmsg": "ok"}
    assert (await sim.sns(AUTH, access_token="nope", openid=token["openid"]))["errcode"] == 40014
    assert (await sim.sns(AUTH, access_token=token["access_token"], openid="oOther"))["errcode"] == 40003
    await sim.advance(7200)
    assert (await sim.sns(AUTH, access_token=token["access_token"], openid=token["openid"]))["errcode"] == 42001


async def test_userinfo_post_2021_shape_raw_utf8_and_escaped_slashes(sim: Sim) -> None:
    token = await sim.login(user=2)
    resp = await sim.client.get(USERINFO, params={"access_token": token["access_token"],
                                                  "openid": token["openid"], "lang": "zh_CN"})
    raw = await resp.read()
    assert resp.headers["Content-Type"] == "text/plain"
    assert "李娜🌸".encode() in raw and b"\\u" not in raw
    assert b"http:\\/\\/" in raw
    body = json.loads(raw)
    assert body == {"openid": token["openid"], "nickname": "李娜🌸", "sex": 0, "language": "", "city": "",
                    "province": "", "country": "", "headimgurl": body["headimgurl"], "privilege": [],
                    "unionid": token["unionid"]}
    assert body["headimgurl"].endswith("/mmopen/2/132")
    avatar = await sim.client.get(body["headimgurl"].split(str(sim.client.make_url("")).rstrip("/"))[1])
    assert avatar.status == 200 and (await avatar.read()).startswith(b"\x89PNG")


async def test_userinfo_errors(sim: Sim) -> None:
    token = await sim.login()
    assert (await sim.sns(USERINFO, access_token="nope", openid=token["openid"]))["errcode"] == 40001
    assert (await sim.sns(USERINFO, access_token=token["access_token"], openid="oX"))["errcode"] == 40003
    await sim.advance(7200)
    expired = await sim.sns(USERINFO, access_token=token["access_token"], openid=token["openid"])
    assert expired["errcode"] == 42001


async def test_base_scope_token_cannot_read_userinfo(sim: Sim) -> None:
    token = await sim.login(fx.MP_APPID, fx.MP_SECRET, scope="snsapi_base")
    body = await sim.sns(USERINFO, access_token=token["access_token"], openid=token["openid"])
    assert body["errcode"] == 48001


async def test_official_account_userinfo_has_unionid_unbound_app_has_none(sim: Sim) -> None:
    mp = await sim.login(fx.MP_APPID, fx.MP_SECRET, user=5, scope="snsapi_userinfo")
    body = await sim.sns(USERINFO, access_token=mp["access_token"], openid=mp["openid"])
    assert body["unionid"] == mp["unionid"] and body["nickname"] == "Ömer·阿里"
    unbound = await sim.login(fx.UNBOUND_APPID, fx.UNBOUND_SECRET, user=5)
    body = await sim.sns(USERINFO, access_token=unbound["access_token"], openid=unbound["openid"])
    assert "unionid" not in body


async def test_snapshot_userinfo_is_virtual(sim: Sim) -> None:
    token = await sim.login(fx.MP_APPID, fx.MP_SECRET, user=1, scope="snsapi_userinfo", snapshot=True)
    body = await sim.sns(USERINFO, access_token=token["access_token"], openid=token["openid"])
    assert body["nickname"] == "微信用户" and body["openid"] == token["openid"]
    assert body["unionid"] == token["unionid"]
