"""The push sender: replies it accepts, retries with the identical message, timeouts, duplicate and dropped pushes."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from wechatpy.crypto import WeChatCrypto

from tests.wechat_sim.conftest import Receiver, Sim, control
from tests.wechat_sim.test_push_events import act, configure
from webapp.wechat_sim.keys import sender_key
from webapp.wechat_sim.push_sender import USER_NOTICE

NOTICE = "该公众号暂时无法提供服务，请稍后再试"


@pytest.mark.parametrize(("mode", "reply", "ok"), [
    ("plaintext", "success", True), ("plaintext", "", True), ("plaintext", "plain-reply", True),
    ("compatible", "plain-reply", True), ("compatible", "encrypted", True), ("safe", "encrypted", True),
    ("safe", "success", True), ("safe", "", True), ("safe", "plain-reply", False),
    ("plaintext", '{"errcode": 0}', False), ("plaintext", "SUCCESS!", False), ("safe", "<xml><Encrypt>x</Encrypt>", False),
])
async def test_which_replies_count(sim: Sim, receiver: Receiver, mode: str, reply: str, ok: bool) -> None:
    await configure(sim, receiver, mode, attempts=1)
    receiver.replies = [reply]
    delivery = (await act(sim, "follow", user=1))["delivery"]
    assert delivery["status"] == ("delivered" if ok else "failed")
    assert delivery["notice"] == (None if ok else NOTICE) and delivery["attempts"][0]["ok"] is ok


def encrypted_reply(receiver: Receiver, appid: str) -> str:
    """A wechatpy-encrypted passive reply made for `appid`."""
    xml = "<xml><ToUserName><![CDATA[o]]></ToUserName><MsgType><![CDATA[text]]></MsgType></xml>"
    return WeChatCrypto(receiver.token, receiver.aes_key, appid).encrypt_message(xml, "42", "1700000000")


@pytest.mark.parametrize(("make", "verdict"), [
    (lambda r: encrypted_reply(r, r.appid), "encrypted reply"),
    (lambda r: encrypted_reply(r, "wxsomeoneelse0000"), "encrypted reply: appid mismatch"),
    (lambda r: re.sub(r"<MsgSignature><!\[CDATA\[\w+", "<MsgSignature><![CDATA[0", encrypted_reply(r, r.appid)),
     "encrypted reply: MsgSignature does not verify"),
])
async def test_encrypted_reply_must_verify_and_carry_our_appid(sim: Sim, receiver: Receiver, make: Any,
                                                               verdict: str) -> None:
    await configure(sim, receiver, "safe", attempts=1)
    receiver.replies = [make(receiver)]
    attempt = (await act(sim, "follow", user=1))["delivery"]["attempts"][0]
    assert attempt["verdict"].startswith(verdict) and attempt["ok"] is (verdict == "encrypted reply")


async def test_http_500_then_success_retries_the_identical_message(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "safe")
    receiver.replies = ["500", "500", "success"]
    delivery = (await act(sim, "follow", user=1))["delivery"]
    assert delivery["status"] == "delivered"
    assert [(a["number"], a["http_status"], a["ok"]) for a in delivery["attempts"]] == [
        (1, 500, False), (2, 500, False), (3, 200, True)]
    first, *rest = receiver.received
    assert all(r.query == first.query and r.body == first.body for r in rest) and len(rest) == 2


async def test_junk_every_time_fails_after_three_attempts(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    receiver.replies = ["junk"] * 5
    delivery = (await act(sim, "follow", user=1))["delivery"]
    assert len(delivery["attempts"]) == 3 and delivery["status"] == "failed" and delivery["notice"] == NOTICE
    assert delivery["attempts"][0]["reply"] == "junk" and USER_NOTICE == NOTICE


async def test_slow_server_times_out_and_the_retry_succeeds(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "safe", timeout_s=0.2, attempts=2)
    receiver.replies = ["hang", "success"]
    delivery = (await act(sim, "follow", user=1))["delivery"]
    first, second = delivery["attempts"]
    assert (first["ok"], first["http_status"], first["verdict"].startswith("timeout")) == (False, None, True)
    assert second["ok"] and delivery["status"] == "delivered"
    assert receiver.received[0].body == receiver.received[1].body


async def test_nobody_listening_is_no_answer(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext", attempts=2)
    await control(sim, "POST", "push-config", {"url": "http://127.0.0.1:9/nothing"})
    delivery = (await act(sim, "follow", user=1))["delivery"]
    assert [a["verdict"].startswith("no answer") for a in delivery["attempts"]] == [True, True]


async def test_duplicate_fault_delivers_the_same_push_twice(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "safe")
    status, _ = await control(sim, "POST", "faults", {"push": "duplicate", "times": 1})
    assert status == 200
    delivery = (await act(sim, "follow", user=1))["delivery"]
    assert delivery["duplicate"] and [a["copy"] for a in delivery["attempts"]] == [1, 2]
    assert len(receiver.received) == 2 and receiver.received[0].body == receiver.received[1].body
    await act(sim, "unfollow", user=1)
    assert len(receiver.received) == 3


async def test_concurrent_duplicates_arrive_together(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    await control(sim, "POST", "faults", {"push": "duplicate", "concurrent": True})
    receiver.replies = ["hang", "hang"]
    task = asyncio.create_task(act(sim, "follow", user=1))
    while len(receiver.received) < 2:
        receiver.arrived.clear()
        await receiver.arrived.wait()
    receiver.release.set()
    delivery = (await task)["delivery"]
    assert delivery["status"] == "delivered" and len(delivery["attempts"]) == 2


async def test_drop_fault_sends_nothing(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    await control(sim, "POST", "faults", {"push": "drop"})
    assert (await act(sim, "follow", user=1))["delivery"]["status"] == "dropped"
    assert receiver.received == []


async def test_push_fault_for_another_account_does_not_apply(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    await control(sim, "POST", "faults", {"push": "drop", "appid": "wx1c6e9b3f5a8d2470"})
    assert (await act(sim, "follow", user=1))["delivery"]["status"] == "delivered"


@pytest.mark.parametrize("spec", [{"push": "explode"}, {"push": "drop", "path": "/sns/auth"},
                                  {"push": "drop", "errcode": -1}, {"concurrent": True}])
async def test_bad_push_faults_are_400(sim: Sim, spec: dict[str, object]) -> None:
    assert (await control(sim, "POST", "faults", spec))[0] == 400


async def test_without_push_config_nothing_is_sent(sim: Sim) -> None:
    delivery = (await act(sim, "follow", user=1))["delivery"]
    assert delivery["status"] == "not_configured" and delivery["attempts"] == []


async def test_wait_false_answers_before_the_delivery(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    receiver.replies = ["hang"]
    answer = await act(sim, "follow", user=1, wait=False)
    assert answer["delivery"]["status"] == "pending"
    await receiver.arrived.wait()
    receiver.release.set()
    await sim.client.app[sender_key].drain()
    [delivery] = (await control(sim, "GET", "mp/deliveries"))[1]
    assert delivery["status"] == "delivered" and delivery["id"] == answer["delivery"]["id"]


async def test_delivery_log_filters_clears_and_resets(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "plaintext")
    await act(sim, "follow", user=1)
    await act(sim, "unfollow", user=1)
    log = (await control(sim, "GET", "mp/deliveries?event=unsubscribe"))[1]
    assert [d["event"] for d in log] == ["unsubscribe"] and log[0]["message"].startswith("<xml>")
    assert (await control(sim, "DELETE", "mp/deliveries"))[1] == []
    assert (await control(sim, "GET", "mp/deliveries"))[1] == []
    await act(sim, "follow", user=1)
    await control(sim, "POST", "reset")
    assert (await control(sim, "GET", "mp/deliveries"))[1] == []
    assert (await control(sim, "GET", "push-config"))[1]["configured"] is False
