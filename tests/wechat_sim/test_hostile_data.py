"""Hostile but parseable data: edited profiles with any string, merged answer fields, lone surrogates on the wire."""

from __future__ import annotations

import json
from typing import Any

import pytest
from yarl import URL

from tests.wechat_sim.conftest import Sim, cgi, control, mp_token, new_param_qr
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids

TOKEN = "/sns/oauth2/access_token"
USERINFO = "/sns/userinfo"
HOSTILE = ["\u0000", "\ud800", "a\u200b\u200d\u202eb\u2066c", "字" * 10_000, "<script>alert(1)</script>",
           "\ude00\ud83d reversed pair", ""]


async def patch(sim: Sim, user: int, body: Any) -> tuple[int, Any]:
    """PATCH a test user's profile."""
    resp = await sim.client.patch(f"/_sim/api/users/{user}", data=json.dumps(body),
                                  headers={"Content-Type": "application/json"})
    return resp.status, await resp.json()


async def raw_userinfo(sim: Sim, token: dict[str, Any]) -> bytes:
    """The /sns/userinfo body as bytes."""
    resp = await sim.client.get(USERINFO, params={"access_token": token["access_token"], "openid": token["openid"]})
    return await resp.read()


@pytest.mark.parametrize("nickname", HOSTILE)
async def test_any_nickname_comes_back_exactly_from_userinfo(sim: Sim, nickname: str) -> None:
    status, user = await patch(sim, 1, {"nickname": nickname, "headimgurl": nickname})
    assert status == 200 and user["nickname"] == nickname
    raw = await raw_userinfo(sim, await sim.login(user=1))
    body = json.loads(raw)
    assert body["nickname"] == nickname and body["headimgurl"] == nickname


async def test_lone_surrogates_go_out_as_json_escapes_and_the_rest_as_raw_utf8(sim: Sim) -> None:
    await patch(sim, 1, {"nickname": "张\ud800伟"})
    raw = await raw_userinfo(sim, await sim.login(user=1))
    assert '"nickname":"张\\ud800伟"'.encode() in raw
    raw.decode("utf-8")  # still valid UTF-8
    normal = await raw_userinfo(sim, await sim.login(user=2))
    assert "李娜🌸".encode() in normal


async def test_pages_show_hostile_profiles_without_failing(sim: Sim) -> None:
    await patch(sim, 1, {"nickname": "坏\ud800名\u0000<b>", "headimgurl": "javascript:alert(1)"})
    uuid = await sim.new_qr()
    qr = await new_param_qr(sim)
    pages = [f"/connect/confirm?uuid={uuid}", URL(qr["url"]).path, "/"]
    for path in pages:
        resp = await sim.client.get(path)
        html = await resp.text()
        assert resp.status == 200 and "坏\ufffd名" in html and "<b>" not in html, path
    await sim.client.get("/_sim/wechat-browser", params={"user": "1", "next": "/"})
    consent = await sim.client.get("/connect/oauth2/authorize", params={
        "appid": fx.MP_APPID, "redirect_uri": "http://localhost/cb", "response_type": "code",
        "scope": "snsapi_userinfo", "state": "s"})
    assert consent.status == 200 and "坏\ufffd名" in await consent.text()


@pytest.mark.parametrize(("user", "body", "status"), [
    (99, {"nickname": "x"}, 404), (1, {"nickname": 5}, 400), (1, {"sex": 1}, 400), (1, ["x"], 400),
])
async def test_patch_errors(sim: Sim, user: int, body: Any, status: int) -> None:
    assert (await patch(sim, user, body))[0] == status


async def test_reset_restores_the_fixture_profile(sim: Sim) -> None:
    await patch(sim, 2, {"nickname": "x", "headimgurl": ""})
    await control(sim, "POST", "reset")
    users = (await control(sim, "GET", "users"))[1]
    assert users[1]["nickname"] == "李娜🌸" and users[1]["headimgurl"].endswith("/mmopen/2/132")


async def fault(sim: Sim, **spec: Any) -> tuple[int, Any]:
    """Register a fault."""
    return await control(sim, "POST", "faults", spec)


async def test_fields_merge_into_the_next_successful_code_exchange(sim: Sim) -> None:
    fields = {"openid": "x" * 65, "expires_in": 10**12, "unionid": "\ud800", "scope": "snsapi_login,evil",
              "refresh_token": None}
    assert (await fault(sim, path=TOKEN, fields=fields, times=1))[0] == 200
    assert (await sim.exchange("bad-code"))["errcode"] == 40029  # an error answer does not use the fault
    body = await sim.login(user=1)
    assert {k: body.get(k) for k in fields} == fields
    assert "refresh_token" not in body and body["access_token"]
    assert "openid" in await sim.login(user=1) and (await sim.login(user=1))["openid"] != "x" * 65
    calls = (await control(sim, "GET", "calls"))[1]
    assert [c["fault"] is not None for c in calls if c["path"] == TOKEN] == [False, True, False, False]


async def test_fields_work_on_cgi_bin_and_by_prefix(sim: Sim) -> None:
    await fault(sim, path="/cgi-bin/token", fields={"expires_in": -5})
    body = await cgi(sim, "GET", "token", {"grant_type": "client_credential", "appid": fx.MP_APPID,
                                           "secret": fx.MP_SECRET})
    assert body["expires_in"] == -5
    await fault(sim, path="/cgi-bin/", fields={"subscribe": "yes", "unionid": None}, times=1)
    token = await mp_token(sim)  # the prefix fault lands on this token call
    assert (await cgi(sim, "GET", "token", {"grant_type": "client_credential", "appid": fx.MP_APPID,
                                            "secret": fx.MP_SECRET}))["expires_in"] == 7200
    info = await cgi(sim, "GET", "user/info", {"access_token": token, "openid": ids.openid_for(fx.MP_APPID, 1)})
    assert info["subscribe"] == 0


async def test_fields_on_userinfo_and_pending_list(sim: Sim) -> None:
    token = await sim.login(user=1)
    await fault(sim, path=USERINFO, fields={"nickname": "\u202e\ud800", "privilege": None, "sex": 3}, times=2)
    assert (await control(sim, "GET", "faults"))[1][0]["fields"]["sex"] == 3
    for _ in range(2):
        body = json.loads(await raw_userinfo(sim, token))
        assert (body["nickname"], body["sex"], "privilege" in body) == ("\u202e\ud800", 3, False)
    assert json.loads(await raw_userinfo(sim, token))["sex"] == 0


@pytest.mark.parametrize("spec", [
    {"path": TOKEN, "fields": {"a": 1}, "errcode": -1}, {"fields": ["openid"]}, {"fields": {"a": 1}, "drop": True},
    {"path": 5}, {"body": 5}, {"colour": "red"}, {"errcode": "x"}, {"delay_s": -1}, {"http_status": 99},
])
async def test_bad_fault_specs_are_400(sim: Sim, spec: dict[str, Any]) -> None:
    status, body = await fault(sim, **spec)
    assert status == 400 and body["error"]


async def test_errmsg_and_body_faults_with_surrogates_never_crash(sim: Sim) -> None:
    await fault(sim, path=TOKEN, errcode=-1, errmsg="busy \ud800")
    body = await sim.sns(TOKEN)
    assert body["errmsg"].startswith("busy \ud800, rid: ")
    await fault(sim, path=TOKEN, body='{"openid": "\ud800"}')
    resp = await sim.client.get(TOKEN)
    assert resp.status == 200 and await resp.read() == b'{"openid": "\xed\xa0\x80"}'


async def test_broken_inputs_get_clear_answers(sim: Sim) -> None:
    form = await sim.client.post("/sns/auth", data=b"openid=%ff&x=\xff",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 200 and (await form.json(content_type=None))["errcode"] == 41001
    query = await sim.client.get("/sns/auth?openid=%ff%ed%a0%80&access_token=x")
    assert (await query.json(content_type=None))["errcode"] == 40014
    for path in ("/q/%ff", "/connect/confirm?uuid=%ff"):
        assert (await sim.client.get(path)).status == 200
    assert (await sim.client.get("/cgi-bin/showqrcode?ticket=%ff")).status == 404
    for advance in (1e400, -1, True, 1e12):
        resp = await sim.client.post("/_sim/api/clock", data=json.dumps({"advance_s": advance}),
                                     headers={"Content-Type": "application/json"})
        assert resp.status == 400
    assert (await fault(sim, path=TOKEN, delay_s=1e9))[0] == 400
    for expire in ("1e400", "NaN"):
        resp = await sim.client.post("/cgi-bin/qrcode/create", params={"access_token": await mp_token(sim)},
                                     data=f'{{"action_name": "QR_SCENE", "expire_seconds": {expire}}}')
        assert (await resp.json(content_type=None))["errcode"] == 47001


async def test_a_clock_far_in_the_future_still_makes_tickets(sim: Sim) -> None:
    await sim.advance(100 * 365 * 86400)
    assert "ticket" in await new_param_qr(sim)
