"""The mini program's side of the simulator: jscode2session, getuserphonenumber, its stable_token, codes, faults, log."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from wechatpy import WeChatClient

from tests.wechat_sim.conftest import Sim, control
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids

PHONE_PATH = "/wxa/business/getuserphonenumber"


async def login_code(sim: Sim, user: int = 1, appid: str = fx.MINI_APPID) -> str:
    status, body = await control(sim, "POST", "mini/login-code", {"user": user, "appid": appid})
    assert status == 200, body
    return str(body["code"])


async def phone_code(sim: Sim, user: int = 1, appid: str = fx.MINI_APPID) -> str:
    status, body = await control(sim, "POST", "mini/phone-code", {"user": user, "appid": appid})
    assert status == 200, body
    return str(body["code"])


async def code2session(sim: Sim, code: str, appid: str = fx.MINI_APPID, secret: str = fx.MINI_SECRET,
                       **extra: str) -> dict[str, Any]:
    params = {"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"} | extra
    return await sim.sns("/sns/jscode2session", **{k: v for k, v in params.items() if v})


async def mini_token(sim: Sim, appid: str = fx.MINI_APPID, secret: str = fx.MINI_SECRET) -> str:
    resp = await sim.client.post("/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": False})
    return str((await resp.json(content_type=None))["access_token"])


async def get_phone(sim: Sim, token: str | None, body: Any) -> dict[str, Any]:
    params = {"access_token": token} if token else {}
    resp = await sim.client.post(PHONE_PATH, params=params, json=body)
    assert resp.status == 200 and resp.content_type == "application/json"
    return await resp.json(content_type=None)


async def test_apps_list_both_mini_programs(sim: Sim) -> None:
    apps = {a["appid"]: a for a in (await control(sim, "GET", "apps"))[1]}
    assert apps[fx.MINI_APPID]["kind"] == apps[fx.UNBOUND_MINI_APPID]["kind"] == "mini_program"
    assert apps[fx.MINI_APPID]["bound_to_open_platform"] and not apps[fx.UNBOUND_MINI_APPID]["bound_to_open_platform"]


async def test_login_gives_openid_unionid_and_a_new_session_key_each_time(sim: Sim) -> None:
    first = await code2session(sim, await login_code(sim, 2))
    second = await code2session(sim, await login_code(sim, 2))
    assert set(first) == {"session_key", "openid", "unionid"}  # no errcode on success
    assert first["openid"] == ids.openid_for(fx.MINI_APPID, 2)
    assert first["unionid"] == ids.unionid_for(fx.OPEN_PLATFORM_ID, 2)  # the website app's and the OA's unionid
    assert len(first["session_key"]) == 24 and len(base64.b64decode(first["session_key"])) == 16
    assert first["session_key"] != second["session_key"]
    resp = await sim.client.get("/sns/jscode2session", params={
        "appid": fx.MINI_APPID, "secret": fx.MINI_SECRET, "js_code": await login_code(sim), "grant_type": "authorization_code"})
    assert resp.content_type == "text/plain"


async def test_an_unbound_mini_program_gets_no_unionid(sim: Sim) -> None:
    body = await code2session(sim, await login_code(sim, 1, fx.UNBOUND_MINI_APPID), fx.UNBOUND_MINI_APPID,
                              fx.UNBOUND_MINI_SECRET)
    assert set(body) == {"session_key", "openid"}


async def test_codes_are_single_use_short_lived_and_bound_to_their_app(sim: Sim) -> None:
    code = await login_code(sim)
    assert "openid" in await code2session(sim, code)
    assert (await code2session(sim, code))["errcode"] == 40163
    assert (await code2session(sim, "nosuchcode"))["errcode"] == 40029
    other = await login_code(sim, 1, fx.UNBOUND_MINI_APPID)
    assert (await code2session(sim, other))["errcode"] == 40029
    late = await login_code(sim)
    await sim.advance(300)
    body = await code2session(sim, late)
    assert body["errcode"] == 40029 and ", rid: " in body["errmsg"]


async def test_parameter_errors(sim: Sim) -> None:
    code = await login_code(sim)
    assert (await code2session(sim, code, appid=""))["errcode"] == 41002
    assert (await code2session(sim, code, secret=""))["errcode"] == 41004
    assert (await code2session(sim, ""))["errcode"] == 41008
    assert (await code2session(sim, code, grant_type="client_credential"))["errcode"] == 40002
    assert (await code2session(sim, code, appid=fx.WEBSITE_APPID, secret=fx.WEBSITE_SECRET))["errcode"] == 40013
    assert (await code2session(sim, code, secret="0" * 32))["errcode"] == 40125
    resp = await sim.client.post("/sns/jscode2session", data={"appid": fx.MINI_APPID, "js_code": code})
    assert (await resp.json(content_type=None))["errcode"] == 41002  # a POST body is not read
    assert "openid" in await code2session(sim, code)  # none of that used the code


async def test_risky_users_and_the_per_user_minute_budget(sim: Sim) -> None:
    assert (await control(sim, "POST", "mini/risky", {"user": 3, "risky": True}))[0] == 200
    assert (await code2session(sim, await login_code(sim, 3)))["errcode"] == 40226
    await control(sim, "POST", "mini/risky", {"user": 3, "risky": False})
    assert "openid" in await code2session(sim, await login_code(sim, 3))
    codes = [await login_code(sim, 4) for _ in range(101)]
    answers = [await code2session(sim, c) for c in codes]
    assert all("openid" in a for a in answers[:100]) and answers[100]["errcode"] == 45011
    assert "openid" in await code2session(sim, await login_code(sim, 5))  # other users keep their budget
    await sim.advance(60)
    assert "openid" in await code2session(sim, await login_code(sim, 4))


async def test_phone_numbers_mainland_foreign_shared_and_none(sim: Sim) -> None:
    token = await mini_token(sim)
    mainland = await get_phone(sim, token, {"code": await phone_code(sim, 1)})
    assert mainland["errcode"] == 0 and mainland["errmsg"] == "ok"
    info = mainland["phone_info"]
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13800138001" and info["countryCode"] == "86"
    assert info["watermark"] == {"timestamp": int(sim.state.now()), "appid": fx.MINI_APPID}
    foreign = (await get_phone(sim, token, {"code": await phone_code(sim, 3)}))["phone_info"]
    assert (foreign["phoneNumber"], foreign["purePhoneNumber"], foreign["countryCode"]) == ("+85261234567", "61234567", "852")
    shared = [(await get_phone(sim, token, {"code": await phone_code(sim, u)}))["phone_info"]["purePhoneNumber"]
              for u in (2, 4)]
    assert shared[0] == shared[1]
    status, body = await control(sim, "POST", "mini/phone-code", {"user": 5})
    assert status == 409 and "no phone" in body["error"]


async def test_phone_codes_single_use_expiring_and_bound_to_one_mini_program(sim: Sim) -> None:
    token = await mini_token(sim)
    code = await phone_code(sim)
    assert (await get_phone(sim, token, {"code": code}))["errcode"] == 0
    used = await get_phone(sim, token, {"code": code})
    assert used["errcode"] == 40029 and " hint: [" in used["errmsg"] and "] rid: " in used["errmsg"]
    other = await phone_code(sim, 1, fx.UNBOUND_MINI_APPID)
    assert (await get_phone(sim, token, {"code": other}))["errcode"] == 40029
    assert (await get_phone(sim, token, {"code": await login_code(sim)}))["errcode"] == 40029
    late = await phone_code(sim)
    await sim.advance(300)
    assert (await get_phone(sim, await mini_token(sim), {"code": late}))["errcode"] == 40029


async def test_phone_token_and_body_errors(sim: Sim) -> None:
    code = await phone_code(sim)
    assert (await get_phone(sim, None, {"code": code}))["errcode"] == 41001
    assert (await get_phone(sim, "91_unknown", {"code": code}))["errcode"] == 40001
    oa = await mini_token(sim, fx.MP_APPID, fx.MP_SECRET)
    assert (await get_phone(sim, oa, {"code": code}))["errcode"] == 48001
    token = await mini_token(sim)
    for body in ([code], {"cod": code}, {"code": 5}, "code"):
        assert (await get_phone(sim, token, body))["errcode"] == 47001
    resp = await sim.client.post(PHONE_PATH, params={"access_token": token}, data={"code": code})
    assert (await resp.json(content_type=None))["errcode"] == 47001
    assert (await get_phone(sim, token, {"code": code}))["errcode"] == 0  # none of that used the code
    await sim.advance(7200)
    assert (await get_phone(sim, token, {"code": await phone_code(sim)}))["errcode"] == 42001


async def test_faults_apply_and_the_call_log_masks_codes_and_never_shows_session_keys(sim: Sim) -> None:
    await control(sim, "POST", "faults", {"path": "/sns/jscode2session", "errcode": -1})
    await control(sim, "POST", "faults", {"path": PHONE_PATH, "http_status": 502})
    code = await login_code(sim)
    assert (await code2session(sim, code))["errcode"] == -1
    body = await code2session(sim, code)
    resp = await sim.client.post(PHONE_PATH, params={"access_token": "x"}, json={"code": "y"})
    assert resp.status == 502
    calls = (await control(sim, "GET", "calls"))[1]
    logged = [c for c in calls if c["path"] in ("/sns/jscode2session", PHONE_PATH)]
    assert [c["errcode"] for c in logged] == [-1, 0, None]
    assert all(c["query"].get(k) in (None, "***") for c in logged for k in ("secret", "js_code", "access_token"))
    assert body["session_key"] not in str(calls)


async def test_the_page_hands_out_codes_by_hand(sim: Sim) -> None:
    page = await (await sim.client.get("/_sim/mini")).text()
    assert fx.MINI_APPID in page and "+852 61234567" in page
    resp = await sim.client.post("/_sim/mini", data={"appid": fx.MINI_APPID, "user": "2", "kind": "login"})
    text = await resp.text()
    code = text.split('<pre id="mini-code">')[1].split("</pre>")[0]
    assert (await code2session(sim, code))["openid"] == ids.openid_for(fx.MINI_APPID, 2)
    phone = await (await sim.client.post("/_sim/mini", data={"appid": fx.MINI_APPID, "user": "1", "kind": "phone"})).text()
    code = phone.split('<pre id="mini-code">')[1].split("</pre>")[0]
    assert (await get_phone(sim, await mini_token(sim), {"code": code}))["errcode"] == 0
    none = await (await sim.client.post("/_sim/mini", data={"appid": fx.MINI_APPID, "user": "5", "kind": "phone"})).text()
    assert 'id="mini-error"' in none and 'id="mini-code"' not in none
    assert "/_sim/mini" in await (await sim.client.get("/")).text()


async def test_wechatpy_code_to_session_works_unchanged(sim: Sim) -> None:
    base = str(sim.client.make_url("/"))

    class SimClient(WeChatClient):
        API_BASE_URL = base + "cgi-bin/"

        def fetch_access_token(self) -> Any:
            return self._fetch_access_token(url=base + "cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})

    client = SimClient(fx.MINI_APPID, fx.MINI_SECRET, timeout=10)
    client.wxa.API_BASE_URL = base
    code = await login_code(sim, 4)
    session = await asyncio.to_thread(client.wxa.code_to_session, code)
    assert session["openid"] == ids.openid_for(fx.MINI_APPID, 4)
    assert session["unionid"] == ids.unionid_for(fx.OPEN_PLATFORM_ID, 4)


def test_the_access_log_masks_the_mini_programs_codes() -> None:
    from webapp.wechat_sim.faults import mask_params

    assert mask_params({"js_code": "c0de", "appid": fx.MINI_APPID, "secret": fx.MINI_SECRET}) == {
        "js_code": "***", "appid": fx.MINI_APPID, "secret": "***"}
