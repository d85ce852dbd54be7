"""/wechat/mp/events over real HTTP: verification, the three modes, and every kind of bad push.

Pushes are built and sealed with wechatpy, the way WeChat's sender builds them. A refused push gets a
clear 4xx, stores nothing, and nothing here is ever a 500.
"""

from __future__ import annotations

import socket

import pytest

from tests.wechat.harness import World
from tests.wechat.mp.conftest import PusherFor, stored
from tests.wechat.mp.follow_page import FollowPage, ticket_of
from tests.wechat.mp.helpers import phone_action, push_to
from tests.wechat.mp.pushes import MP_AES_KEY, MP_TOKEN, Pusher, event_xml, sign
from webapp.app import create_app
from webapp.settings import Settings
from webapp.wechat.mp.crypto import MessageCrypto
from webapp.wechat_sim.fixture import MP_APPID

OPENID = "oMpUser0000000000000000000001"
WorldAndPusher = tuple[World, Pusher]


async def test_server_url_verification_echoes_echostr(mp_world: World) -> None:
    ts, nonce = str(int(mp_world.clock().timestamp())), "1514711492"
    query = {"signature": sign(MP_TOKEN, ts, nonce), "echostr": "4375120948345356249", "timestamp": ts, "nonce": nonce}
    resp = await mp_world.site.get("/wechat/mp/events", params=query)
    assert (resp.status, await resp.text()) == (200, "4375120948345356249")
    assert resp.content_type == "text/plain"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"signature": "0" * 40}, 403),
        ({"signature": "not hex"}, 400),
        ({"timestamp": "1000000000"}, 403),
        ({"echostr": ""}, 400),
        ({"echostr": "<script>"}, 400),
        ({"nonce": ""}, 400),
    ],
)
async def test_server_url_verification_refuses_bad_requests(mp_world: World, change: dict, status: int) -> None:
    ts, nonce = str(int(mp_world.clock().timestamp())), "1514711492"
    query = {"signature": sign(MP_TOKEN, ts, nonce), "echostr": "42", "timestamp": ts, "nonce": nonce} | change
    resp = await mp_world.site.get("/wechat/mp/events", params=query)
    assert resp.status == status
    assert "42" not in await resp.text()


async def test_each_mode_accepts_wechats_push_and_answers_success(each_mode: WorldAndPusher) -> None:
    world, pusher = each_mode
    status, reply = await pusher.post(event_xml(OPENID, "subscribe", pusher.timestamp, EventKey=""))
    assert (status, reply) == (200, "success")
    assert (await stored(world.sm))["wechat_mp_messages"] == 2  # the nonce and the event


async def test_a_duplicate_delivery_is_handled_once(each_mode: WorldAndPusher) -> None:
    world, pusher = each_mode
    xml = event_xml(OPENID, "subscribe", pusher.timestamp, EventKey="")
    assert await pusher.post(xml) == (200, "success")
    before = await stored(world.sm)
    assert await pusher.post(xml) == (200, "success")  # WeChat's retry: a new nonce, the same event
    query, body = pusher.wire(xml)
    assert await pusher.send(query, body) == (200, "success")
    assert await pusher.send(query, body) == (200, "success")  # the very same request again
    assert await stored(world.sm) == before  # a duplicate leaves no trace, not even its nonce


async def test_the_endpoint_is_hidden_without_a_token(aiohttp_client, wechat_settings, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    site = await aiohttp_client(create_app(wechat_settings, sessionmaker=sessionmaker, clock=clock))
    assert (await site.get("/wechat/mp/events", params={"echostr": "1"})).status == 404
    assert (await site.post("/wechat/mp/events", data=b"<xml/>")).status == 404


async def test_the_endpoint_is_hidden_without_the_official_account(
    aiohttp_client, mp_settings, sessionmaker, clock
) -> None:  # type: ignore[no-untyped-def]
    site = await aiohttp_client(create_app(mp_settings.with_(wechat_mp=None), sessionmaker=sessionmaker, clock=clock))
    assert (await site.get("/wechat/mp/events")).status == 404
    assert (await site.post("/wechat/mp/events", data=b"<xml/>")).status == 404


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><ToUserName>&lol3;</ToUserName></xml>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>&xxe;</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>event</MsgType></xml>"
)
BAD_BODIES = {
    "not XML": b"this is not xml",
    "JSON": b'{"ToUserName": "gh"}',
    "billion laughs": BILLION_LAUGHS.encode(),
    "external entity": EXTERNAL_ENTITY.encode(),
    "wrong root": b"<message><ToUserName>gh</ToUserName></message>",
    "missing fields": b"<xml><MsgType><![CDATA[event]]></MsgType></xml>",
    "not UTF-8": b"<xml><ToUserName>\xff\xfe</ToUserName></xml>",
    "empty": b"",
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
async def test_bad_plaintext_bodies_are_refused_and_store_nothing(
    plain_world: World, pusher_for: PusherFor, name: str
) -> None:
    pusher = pusher_for(plain_world, "plaintext")
    before = await stored(plain_world.sm)
    query, _ = pusher.wire("<xml/>")
    status, reply = await pusher.send(query, BAD_BODIES[name])
    assert status == 400, reply
    assert await stored(plain_world.sm) == before


@pytest.mark.parametrize("name", ["billion laughs", "external entity", "not XML"])
async def test_hostile_xml_inside_the_encryption_is_refused_too(
    mp_world: World, pusher_for: PusherFor, name: str
) -> None:
    pusher = pusher_for(mp_world, "safe")
    before = await stored(mp_world.sm)
    status, _ = await pusher.post(BAD_BODIES[name].decode())
    assert status == 400
    assert await stored(mp_world.sm) == before


def _tamper(query: dict[str, str], body: bytes, what: str) -> tuple[dict[str, str], bytes]:
    if what == "signature":
        return query | {"signature": sign("wrongToken", query["timestamp"], query["nonce"])}, body
    if what == "msg_signature":
        return query | {"msg_signature": "0" * 40}, body
    if what == "stale":
        old = str(int(query["timestamp"]) - 301)
        return query | {"timestamp": old, "signature": sign(MP_TOKEN, old, query["nonce"])}, body
    if what == "future":
        ahead = str(int(query["timestamp"]) + 301)
        return query | {"timestamp": ahead, "signature": sign(MP_TOKEN, ahead, query["nonce"])}, body
    if what == "no signature":
        return {k: v for k, v in query.items() if k not in ("signature", "msg_signature")}, body
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["signature", "msg_signature", "stale", "future", "no signature"])
async def test_forged_or_replayed_pushes_are_refused(what: str, each_mode: WorldAndPusher) -> None:
    world, pusher = each_mode
    if pusher.mode == "plaintext" and what == "msg_signature":
        return  # plaintext mode has no msg_signature
    before = await stored(world.sm)
    query, body = pusher.wire(event_xml(OPENID, "subscribe", pusher.timestamp, EventKey=""))
    status, reply = await pusher.send(*_tamper(query, body, what))
    assert status in (400, 403), reply
    assert await stored(world.sm) == before


async def test_a_push_sealed_for_another_appid_is_refused(mp_world: World, pusher_for: PusherFor) -> None:
    pusher = pusher_for(mp_world, "safe")
    pusher.appid = "wx0123456789abcdef"  # right Token and key, someone else's appid inside
    before = await stored(mp_world.sm)
    status, reply = await pusher.post(event_xml(OPENID, "subscribe", pusher.timestamp, EventKey=""))
    assert (status, reply.strip()) == (403, "sealed for another appid")
    assert await stored(mp_world.sm) == before


async def test_a_plaintext_push_is_refused_when_an_aes_key_is_configured(
    mp_world: World, pusher_for: PusherFor
) -> None:
    pusher = pusher_for(mp_world, "plaintext")
    before = await stored(mp_world.sm)
    status, reply = await pusher.post(event_xml(OPENID, "subscribe", pusher.timestamp, EventKey=""))
    # its body would carry no signature at all; the answer names this refusal, not a bad signature
    assert (status, reply.strip()) == (403, "plaintext push refused: WECHAT_MP_AES_KEY is set, so WeChat encrypts")
    assert await stored(mp_world.sm) == before


async def test_an_encrypted_push_is_refused_in_plaintext_mode(plain_world: World, pusher_for: PusherFor) -> None:
    pusher = pusher_for(plain_world, "safe")
    before = await stored(plain_world.sm)
    status, reply = await pusher.post(event_xml(OPENID, "subscribe", pusher.timestamp, EventKey=""))
    assert (status, reply.strip()) == (400, "encrypted push but no WECHAT_MP_AES_KEY is configured")
    assert await stored(plain_world.sm) == before


async def test_compatible_mode_trusts_only_the_encrypted_part(mp_world: World, pusher_for: PusherFor) -> None:
    pusher = pusher_for(mp_world, "compatible")
    query, body = pusher.wire(event_xml(OPENID, "subscribe", pusher.timestamp, EventKey=""))
    forged = body.replace(
        b"<Event><![CDATA[subscribe]]></Event>", b"<Event><![CDATA[user_authorization_revoke]]></Event>"
    )
    assert forged != body
    assert await pusher.send(query, forged) == (200, "success")  # the sealed subscribe is what counts


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_oversized_body_is_refused_before_it_is_read(
    plain_world: World, pusher_for: PusherFor, chunked: bool
) -> None:
    pusher = pusher_for(plain_world, "plaintext")
    query, _ = pusher.wire("<xml/>")
    body = b"<xml>" + b"x" * (64 * 1024) + b"</xml>"

    async def stream():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    before = await stored(plain_world.sm)
    status, reply = await pusher.send(query, stream() if chunked else body)  # type: ignore[arg-type]
    assert (status, reply.strip()) == (413, "body too large")
    assert await stored(plain_world.sm) == before


async def test_encrypted_text_replies_open_with_wechatpy_and_name_the_site(
    mp_world: World, pusher_for: PusherFor
) -> None:
    pusher = pusher_for(mp_world, "safe")
    scan = event_xml(OPENID, "SCAN", pusher.timestamp, EventKey="A" * 22 + "0" * 39, Ticket="gQunknownTicket")
    status, reply = await pusher.post(scan)
    assert status == 200
    assert "<ToUserName><![CDATA[oMpUser0000000000000000000001]]></ToUserName>" in reply
    assert "二维码已过期" in reply and "localhost" in reply  # an unknown scene: expired, in the scanner's chat


async def test_an_unreachable_database_is_a_503_for_wechat_to_retry(aiohttp_client, mp_settings, clock) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = mp_settings.with_(database_url=f"postgresql://nobody:x@127.0.0.1:{port}/none")
    site = await aiohttp_client(create_app(settings, clock=clock))
    pusher = Pusher(site, MP_APPID, "safe", int(clock().timestamp()))
    status, reply = await pusher.post(event_xml(OPENID, "subscribe", pusher.timestamp, EventKey=""))
    assert (status, reply.strip()) == (503, "temporarily unavailable")


def test_the_settings_take_a_43_character_encoding_aes_key_and_refuse_any_other() -> None:
    def aes_key_problems(key: str) -> list[str]:
        env = {"WECHAT_MP_APPID": MP_APPID, "WECHAT_MP_SECRET": "s", "WECHAT_MP_TOKEN": MP_TOKEN, "WECHAT_MP_AES_KEY": key}
        return [p for p in Settings.from_env(env).problems() if "WECHAT_MP_AES_KEY" in p]

    assert aes_key_problems(MP_AES_KEY) == []
    assert MessageCrypto(MP_TOKEN, MP_AES_KEY, MP_APPID).decrypt(MessageCrypto(MP_TOKEN, MP_AES_KEY, MP_APPID).encrypt(b"x")) == b"x"
    for wrong in (MP_AES_KEY[:-1], MP_AES_KEY + "A", MP_AES_KEY[:-1] + "="):
        assert aes_key_problems(wrong), wrong


async def test_the_simulators_pushes_and_our_replies_agree_in_each_mode(each_mode: WorldAndPusher) -> None:
    world, pusher = each_mode
    await push_to(world, mode=pusher.mode)  # the simulator also checks the URL with its own GET
    follow = await phone_action(world, "follow", user=1)
    assert [a["verdict"] for a in follow["delivery"]["attempts"]] == ["success"]
    page = FollowPage(world.browser())
    _, data = await page.open()
    scan = await phone_action(world, "scan", user=1, ticket=await ticket_of(world, data["scene"]))
    [attempt] = scan["delivery"]["attempts"]
    assert attempt["verdict"] == ("reply xml" if pusher.mode == "plaintext" else "encrypted reply")
    assert (await page.wait())[1]["status"] == "scanned"


async def test_a_verifications_signature_never_signs_a_plaintext_push(plain_world: World, pusher_for: PusherFor) -> None:
    # The GET's query carries signature = sha1(Token, timestamp, nonce): exactly what a plaintext POST needs.
    ts, nonce = str(int(plain_world.clock().timestamp())), "1514711493"
    query = {"signature": sign(MP_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    assert (await plain_world.site.get("/wechat/mp/events", params=query | {"echostr": "77"})).status == 200
    before = await stored(plain_world.sm)

    forged = event_xml(OPENID, "unsubscribe", int(ts))
    status, _reply = await pusher_for(plain_world, "plaintext").send(query | {"openid": OPENID}, forged.encode())

    assert status == 200  # answered like any duplicate (WeChat would retry anything else), and not handled:
    assert await stored(plain_world.sm) == before
    # The same push under a fresh nonce is handled: what stopped the first was the spent nonce, not the body.
    status, _reply = await pusher_for(plain_world, "plaintext").post(event_xml(OPENID, "unsubscribe", int(ts)))
    assert status == 200
    assert (await stored(plain_world.sm))["wechat_mp_messages"] == before["wechat_mp_messages"] + 2


async def test_a_verification_cannot_be_replayed(mp_world: World) -> None:
    ts, nonce = str(int(mp_world.clock().timestamp())), "1514711494"
    query = {"signature": sign(MP_TOKEN, ts, nonce), "echostr": "88", "timestamp": ts, "nonce": nonce}
    assert (await mp_world.site.get("/wechat/mp/events", params=query)).status == 200
    assert (await mp_world.site.get("/wechat/mp/events", params=query)).status == 403


@pytest.mark.parametrize("encoding", ["rot13", "base64", "hex", "no-such-codec", "utf-7", "utf-16"])
async def test_an_odd_xml_encoding_is_refused_signed_or_not(encoding: str, each_mode: WorldAndPusher) -> None:
    world, pusher = each_mode
    before = await stored(world.sm)
    xml = f'<?xml version="1.0" encoding="{encoding}"?>' + event_xml(OPENID, "subscribe", pusher.timestamp, EventKey="")
    query, body = pusher.wire(xml)
    unsigned = {k: v for k, v in query.items() if k not in ("signature", "msg_signature")}
    for q, b in ((query, body), (unsigned, body), (unsigned, xml.encode())):
        status, reply = await pusher.send(q, b)
        assert status in (400, 403), reply
        assert "Traceback" not in reply
    assert await stored(world.sm) == before
