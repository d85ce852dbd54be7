"""Every WeChat error and every junk body gets a clear JSON answer, writes nothing half way, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.wechat.harness import World, _world, table_counts
from tests.wechat.mini.conftest import Mini
from webapp.models import WebSession

LOGIN = "/api/wechat/mini/login"
PHONE = "/api/wechat/mini/phone"
CODE2SESSION = "/sns/jscode2session"
PHONE_API = "/wxa/business/getuserphonenumber"


async def sessions(world: World) -> int:
    async with world.sm() as s:
        return int(await s.scalar(select(func.count()).select_from(WebSession)) or 0)


async def assert_nothing_written(world: World, before: dict[str, int]) -> None:
    assert await table_counts(world.sm) == before and await sessions(world) == 0


@pytest.mark.parametrize(("fault", "status", "error"), [
    ({"errcode": 40029}, 400, "invalid_code"),
    ({"errcode": 40163}, 400, "invalid_code"),
    ({"errcode": 40226}, 403, "risky_user"),
    ({"errcode": -1}, 503, "wechat_unavailable"),
    ({"errcode": 45011}, 503, "wechat_unavailable"),
    ({"errcode": 40125}, 503, "wechat_unavailable"),
    ({"http_status": 502}, 503, "wechat_unavailable"),
    ({"body": "not json"}, 503, "wechat_unavailable"),
    ({"body": "[1, 2]"}, 503, "wechat_unavailable"),
    ({"body": '{"openid": "o1", "session_key": "short"}'}, 503, "wechat_unavailable"),
    ({"body": '{"openid": "o<script>", "session_key": "AAAAAAAAAAAAAAAAAAAAAA=="}'}, 503, "wechat_unavailable"),
    ({"body": '{"errcode": "x"}'}, 503, "wechat_unavailable"),
])
async def test_each_login_failure_at_wechat(mini: Mini, world: World, fault: dict[str, Any], status: int,
                                            error: str) -> None:
    before = await table_counts(world.sm)
    await world.sim.fault(CODE2SESSION, **fault)
    answer = await mini.call(LOGIN, {"code": await mini.login_code(1)})
    assert (answer.status, answer.body) == (status, {"error": error})
    await assert_nothing_written(world, before)
    assert len(await world.sim.calls(CODE2SESSION)) == 1  # never retried: a retry would burn the code


async def test_a_used_code_is_invalid(mini: Mini, world: World) -> None:
    code = await mini.login_code(2)
    assert (await mini.call(LOGIN, {"code": code})).status == 200
    assert (await mini.call(LOGIN, {"code": code})).body == {"error": "invalid_code"}  # 40163 at WeChat


async def test_a_timeout_is_wechat_unavailable(aiohttp_client, mini_settings, sessionmaker, clock, sim_server) -> None:  # type: ignore[no-untyped-def]
    settings = mini_settings.with_(wechat_timeout_s=0.2)  # the only wall-clock wait: a tiny client timeout
    async for world in _world(aiohttp_client, settings, sessionmaker, clock, sim_server):
        mini = Mini(world)
        await world.sim.fault(CODE2SESSION, delay_s=30)
        answer = await mini.call(LOGIN, {"code": await mini.login_code(2)})
        assert (answer.status, answer.body) == (503, {"error": "wechat_unavailable"})


async def test_a_risky_user_is_refused(mini: Mini, world: World) -> None:
    await world.sim.control("POST", "mini/risky", {"user": 3, "risky": True})
    answer = await mini.call(LOGIN, {"code": await mini.login_code(3)})
    assert (answer.status, answer.body) == (403, {"error": "risky_user"})


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"\xff\xfe", b"[]", b"null", b'"code"', b"{}", b'{"code": null}', b'{"code": 5}',
    b'{"code": ["a"]}', b'{"code": {"$ne": 1}}', b"[" * 100_000 + b"]" * 100_000, b'{"code": "' + b"a" * 60_000 + b'"}',
])
async def test_junk_login_bodies_get_a_clear_400(mini: Mini, world: World, raw: bytes) -> None:
    answer = await mini.call(LOGIN, raw=raw)
    assert answer.status in (400, 413) and answer.body is not None and answer.body["error"], answer
    assert await world.sim.calls(CODE2SESSION) == []  # WeChat is not asked about junk


@pytest.mark.parametrize("code", ["", "a b", "x" * 129, "代码", "a\x00b"])
async def test_odd_codes_are_invalid_without_asking_wechat(mini: Mini, world: World, code: str) -> None:
    answer = await mini.call(LOGIN, {"code": code})
    assert answer.status == 400 and answer.body["error"] in ("invalid_code", "invalid_request")
    assert await world.sim.calls(CODE2SESSION) == []


@pytest.mark.parametrize(("fault", "status", "error"), [
    ({"errcode": 40029}, 400, "invalid_code"),
    ({"errcode": -1}, 503, "wechat_unavailable"),
    ({"errcode": 48001}, 503, "wechat_unavailable"),
    ({"errcode": 47001}, 503, "wechat_unavailable"),
    ({"http_status": 500}, 503, "wechat_unavailable"),
    ({"body": "<html>"}, 503, "wechat_unavailable"),
    ({"fields": {"phone_info": {"countryCode": "86", "purePhoneNumber": "138", "watermark": {}}}}, 503,
     "wechat_unavailable"),
])
async def test_each_phone_failure_at_wechat_changes_nothing(mini: Mini, world: World, fault: dict[str, Any],
                                                            status: int, error: str) -> None:
    body = await mini.login(1)
    await world.sim.fault(PHONE_API, **fault)
    answer = await mini.call(PHONE, {"code": await mini.phone_code(1)}, token=body["token"])
    assert (answer.status, answer.body) == (status, {"error": error})
    assert (await mini.me(body["token"])).body["phone"] is None


async def test_a_phone_answer_for_another_mini_program_is_refused(mini: Mini, world: World) -> None:
    body = await mini.login(1)
    await world.sim.fault(PHONE_API, fields={"phone_info": {
        "phoneNumber": "13800138001", "purePhoneNumber": "13800138001", "countryCode": "86",
        "watermark": {"timestamp": 1, "appid": "wx0000000000000000"}}})
    answer = await mini.call(PHONE, {"code": await mini.phone_code(1)}, token=body["token"])
    assert (answer.status, answer.body) == (503, {"error": "wechat_unavailable"})
    assert (await mini.me(body["token"])).body["phone"] is None


async def test_a_used_phone_code_and_junk_phone_bodies(mini: Mini, world: World) -> None:
    token = (await mini.login(1))["token"]
    code = await mini.phone_code(1)
    assert (await mini.call(PHONE, {"code": code}, token=token)).status == 200
    assert (await mini.call(PHONE, {"code": code}, token=token)).body == {"error": "invalid_code"}
    for raw in (b"", b"{", b"[]", b'{"code": 1}'):
        answer = await mini.call(PHONE, raw=raw, token=token)
        assert answer.status == 400 and answer.body["error"] == "invalid_request", raw


async def test_unset_mini_program_routes_answer_404(client: Any) -> None:
    for path in (LOGIN, PHONE):
        resp = await client.post(path, json={"code": "abc"})
        assert resp.status == 404 and "application/json" in resp.headers["Content-Type"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["code", "Code", "x", ""]) | st.text(max_size=5),
                                                                inner, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(st.binary(max_size=200), JSON_VALUES.map(lambda v: json.dumps(v).encode()))
HEADERS = st.sampled_from([{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"},
                           {"Content-Type": "multipart/form-data"}])


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES, headers=HEADERS, route=st.sampled_from([LOGIN, PHONE]))
async def test_no_body_is_a_500_on_the_mini_program_api(mini: Mini, body: bytes, headers: dict[str, str],
                                                        route: str) -> None:
    token = None
    if route == PHONE:  # one token for every example (a junk body never ends it)
        token = mini.world.__dict__.get("token") or (await mini.login(1))["token"]
        mini.world.__dict__["token"] = token
    answer = await mini.call(route, raw=body, token=token, headers=headers)
    assert answer.status < 500, answer
    assert answer.body is None or "Traceback" not in str(answer.body)
