"""The control API: apps, users, faults of each kind, call log masking, clock, reset, purge, pages."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest

from tests.wechat_sim.conftest import T0, Sim
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids

TOKEN = "/sns/oauth2/access_token"


async def fault(sim: Sim, **spec: object) -> dict[str, object]:
    """Register a fault."""
    resp = await sim.client.post("/_sim/api/faults", json=spec)
    assert resp.status == 200
    return await resp.json()


async def test_apps_lists_three_apps_with_kinds_and_hosts(sim: Sim) -> None:
    apps = {a["appid"]: a for a in await (await sim.client.get("/_sim/api/apps")).json()}
    assert apps[fx.WEBSITE_APPID] | {} == {
        "appid": fx.WEBSITE_APPID, "secret": fx.WEBSITE_SECRET, "kind": "website", "name": "模拟网站应用",
        "bound_to_open_platform": True, "callback_hosts": ["localhost", "127.0.0.1"],
        "original_id": ids.original_id_for(fx.WEBSITE_APPID), "push_account": ids.push_account_for(fx.WEBSITE_APPID)}
    assert apps[fx.MP_APPID]["kind"] == "official_account"
    assert apps[fx.UNBOUND_APPID]["bound_to_open_platform"] is False
    for appid, secret in ((fx.WEBSITE_APPID, fx.WEBSITE_SECRET), (fx.MP_APPID, fx.MP_SECRET)):
        assert re.fullmatch(r"wx[0-9a-f]{16}", appid), appid
        assert re.fullmatch(r"[0-9a-f]{32}", secret)


async def test_users_have_ids_nicknames_avatars_unionid_and_openids(sim: Sim) -> None:
    users = await (await sim.client.get("/_sim/api/users")).json()
    assert [u["id"] for u in users] == [1, 2, 3, 4, 5]
    assert {"张伟", "李娜🌸", "Wang 小明", "🐼熊猫", "Ömer·阿里"} == {u["nickname"] for u in users}
    first = users[0]
    assert first["headimgurl"].endswith("/mmopen/1/132")
    assert first["unionid"] == ids.unionid_for(fx.OPEN_PLATFORM_ID, 1)
    assert first["openids"][fx.MP_APPID] == ids.openid_for(fx.MP_APPID, 1)
    assert all(len(o) == 28 and o.startswith("o") for o in first["openids"].values())


async def test_errcode_fault_for_n_times_then_normal(sim: Sim) -> None:
    await fault(sim, path=TOKEN, errcode=-1, times=2)
    code = await sim.issue_code()
    assert (await sim.exchange(code))["errcode"] == -1
    assert (await sim.exchange(code))["errcode"] == -1
    assert "access_token" in await sim.exchange(code)


async def test_fault_without_path_hits_any_sns_path_only(sim: Sim) -> None:
    await fault(sim, errcode=45011, errmsg="api minute-quota reach limit")
    assert (await sim.client.get("/_sim/api/apps")).status == 200
    body = await sim.sns("/sns/auth", access_token="a", openid="b")
    assert body["errcode"] == 45011 and body["errmsg"].startswith("api minute-quota reach limit, rid: ")
    assert await (await sim.client.get("/_sim/api/faults")).json() == []


async def test_http_status_fault(sim: Sim) -> None:
    await fault(sim, path=TOKEN, http_status=502)
    resp = await sim.client.get(TOKEN)
    assert resp.status == 502


async def test_garbage_body_fault(sim: Sim) -> None:
    await fault(sim, body="not json")
    resp = await sim.client.get(TOKEN)
    assert resp.status == 200 and await resp.text() == "not json"


async def test_drop_fault_closes_without_response(sim: Sim) -> None:
    await fault(sim, path=TOKEN, drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await sim.client.get(TOKEN)
    calls = await (await sim.client.get("/_sim/api/calls")).json()
    assert calls[-1]["http_status"] == 0 and calls[-1]["fault"] is not None


async def test_delay_fault_delays_then_answers(sim: Sim) -> None:
    await fault(sim, path=TOKEN, delay_s=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    body = await sim.sns(TOKEN)
    assert body["errcode"] == 41002 and loop.time() - started >= 0.3


async def test_delay_fault_ends_when_client_gives_up(sim: Sim) -> None:
    await fault(sim, path=TOKEN, delay_s=30)
    with pytest.raises(asyncio.TimeoutError):
        await sim.client.get(TOKEN, timeout=aiohttp.ClientTimeout(total=0.2))
    assert (await sim.sns(TOKEN))["errcode"] == 41002


async def test_clear_faults(sim: Sim) -> None:
    await fault(sim, errcode=-1, times=5)
    assert (await sim.client.delete("/_sim/api/faults")).status == 200
    assert (await sim.sns(TOKEN))["errcode"] == 41002


async def test_bad_fault_is_400(sim: Sim) -> None:
    assert (await sim.client.post("/_sim/api/faults", json={"times": 0})).status == 400


async def test_call_log_masks_secrets_codes_and_tokens(sim: Sim) -> None:
    token = await sim.login()
    await sim.refresh(token["refresh_token"])
    await sim.sns("/sns/userinfo", access_token=token["access_token"], openid=token["openid"])
    calls = await (await sim.client.get("/_sim/api/calls")).json()
    text = json.dumps(calls)
    assert fx.WEBSITE_SECRET not in text and token["access_token"] not in text
    assert token["refresh_token"] not in text
    assert [c["path"] for c in calls] == [TOKEN, "/sns/oauth2/refresh_token", "/sns/userinfo"]
    assert calls[0]["query"] == {"appid": fx.WEBSITE_APPID, "secret": "***", "code": "***",
                                 "grant_type": "authorization_code"}
    assert calls[2]["query"]["openid"] == token["openid"] and calls[2]["errcode"] == 0
    assert calls[0]["time"] == T0


async def test_call_log_records_errcodes_and_is_bounded(sim: Sim) -> None:
    for _ in range(3):
        await sim.sns(TOKEN, appid="x")
    calls = await (await sim.client.get("/_sim/api/calls")).json()
    assert [c["errcode"] for c in calls] == [41004] * 3
    assert sim.state.calls.entries.maxlen == 1000


async def test_clock_advance_returns_new_now(sim: Sim) -> None:
    assert await sim.advance(7200) == T0 + 7200
    assert (await (await sim.client.get("/_sim/api/clock")).json())["now"] == T0 + 7200
    assert (await sim.client.post("/_sim/api/clock", json={"advance_s": -1})).status == 400


async def test_reset_forgets_everything_and_rewinds_clock(sim: Sim) -> None:
    token = await sim.login()
    uuid = await sim.new_qr()
    await fault(sim, errcode=-1)
    await sim.advance(100)
    assert (await sim.client.post("/_sim/api/reset")).status == 200
    assert sim.state.now() == T0
    assert (await sim.refresh(token["refresh_token"]))["errcode"] == 40030
    assert await sim.poll(uuid) == (402, "")
    assert await (await sim.client.get("/_sim/api/faults")).json() == []


async def test_issue_code_validates_input(sim: Sim) -> None:
    post = sim.client.post
    assert (await post("/_sim/api/codes", json={"appid": "nope", "user": 1})).status == 400
    assert (await post("/_sim/api/codes", json={"appid": fx.WEBSITE_APPID, "user": 42})).status == 400
    bad_scope = {"appid": fx.WEBSITE_APPID, "user": 1, "scope": "snsapi_base"}
    assert (await post("/_sim/api/codes", json=bad_scope)).status == 400
    assert (await post("/_sim/api/codes", data="[1]")).status == 400


async def test_expired_entries_are_purged(sim: Sim) -> None:
    await sim.login()
    await sim.issue_code()
    await sim.new_qr()
    stats = await (await sim.client.get("/_sim/api/stats")).json()
    assert (stats["codes"], stats["access_tokens"], stats["refresh_tokens"], stats["qr_sessions"]) == (2, 1, 1, 1)
    await sim.advance(61 * 86400)
    await sim.issue_code()
    stats = await (await sim.client.get("/_sim/api/stats")).json()
    assert (stats["codes"], stats["access_tokens"], stats["refresh_tokens"], stats["qr_sessions"]) == (1, 0, 0, 0)


async def test_home_page_lists_apps_users_and_flows(sim: Sim) -> None:
    html = await (await sim.client.get("/")).text()
    for needle in (fx.WEBSITE_APPID, fx.WEBSITE_SECRET, fx.MP_APPID, fx.UNBOUND_APPID, "🐼熊猫",
                   "/connect/qrconnect?", "/_sim/wechat-browser?", "/_sim/demo/embedded"):
        assert needle in html


async def test_demo_pages(sim: Sim) -> None:
    code = await sim.issue_code(user=2)
    html = await (await sim.client.get("/_sim/demo/callback", params={"code": code,
                                                                     "state": fx.WEBSITE_APPID})).text()
    assert "李娜🌸" in html and "unionid" in html
    embedded = await (await sim.client.get("/_sim/demo/embedded?self_redirect=false")).text()
    assert "new WxLogin(" in embedded and "self_redirect: false" in embedded


@pytest.mark.parametrize(("path", "status"), [("/mmopen/1/132", 200), ("/mmopen/0/46", 200),
                                              ("/mmopen/9/132", 404), ("/mmopen/1/133", 404)])
async def test_avatars(sim: Sim, path: str, status: int) -> None:
    resp = await sim.client.get(path)
    assert resp.status == status
    if status == 200:
        assert resp.content_type == "image/png" and (await resp.read()).startswith(b"\x89PNG")
