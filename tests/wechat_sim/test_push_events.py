"""Every event shape in every push mode, received by a wechatpy server over real HTTP (§10.2, §10.3)."""

from __future__ import annotations

from typing import Any

import pytest
import xmltodict
from wechatpy.events import ScanEvent, SubscribeEvent, SubscribeScanEvent, UnsubscribeEvent
from wechatpy.messages import UnknownMessage

from tests.wechat_sim.conftest import T0, Receiver, Sim, control, new_param_qr
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids, mp_crypto

MODES = ("plaintext", "compatible", "safe")
OPENID = ids.openid_for(fx.MP_APPID, 1)
GH = ids.original_id_for(fx.MP_APPID)


async def configure(sim: Sim, receiver: Receiver, mode: str, **extra: Any) -> None:
    """Point the official account's pushes at the receiver."""
    status, body = await control(sim, "POST", "push-config", receiver.config(mode, **extra))
    assert status == 200, body


async def act(sim: Sim, action: str, **body: Any) -> dict[str, Any]:
    """Do a user action through the control API; assert it was accepted."""
    status, answer = await control(sim, "POST", f"mp/{action}", body)
    assert status == 200, answer
    return answer


def fields(xml: str) -> dict[str, Any]:
    """The event's elements as a dict."""
    return dict(xmltodict.parse(xml)["xml"])


@pytest.mark.parametrize("mode", MODES)
async def test_plain_follow_is_subscribe_with_empty_event_key(sim: Sim, receiver: Receiver, mode: str) -> None:
    await configure(sim, receiver, mode)
    await sim.advance(5)
    answer = await act(sim, "follow", user=1)
    assert answer["event"] == "subscribe" and answer["delivery"]["status"] == "delivered"
    [push] = receiver.received
    assert isinstance(push.message, SubscribeEvent) and push.message.source == OPENID and push.message.target == GH
    assert "<EventKey><![CDATA[]]></EventKey>" in push.xml and f"<CreateTime>{int(T0) + 5}</CreateTime>" in push.xml
    assert push.query["openid"] == OPENID and push.query["timestamp"] == str(int(T0) + 5)
    assert receiver.errors == []


@pytest.mark.parametrize("mode", MODES)
async def test_non_follower_scanning_and_following_sends_only_subscribe_qrscene(sim: Sim, receiver: Receiver,
                                                                                mode: str) -> None:
    await configure(sim, receiver, mode)
    qr = await new_param_qr(sim, "login_k3F")
    answer = await act(sim, "scan", user=2, ticket=qr["ticket"], follow=True)
    assert answer["event"] == "subscribe"
    [push] = receiver.received
    assert isinstance(push.message, SubscribeScanEvent)
    assert push.message.scene_id == "login_k3F" and push.message.ticket == qr["ticket"]
    assert fields(push.xml)["EventKey"] == "qrscene_login_k3F"


@pytest.mark.parametrize("mode", MODES)
async def test_follower_scanning_sends_scan_with_the_bare_scene(sim: Sim, receiver: Receiver, mode: str) -> None:
    await act(sim, "follow", user=3)
    await configure(sim, receiver, mode)
    qr = await new_param_qr(sim, 123456, action="QR_SCENE")  # type: ignore[arg-type]
    assert (await act(sim, "scan", user=3, ticket=qr["ticket"]))["event"] == "SCAN"
    [push] = receiver.received
    assert isinstance(push.message, ScanEvent) and push.message.scene_id == "123456"
    assert fields(push.xml)["Ticket"] == qr["ticket"]


@pytest.mark.parametrize("mode", MODES)
async def test_unfollow_is_unsubscribe(sim: Sim, receiver: Receiver, mode: str) -> None:
    await act(sim, "follow", user=1)
    await configure(sim, receiver, mode)
    assert (await act(sim, "unfollow", user=1))["event"] == "unsubscribe"
    assert isinstance(receiver.received[0].message, UnsubscribeEvent)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "event"), [("revoke", "user_authorization_revoke"),
                                               ("profile", "user_info_modified")])
async def test_authorization_changes_come_from_the_platform_account(sim: Sim, receiver: Receiver, mode: str,
                                                                    action: str, event: str) -> None:
    await configure(sim, receiver, mode)
    extra = {"nickname": "新名字"} if action == "profile" else {}
    assert (await act(sim, action, user=4, **extra))["event"] == event
    [push] = receiver.received
    assert isinstance(push.message, UnknownMessage)
    platform = ids.push_account_for(fx.MP_APPID)
    assert push.message.source == platform != ids.openid_for(fx.MP_APPID, 4) and push.query["openid"] == platform
    assert fields(push.xml) == {
        "ToUserName": GH, "FromUserName": platform, "CreateTime": str(int(T0)), "MsgType": "event", "Event": event,
        "OpenID": ids.openid_for(fx.MP_APPID, 4), "AppID": fx.MP_APPID, "RevokeInfo": "205",
        "UnionID": ids.unionid_for(fx.OPEN_PLATFORM_ID, 4)}


async def test_website_app_revoke_goes_to_its_own_push_url_with_301(sim: Sim, receiver: Receiver) -> None:
    receiver.appid = fx.WEBSITE_APPID
    await configure(sim, receiver, "safe", appid=fx.WEBSITE_APPID)
    await act(sim, "revoke", user=1, appid=fx.WEBSITE_APPID)
    body = fields(receiver.received[0].xml)
    assert body["AppID"] == fx.WEBSITE_APPID and body["RevokeInfo"] == "301"
    assert body["OpenID"] == ids.openid_for(fx.WEBSITE_APPID, 1)


async def test_unbound_app_events_have_no_unionid(sim: Sim, receiver: Receiver) -> None:
    receiver.appid = fx.UNBOUND_APPID
    await configure(sim, receiver, "plaintext", appid=fx.UNBOUND_APPID)
    await act(sim, "revoke", user=1, appid=fx.UNBOUND_APPID, revoke_info=301)
    assert "UnionID" not in fields(receiver.received[0].xml)


async def test_body_shape_per_mode(sim: Sim, receiver: Receiver) -> None:
    for mode in MODES:
        await configure(sim, receiver, mode)
        await act(sim, "follow", user=5)
        await act(sim, "unfollow", user=5)
    plain, _, compatible, _, safe, _ = receiver.received
    assert "encrypt_type" not in plain.query and "<Encrypt>" not in plain.body
    assert compatible.query["encrypt_type"] == "aes" and "<Event><![CDATA[subscribe]]></Event>" in compatible.body
    assert "<Encrypt>" in compatible.body
    assert set(fields(safe.body)) == {"ToUserName", "Encrypt"} and fields(safe.body)["ToUserName"] == GH
    encrypted = fields(safe.body)["Encrypt"]
    assert safe.query["msg_signature"] == mp_crypto.signature(receiver.token, safe.query["timestamp"],
                                                              safe.query["nonce"], encrypted)


async def test_arbitrary_xml_push(sim: Sim, receiver: Receiver) -> None:
    await configure(sim, receiver, "safe")
    xml = ("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oOdd]]></FromUserName>"
           "<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weird_event]]></Event></xml>")
    answer = await act(sim, "push", xml=xml)
    assert answer["event"] == "weird_event" and answer["delivery"]["status"] == "delivered"
    assert receiver.received[0].xml == xml and receiver.received[0].query["openid"] == "oOdd"


async def test_get_url_verification_on_config(sim: Sim, receiver: Receiver) -> None:
    status, body = await control(sim, "POST", "push-config", receiver.config("safe", verify=True))
    assert status == 200 and body["configured"] is True
    status, body = await control(sim, "POST", "push-config", receiver.config("safe", verify=True, token="Wrong1"))
    assert status == 422 and body["error"].startswith("URL verification failed")
    assert (await control(sim, "GET", "push-config"))[1]["token"] == receiver.token
