"""The official-account control API: scans, follows, revocation, profile changes, push config, env and fixture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.wechat_sim.conftest import Receiver, Sim, control, new_param_qr
from tests.wechat_sim.test_push_events import act, configure
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim.push_config import PushConfig, PushConfigError
from webapp.wechat_sim.serve import run_simulator
from webapp.wechat_sim.state import SimulatorState

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


async def test_scan_of_an_expired_code_sends_nothing(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    qr = await new_param_qr(sim, expire_seconds=60)
    await sim.advance(60)
    status, body = await control(sim, "POST", "mp/scan", {"user": 1, "ticket": qr["ticket"], "follow": True})
    assert status == 404 and "expired" in body["error"]
    assert receiver.received == [] and (await control(sim, "GET", "mp/followers"))[1] == []


async def test_non_follower_declining_sends_nothing_and_stays_unfollowed(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    qr = await new_param_qr(sim)
    answer = await act(sim, "scan", user=1, ticket=qr["ticket"], follow=False)
    assert answer["event"] is None and answer["delivery"] is None and receiver.received == []
    assert (await act(sim, "scan", user=1, ticket=qr["ticket"]))["event"] is None


async def test_follow_twice_or_unfollow_a_stranger_is_409(sim: Sim) -> None:
    await act(sim, "follow", user=1)
    assert (await control(sim, "POST", "mp/follow", {"user": 1}))[0] == 409
    assert (await control(sim, "POST", "mp/unfollow", {"user": 2}))[0] == 409


@pytest.mark.parametrize(("path", "body"), [
    ("mp/follow", {"user": 99}), ("mp/follow", {"user": "1"}), ("mp/follow", {"user": 1, "appid": "nope"}),
    ("mp/follow", {"user": 1, "appid": fx.WEBSITE_APPID}), ("mp/scan", {"user": 1}),
    ("mp/scan", {"user": 1, "ticket": "t", "follow": "yes"}), ("mp/profile", {"user": 1}),
    ("mp/profile", {"user": 1, "nickname": 5}), ("mp/revoke", {"user": 1, "revoke_info": [1]}),
    ("mp/push", {"xml": ""}), ("push-config", {"url": "ftp://x", "token": "abc"}),
    ("push-config", {"url": "http://x/", "token": "a"}), ("push-config", {"url": "http://x/", "token": "abc",
                                                                          "mode": "safe"}),
    ("push-config", {"url": "http://x/", "token": "abc", "aes_key": KEY, "mode": "odd"}),
    ("push-config", {"url": "http://x/", "token": "abc", "timeout_s": 0}),
    ("push-config", {"url": "http://x/", "token": "abc", "attempts": 1.5}),
    ("push-config", {"url": "http://x/", "token": "abc", "colour": "red"}), ("push-config", {"token": "abc"}),
])
async def test_bad_requests_get_a_clear_400(sim: Sim, path: str, body: dict[str, Any]) -> None:
    status, answer = await control(sim, "POST", path, body)
    assert status == 400 and answer["error"]


async def test_non_json_bodies_are_400(sim: Sim) -> None:
    for path in ("mp/follow", "push-config", "mp/scan"):
        resp = await sim.client.post(f"/_sim/api/{path}", data="{nope")
        assert resp.status == 400 and "invalid JSON" in (await resp.json())["error"]


async def test_revoke_kills_the_sns_tokens_of_that_app(sim: Sim) -> None:
    token = await sim.login(fx.MP_APPID, fx.MP_SECRET, user=2, scope="snsapi_userinfo")
    website = await sim.login(user=2)
    await act(sim, "revoke", user=2)
    body = await sim.sns("/sns/userinfo", access_token=token["access_token"], openid=token["openid"])
    assert body["errcode"] == 40001
    assert (await sim.refresh(token["refresh_token"], fx.MP_APPID))["errcode"] == 40030
    still = await sim.sns("/sns/userinfo", access_token=website["access_token"], openid=website["openid"])
    assert still["nickname"] == "李娜🌸"


async def test_profile_change_is_what_sns_userinfo_answers(sim: Sim) -> None:
    token = await sim.login(user=3)
    answer = await act(sim, "profile", user=3, nickname="新昵称", headimgurl="https://thirdwx.qlogo.cn/new/132")
    assert answer["event"] == "user_info_modified"
    body = await sim.sns("/sns/userinfo", access_token=token["access_token"], openid=token["openid"])
    assert (body["nickname"], body["headimgurl"]) == ("新昵称", "https://thirdwx.qlogo.cn/new/132")
    users = (await control(sim, "GET", "users"))[1]
    assert users[2]["nickname"] == "新昵称"


async def test_followers_list_and_reset(sim: Sim) -> None:
    qr = await new_param_qr(sim, "s1")
    await act(sim, "scan", user=5, ticket=qr["ticket"], follow=True)
    followers = (await control(sim, "GET", f"mp/followers?appid={fx.MP_APPID}"))[1]
    assert [(f["user"], f["subscribe_scene"], f["qr_scene_str"]) for f in followers] == [
        (5, "ADD_SCENE_QR_CODE", "s1")]
    assert followers[0]["openid"] == sim.state.fixture.openid(sim.state.fixture.app(fx.MP_APPID), 5)  # type: ignore[arg-type]
    assert (await control(sim, "GET", "users"))[1][4]["follows"] == [fx.MP_APPID]
    await control(sim, "POST", "reset")
    assert (await control(sim, "GET", "mp/followers"))[1] == []
    assert (await control(sim, "GET", "mp/qrcodes"))[1] == []


async def test_push_config_merges_fields_and_url_null_removes_it(sim: Sim) -> None:
    status, body = await control(sim, "POST", "push-config", {"url": "http://localhost:8080/wechat/mp/events",
                                                               "token": "abc123", "aes_key": KEY})
    assert status == 200 and body == {"appid": fx.MP_APPID, "configured": True,
                                      "url": "http://localhost:8080/wechat/mp/events", "token": "abc123",
                                      "aes_key": KEY, "mode": "safe", "timeout_s": 5.0, "attempts": 3}
    body = (await control(sim, "POST", "push-config", {"timeout_s": 30, "attempts": 1, "mode": "compatible"}))[1]
    assert (body["timeout_s"], body["attempts"], body["mode"], body["token"]) == (30.0, 1, "compatible", "abc123")
    assert (await control(sim, "POST", "push-config", {"url": None}))[1] == {"appid": fx.MP_APPID, "configured": False}
    assert (await control(sim, "GET", f"push-config?appid={fx.WEBSITE_APPID}"))[1]["configured"] is False
    assert (await control(sim, "GET", "push-config?appid=nope"))[0] == 400


def test_env_configures_the_official_account() -> None:
    state = SimulatorState.from_env({"WECHAT_SIM_PUSH_URL": "http://localhost:8080/wechat/mp/events",
                                     "WECHAT_SIM_PUSH_TOKEN": "devtoken", "WECHAT_SIM_PUSH_AES_KEY": KEY})
    assert state.push_configs == {fx.MP_APPID: PushConfig("http://localhost:8080/wechat/mp/events", "devtoken", KEY,
                                                          "safe")}
    plain = SimulatorState.from_env({"WECHAT_SIM_PUSH_URL": "http://h/e", "WECHAT_SIM_PUSH_TOKEN": "abc",
                                     "WECHAT_SIM_PUSH_MODE": "plaintext"})
    assert plain.push_configs[fx.MP_APPID].mode == "plaintext"
    assert SimulatorState.from_env({}).push_configs == {}
    state.push_configs.clear()
    state.reset()
    assert fx.MP_APPID in state.push_configs


@pytest.mark.parametrize("env", [{"WECHAT_SIM_PUSH_URL": "http://h/e"},
                                 {"WECHAT_SIM_PUSH_URL": "http://h/e", "WECHAT_SIM_PUSH_TOKEN": "abc",
                                  "WECHAT_SIM_PUSH_MODE": "safe"}])
def test_bad_env_says_what_is_wrong(env: dict[str, str]) -> None:
    with pytest.raises(PushConfigError, match="WECHAT_SIM_PUSH_"):
        SimulatorState.from_env(env)


def test_fixture_json_push_config_and_followers(tmp_path: Path) -> None:
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps({
        "apps": [{"appid": "wx0123456789abcdef", "secret": "f" * 32, "kind": "official_account",
                  "push_url": "http://localhost:8080/wechat/mp/events", "push_token": "tok",
                  "push_mode": "compatible", "push_aes_key": KEY, "push_attempts": 2}],
        "users": [{"id": 7, "nickname": "测试", "follows": ["wx0123456789abcdef"]}],
    }), encoding="utf-8")
    state = SimulatorState.from_env({"WECHAT_SIM_FIXTURE": str(path)})
    config = state.push_configs["wx0123456789abcdef"]
    assert (config.mode, config.attempts, config.token) == ("compatible", 2, "tok")
    assert state.followers.get("wx0123456789abcdef", 7) is not None


def test_simulator_command_exits_with_the_message_on_bad_env() -> None:
    with pytest.raises(SystemExit, match="WECHAT_SIM_PUSH_.*token must be 3-32 letters or digits"):
        run_simulator(environ={"WECHAT_SIM_PUSH_URL": "http://h/e", "WECHAT_SIM_PUSH_TOKEN": "!"})
