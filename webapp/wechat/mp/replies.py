"""What the site answers WeChat: `success`, or a short passive text reply (encrypted when the push was)."""

from __future__ import annotations

import secrets
from xml.sax.saxutils import escape

from aiohttp import web

from webapp.wechat.mp.crypto import MessageCrypto
from webapp.wechat.mp.inbound import Push

SUCCESS = "success"
MAX_TEXT_CHARS = 600  # passive replies are short: WeChat caps text replies at 2048 bytes


def success() -> web.Response:
    """The acknowledgement WeChat recommends (also in safe mode: nothing to encrypt)."""
    return web.Response(text=SUCCESS, content_type="text/plain")


def refused(status: int, reason: str) -> web.Response:
    """A clear answer to a push that was not handled."""
    return web.Response(status=status, text=f"{reason}\n", content_type="text/plain")


def text_reply(push: Push, content: str, *, now: int, crypto: MessageCrypto | None) -> web.Response:
    """A passive text message to the user who pushed `push`; sealed with `crypto` when given."""
    xml = (
        "<xml>"
        f"<ToUserName>{_cdata(push.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(push.to_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content[:MAX_TEXT_CHARS])}</Content>"
        "</xml>"
    )
    if crypto is not None:
        xml = sealed(crypto, xml, now=now)
    return web.Response(text=xml, content_type="application/xml")


def sealed(crypto: MessageCrypto, xml: str, *, now: int) -> str:
    """The encrypted envelope: Encrypt, MsgSignature over Token+TimeStamp+Nonce+Encrypt, TimeStamp, Nonce."""
    encrypted = crypto.encrypt(xml.encode("utf-8"))
    timestamp, nonce = str(now), str(secrets.randbelow(9 * 10**9) + 10**9)
    return (
        "<xml>"
        f"<Encrypt>{_cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{_cdata(crypto.sign(timestamp, nonce, encrypted))}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce>{_cdata(nonce)}</Nonce>"
        "</xml>"
    )


def _cdata(value: str) -> str:
    """A CDATA section, or escaped text when the value itself contains "]]>"."""
    if "]]>" not in value:
        return f"<![CDATA[{value}]]>"
    return escape(value)
