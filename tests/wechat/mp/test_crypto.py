"""The push crypto against WeChat's two official vectors (docs/wechat.md, "Server URL verification and message push") and wechatpy."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.crypto import WeChatCrypto

from tests.wechat.mp.pushes import sign
from webapp.wechat.mp.crypto import CryptoError, MessageCrypto, WrongAppId, aes_key, signature, signature_matches

VECTOR_KEY = "A" * 43  # key = 32 zero bytes
VECTOR_APPID = "wxba5fad812f8e6fb9"
VECTOR_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6Js"
    "XUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8E"
    "ajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)


def test_official_verification_vector() -> None:
    assert signature("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert signature_matches("F464B24FC39322E44B38AA78F5EDD27BD1441696", "AAAAA", "1714036504", "1514711492")


def test_official_message_vector_signatures_and_plaintext() -> None:
    crypto = MessageCrypto("AAAAA", VECTOR_KEY, VECTOR_APPID)
    assert signature("AAAAA", "1714112445", "415670741") == "6c5c811b55cc85e0e1b54100749188c20beb3f5d"
    assert crypto.sign("1714112445", "415670741", VECTOR_ENCRYPT) == "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
    message = crypto.decrypt(VECTOR_ENCRYPT)
    assert len(message) == 167
    assert json.loads(message) == {
        "ToUserName": "gh_97417a04a28d",
        "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
        "CreateTime": 1714112445,
        "MsgType": "event",
        "Event": "debug_demo",
        "debug_str": "hello world",
    }


def test_official_vector_pads_19_bytes_so_a_16_byte_unpadder_would_refuse_it() -> None:
    # 16 + 4 + 167 + 18 = 205 bytes → padded to 224 with 19 bytes of 0x13: more than AES's 16.
    crypto = MessageCrypto("AAAAA", VECTOR_KEY, VECTOR_APPID)
    assert len(base64.b64decode(VECTOR_ENCRYPT)) == 224
    resealed = crypto.encrypt(crypto.decrypt(VECTOR_ENCRYPT), random16=bytes(16))
    assert len(base64.b64decode(resealed)) == 224


def test_the_official_vector_is_refused_for_another_appid() -> None:
    with pytest.raises(WrongAppId):
        MessageCrypto("AAAAA", VECTOR_KEY, "wx0000000000000000").decrypt(VECTOR_ENCRYPT)


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 43, 44, 45, 1000])
def test_wechatpy_opens_what_we_seal_and_we_open_what_it_seals(size: int) -> None:
    ours = MessageCrypto("tok3n", "k3F9vQ2wLm8ZpR4tYx7Bn1Cd6Gh0Js5Ke2Uf8Wa4Mq0", "wx8e2b7d4a1c9f3065")
    theirs = WeChatCrypto("tok3n", "k3F9vQ2wLm8ZpR4tYx7Bn1Cd6Gh0Js5Ke2Uf8Wa4Mq0", "wx8e2b7d4a1c9f3065")
    message = ("<xml>" + "喵" * size + "</xml>").encode("utf-8")
    sealed = ours.encrypt(message)
    envelope = f"<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
    assert theirs.decrypt_message(envelope, ours.sign("1", "2", sealed), "1", "2").encode("utf-8") == message
    from_wechatpy = theirs.encrypt_message(message.decode("utf-8"), "42", "1714112445")
    encrypted = from_wechatpy.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert ours.decrypt(encrypted) == message
    assert signature_matches(
        from_wechatpy.split("<MsgSignature><![CDATA[")[1].split("]]>")[0], "tok3n", "1714112445", "42", encrypted
    )


def test_signature_sorts_bytewise_like_wechatpy() -> None:
    parts = ("Zz9", "aa1", "1714112445", "0415670741", "+/==")
    assert signature(*parts) == sign(*parts)


def test_the_43rd_character_may_carry_spare_bits() -> None:
    assert aes_key("A" * 42 + "B") == bytes(32)  # "B" sets only the two bits base64 throws away


@pytest.mark.parametrize("key", ["A" * 42, "A" * 44, "A" * 42 + "=", "A" * 42 + "-"])
def test_malformed_encoding_aes_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        aes_key(key)


@pytest.mark.parametrize(
    "encrypted",
    [
        "not base64!",
        base64.b64encode(b"short").decode(),
        base64.b64encode(bytes(15)).decode(),
        "",
        VECTOR_ENCRYPT[:-24] + "A" * 20 + "==",  # last block corrupted: padding no longer valid
    ],
)
def test_corrupt_ciphertexts_are_crypto_errors_never_crashes(encrypted: str) -> None:
    with pytest.raises(CryptoError):
        MessageCrypto("AAAAA", VECTOR_KEY, VECTOR_APPID).decrypt(encrypted)


def test_a_length_field_past_the_end_is_refused() -> None:
    plain = bytes(16) + (10_000).to_bytes(4, "big") + VECTOR_APPID.encode()  # claims 10,000 bytes, has none
    pad = 32 - len(plain) % 32
    key = aes_key(VECTOR_KEY)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    forged = base64.b64encode(enc.update(plain + bytes([pad]) * pad) + enc.finalize()).decode()
    with pytest.raises(CryptoError):
        MessageCrypto("AAAAA", VECTOR_KEY, VECTOR_APPID).decrypt(forged)
