"""The push crypto: both official vectors (§10.1, §10.2), padding to 32 bytes, and interop with wechatpy."""

from __future__ import annotations

import base64
import json

import pytest
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from webapp.wechat_sim import mp_crypto
from webapp.wechat_sim.mp_crypto import PushCryptoError

VECTOR_KEY, VECTOR_TOKEN, VECTOR_APPID = "A" * 43, "AAAAA", "wxba5fad812f8e6fb9"
VECTOR_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6Js"
    "XUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8Ea"
    "jAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=")
KEY43 = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def test_url_verification_vector() -> None:
    assert mp_crypto.signature("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"


def test_push_vector_signatures() -> None:
    assert mp_crypto.signature(VECTOR_TOKEN, "1714112445", "415670741") == "6c5c811b55cc85e0e1b54100749188c20beb3f5d"
    assert (mp_crypto.signature(VECTOR_TOKEN, "1714112445", "415670741", VECTOR_ENCRYPT)
            == "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3")


def test_push_vector_decrypts_to_167_byte_event_padded_by_19() -> None:
    key = mp_crypto.aes_key(VECTOR_KEY)
    assert key == bytes(32)
    message = mp_crypto.decrypt(key, VECTOR_ENCRYPT, VECTOR_APPID)
    assert len(message) == 167
    assert json.loads(message) == {"ToUserName": "gh_97417a04a28d", "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
                                   "CreateTime": 1714112445, "MsgType": "event", "Event": "debug_demo",
                                   "debug_str": "hello world"}
    assert 16 + 4 + 167 + len(VECTOR_APPID) + 19 == len(base64.b64decode(VECTOR_ENCRYPT))


def test_vector_round_trips_with_the_same_random_prefix() -> None:
    key = mp_crypto.aes_key(VECTOR_KEY)
    plain = mp_crypto._cipher(key).decryptor().update(base64.b64decode(VECTOR_ENCRYPT))
    message = mp_crypto.decrypt(key, VECTOR_ENCRYPT, VECTOR_APPID)
    assert mp_crypto.encrypt(key, message, VECTOR_APPID, random16=plain[:16]) == VECTOR_ENCRYPT


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 44, 100, 1000])
def test_padding_is_pkcs7_over_32_bytes(size: int) -> None:
    key = mp_crypto.aes_key(KEY43)
    encrypted = mp_crypto.encrypt(key, b"x" * size, "wxapp")
    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert mp_crypto.decrypt(key, encrypted, "wxapp") == b"x" * size


def test_wechatpy_decrypts_ours_and_we_decrypt_wechatpys() -> None:
    key = mp_crypto.aes_key(KEY43)
    message = "<xml><Content><![CDATA[你好 🌸]]></Content></xml>"
    ours = mp_crypto.encrypt(key, message.encode(), "wxapp")
    assert PrpCrypto(key).decrypt(ours, "wxapp") == message
    theirs = PrpCrypto(key).encrypt(message, "wxapp").decode()
    assert mp_crypto.decrypt(key, theirs, "wxapp").decode() == message
    reply = WeChatCrypto("tok", KEY43, "wxapp").encrypt_message(message, "999", "1700000000")
    assert "<Encrypt>" in reply


def test_the_43rd_character_may_carry_spare_bits() -> None:
    assert mp_crypto.aes_key("A" * 42 + "B") == mp_crypto.aes_key("A" * 42 + "A")


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda e: e, "appid mismatch"),
    (lambda e: "!!" + e, "not base64"),
    (lambda e: base64.b64encode(base64.b64decode(e)[:-1]).decode(), "whole number of AES blocks"),
])
def test_decrypt_refuses_foreign_or_broken_ciphertexts(mutate: object, message: str) -> None:
    key = mp_crypto.aes_key(KEY43)
    encrypted = mp_crypto.encrypt(key, b"<xml/>", "wxother")
    with pytest.raises(PushCryptoError, match=message):
        mp_crypto.decrypt(key, mutate(encrypted), "wxapp")  # type: ignore[operator]


def test_decrypt_with_the_wrong_key_fails_cleanly() -> None:
    encrypted = mp_crypto.encrypt(mp_crypto.aes_key(KEY43), b"<xml/>", "wxapp")
    with pytest.raises(PushCryptoError):
        mp_crypto.decrypt(mp_crypto.aes_key("B" * 43), encrypted, "wxapp")


def test_bad_encoding_aes_key() -> None:
    with pytest.raises(PushCryptoError):
        mp_crypto.aes_key("short")
