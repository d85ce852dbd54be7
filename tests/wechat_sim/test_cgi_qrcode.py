"""Parametric QR codes (qrcode/create limits, showqrcode) and /cgi-bin/user/info shapes."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest
import segno
from yarl import URL

from tests.wechat_sim.conftest import T0, Sim, cgi, control, mp_token, new_param_qr
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.fixture import Fixture, SimApp, SimUser
from webapp.wechat_sim.state import SimulatorState


async def create(sim: Sim, body: Any) -> dict[str, Any]:
    """POST qrcode/create with a fresh token."""
    return await cgi(sim, "POST", "qrcode/create", {"access_token": await mp_token(sim)}, body)


async def test_create_answers_ticket_expiry_and_a_url_to_the_phone_page(sim: Sim) -> None:
    resp = await sim.client.post("/cgi-bin/qrcode/create", params={"access_token": await mp_token(sim)}, json={
        "expire_seconds": 300, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "login_1"}}})
    raw = await resp.text()
    body = await resp.json(content_type=None)
    assert list(body) == ["ticket", "expire_seconds", "url"] and body["expire_seconds"] == 300
    assert body["url"].startswith(str(sim.client.make_url("/q/"))) and '"url":"http:\\/\\/' in raw
    assert len(body["ticket"]) > 90
    page = await sim.client.get(URL(body["url"]).path)
    assert page.status == 200 and "login_1" not in await page.text()


async def test_every_create_is_a_new_ticket(sim: Sim) -> None:
    first, second = await new_param_qr(sim, "same"), await new_param_qr(sim, "same")
    assert first["ticket"] != second["ticket"] and first["url"] != second["url"]


@pytest.mark.parametrize(("expire", "expected"), [(None, 60), (30, 30), (10**9, 2_592_000), (0, 60)])
async def test_expire_seconds_default_and_maximum(sim: Sim, expire: int | None, expected: int) -> None:
    body: dict[str, Any] = {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 7}}}
    if expire is not None:
        body["expire_seconds"] = expire
    assert (await create(sim, body))["expire_seconds"] == expected


async def test_permanent_codes_have_no_expiry(sim: Sim) -> None:
    body = await create(sim, {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "p"}}})
    assert set(body) == {"ticket", "url"}
    await sim.advance(10**8)
    assert (await sim.client.get("/cgi-bin/showqrcode", params={"ticket": body["ticket"]})).status == 200


@pytest.mark.parametrize("body", [
    {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}},
    {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}},
    {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "a\x00b"}}},
    {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}},
    {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": "7"}}},
    {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}},
    {"action_name": "QR_MAGIC", "action_info": {"scene": {"scene_id": 1}}},
])
async def test_invalid_scenes_are_40097(sim: Sim, body: dict[str, Any]) -> None:
    assert (await create(sim, body))["errcode"] == 40097


async def test_scene_str_of_64_chars_and_missing_scene_are_fine(sim: Sim) -> None:
    assert "ticket" in await new_param_qr(sim, "字" * 64)
    assert "ticket" in await create(sim, {"action_name": "QR_SCENE", "action_info": {}})


async def test_only_the_official_account_may_create_codes(sim: Sim) -> None:
    token = await mp_token(sim, fx.WEBSITE_APPID, fx.WEBSITE_SECRET)
    body = await cgi(sim, "POST", "qrcode/create", {"access_token": token}, {"action_name": "QR_SCENE"})
    assert body["errcode"] == 48001


async def test_create_token_errors(sim: Sim) -> None:
    assert (await cgi(sim, "POST", "qrcode/create", {}, {}))["errcode"] == 41001
    assert (await cgi(sim, "POST", "qrcode/create", {"access_token": "nope"}, {}))["errcode"] == 40001
    resp = await sim.client.post("/cgi-bin/qrcode/create", params={"access_token": await mp_token(sim)}, data="x")
    assert (await resp.json(content_type=None))["errcode"] == 47001


async def test_showqrcode_png_encodes_the_url_then_404_after_expiry(sim: Sim) -> None:
    qr = await new_param_qr(sim, expire_seconds=60)
    resp = await sim.client.get(f"/cgi-bin/showqrcode?ticket={quote(qr['ticket'], safe='')}")
    assert resp.status == 200 and resp.content_type == "image/png"
    expected = io.BytesIO()
    segno.make_qr(qr["url"]).save(expected, kind="png", scale=6, border=2)
    assert await resp.read() == expected.getvalue()
    await sim.advance(60)
    assert (await sim.client.get("/cgi-bin/showqrcode", params={"ticket": qr["ticket"]})).status == 404
    assert (await sim.client.get("/cgi-bin/showqrcode", params={"ticket": "nope"})).status == 404


async def test_control_api_lists_codes(sim: Sim) -> None:
    qr = await new_param_qr(sim, "abc")
    status, codes = await control(sim, "GET", "mp/qrcodes")
    assert status == 200 and codes[0]["ticket"] == qr["ticket"] and codes[0]["scene"] == "abc"
    assert codes[0]["url"] == qr["url"] and codes[0]["expires_at"] == codes[0]["created_at"] + 300


async def user_info(sim: Sim, user: int, appid: str = fx.MP_APPID, **params: str) -> dict[str, Any]:
    """GET /cgi-bin/user/info for a test user."""
    openid = ids.openid_for(appid, user)
    return await cgi(sim, "GET", "user/info", {"access_token": await mp_token(sim), "openid": openid,
                                               "lang": "zh_CN"} | params)


async def test_user_info_of_a_non_follower(sim: Sim) -> None:
    assert await user_info(sim, 1) == {"subscribe": 0, "openid": ids.openid_for(fx.MP_APPID, 1), "tagid_list": [],
                                       "unionid": ids.unionid_for(fx.OPEN_PLATFORM_ID, 1)}


async def test_user_info_of_a_follower_has_the_scene_of_the_follow(sim: Sim) -> None:
    qr = await new_param_qr(sim, "login_abc")
    status, _ = await control(sim, "POST", "mp/scan", {"user": 2, "ticket": qr["ticket"], "follow": True})
    assert status == 200
    body = await user_info(sim, 2)
    assert body == {
        "subscribe": 1, "openid": ids.openid_for(fx.MP_APPID, 2), "nickname": "", "sex": 0, "language": "zh_CN",
        "city": "", "province": "", "country": "", "headimgurl": "", "subscribe_time": int(sim.state.now()),
        "unionid": ids.unionid_for(fx.OPEN_PLATFORM_ID, 2), "remark": "", "groupid": 0, "tagid_list": [],
        "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene": 0, "qr_scene_str": "login_abc"}
    later = await new_param_qr(sim, "login_later")
    await control(sim, "POST", "mp/scan", {"user": 2, "ticket": later["ticket"]})
    assert (await user_info(sim, 2))["qr_scene_str"] == "login_abc"


async def test_user_info_numeric_scene_and_plain_follow(sim: Sim) -> None:
    qr = await new_param_qr(sim, 42, action="QR_SCENE")  # type: ignore[arg-type]
    await control(sim, "POST", "mp/scan", {"user": 3, "ticket": qr["ticket"], "follow": True})
    assert ((await user_info(sim, 3))["qr_scene"], (await user_info(sim, 3))["qr_scene_str"]) == (42, "")
    await control(sim, "POST", "mp/follow", {"user": 4})
    body = await user_info(sim, 4)
    assert (body["subscribe_scene"], body["qr_scene"], body["qr_scene_str"]) == ("ADD_SCENE_SEARCH", 0, "")


async def test_user_info_errors(sim: Sim) -> None:
    assert (await user_info(sim, 1, appid=fx.WEBSITE_APPID))["errcode"] == 40003
    assert (await user_info(sim, 1, openid=""))["errcode"] == 41009
    assert (await cgi(sim, "GET", "user/info", {"openid": "o"}))["errcode"] == 41001


async def test_unbound_account_has_no_unionid_and_fixture_followers(aiohttp_client: Any) -> None:
    fixture = Fixture(apps=(SimApp(fx.MP_APPID, fx.MP_SECRET, "official_account", "x", bound=False),),
                      users=(SimUser(1, "a", follows=(fx.MP_APPID,)), SimUser(2, "b")))
    state = SimulatorState(fixture, clock=SimClock(frozen_at=T0))
    sim = Sim(state, await aiohttp_client(create_simulator_app(state)))
    body = await user_info(sim, 1)
    assert body["subscribe"] == 1 and "unionid" not in body and body["subscribe_scene"] == "ADD_SCENE_OTHERS"
    assert await user_info(sim, 2) == {"subscribe": 0, "openid": ids.openid_for(fx.MP_APPID, 2), "tagid_list": []}


async def test_request_faults_work_on_cgi_bin_paths(sim: Sim) -> None:
    token = await mp_token(sim)
    await control(sim, "POST", "faults", {"path": "/cgi-bin/qrcode/create", "errcode": 45009})
    resp = await sim.client.post("/cgi-bin/qrcode/create", params={"access_token": token}, json={})
    body = await resp.json(content_type=None)
    assert resp.headers["Content-Type"] == "application/json; encoding=utf-8"
    assert body["errcode"] == 45009 and body["errmsg"].startswith("reach max api daily quota limit, rid: ")
    await control(sim, "POST", "faults", {"path": "/cgi-bin/token", "http_status": 502})
    assert (await sim.client.get("/cgi-bin/token")).status == 502
    await control(sim, "POST", "faults", {"path": "/cgi-bin/showqrcode", "body": "<html>busy</html>"})
    assert await (await sim.client.get("/cgi-bin/showqrcode")).text() == "<html>busy</html>"
    calls = (await control(sim, "GET", "calls"))[1]
    assert [(c["path"], c["errcode"], c["http_status"]) for c in calls[-3:]] == [
        ("/cgi-bin/qrcode/create", 45009, 200), ("/cgi-bin/token", None, 502), ("/cgi-bin/showqrcode", None, 200)]
    assert calls[0]["query"]["secret"] == "***"
