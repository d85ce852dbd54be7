"""Property tests over the push boundary (webapp.wechat.mp.inbound): any query and body, signed or not,
is a Delivery or a Refused, never another exception. Signed bodies are included, so the parser behind
the signature check sees hostile XML too (odd encodings, DTDs, deep nesting, invalid bytes).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from webapp.wechat.mp.crypto import MessageCrypto, signature
from webapp.wechat.mp.inbound import Delivery, PushConfig, Refused, open_push, verify_url

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
TOKEN = "mpToken2026"
KEY = "k3F9vQ2wLm8ZpR4tYx7Bn1Cd6Gh0Js5Ke2Uf8Wa4Mq0"
APPID = "wx1234567890abcdef"
FAST = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

fields = st.dictionaries(st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "EventKey",
                                          "Ticket", "OpenID", "AppID", "MsgId", "Encrypt"]),
                         st.text(max_size=40) | st.sampled_from(["gh_1", "o1", "1700000000", "event", "subscribe"]),
                         max_size=8)
encodings = st.sampled_from(["", "utf-8", "rot13", "base64", "hex", "utf-16", "utf-7", "latin-1", "nope", "zlib"])


@st.composite
def xml_bodies(draw: st.DrawFn) -> bytes:
    """XML as WeChat writes it, and everything a forger might put around or inside it."""
    encoding = draw(encodings)
    head = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else ""
    doctype = draw(st.sampled_from(["", '<!DOCTYPE x [<!ENTITY e "boom">]>', '<!DOCTYPE x SYSTEM "file:///etc/passwd">']))
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in draw(fields).items())
    nesting = draw(st.integers(min_value=0, max_value=3)) * "<a>"
    text = f"{head}{doctype}<xml>{nesting}{inner}</xml>"
    raw = text.encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([raw, raw[: len(raw) // 2], raw + b"\xff\xfe", b"\x00" + raw])) if draw(st.booleans()) else raw


bodies = xml_bodies() | st.binary(max_size=300)
queries = st.dictionaries(st.sampled_from(["signature", "timestamp", "nonce", "encrypt_type", "msg_signature", "echostr",
                                           "openid"]), st.text(max_size=50), max_size=6)


def check(query: dict[str, str], body: bytes, config: PushConfig) -> None:
    try:
        delivery = open_push(query, body, config, now=NOW)
    except Refused as refused:
        event(f"refused {refused.status}")
        assert refused.status in (400, 403, 413)
        return
    event("accepted")
    assert isinstance(delivery, Delivery)


@FAST
@given(queries, bodies, st.booleans())
def test_any_unsigned_push_is_refused_or_a_delivery(query: dict[str, str], body: bytes, safe: bool) -> None:
    check(query, body, PushConfig(TOKEN, MessageCrypto(TOKEN, KEY, APPID) if safe else None))


@FAST
@given(bodies, st.sampled_from(["1514711492", "42"]))
def test_any_signed_plaintext_push_is_refused_or_a_delivery(body: bytes, nonce: str) -> None:
    query = {"signature": signature(TOKEN, TS, nonce), "timestamp": TS, "nonce": nonce}
    check(query, body, PushConfig(TOKEN, None))


@FAST
@given(bodies, st.sampled_from(["", "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>{}</xml>", "{}{}"]))
def test_any_signed_encrypted_push_is_refused_or_a_delivery(inner: bytes, wrapper: str) -> None:
    crypto = MessageCrypto(TOKEN, KEY, APPID)
    encrypted = crypto.encrypt(inner)
    element = f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
    body = (wrapper.format(element, element) if wrapper else element).encode()
    query = {"signature": signature(TOKEN, TS, "7"), "timestamp": TS, "nonce": "7", "encrypt_type": "aes",
             "msg_signature": crypto.sign(TS, "7", encrypted)}
    check(query, body, PushConfig(TOKEN, crypto))


@FAST
@given(queries)
def test_any_verification_query_is_refused_or_echoed(query: dict[str, str]) -> None:
    try:
        checked = verify_url(query, TOKEN, now=NOW)
    except Refused as refused:
        assert refused.status in (400, 403)
        return
    assert checked.echostr == query["echostr"]
