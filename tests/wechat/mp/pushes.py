"""Pushes built the way WeChat builds them, sealed by wechatpy (an independent implementation).

`Pusher` signs and (in compatible and safe mode) encrypts an event with wechatpy, POSTs it to the
site's /wechat/mp/events, and opens encrypted replies with wechatpy again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp.test_utils import TestClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

Mode = Literal["plaintext", "compatible", "safe"]
MP_TOKEN = "mpToken2026"
MP_AES_KEY = "k3F9vQ2wLm8ZpR4tYx7Bn1Cd6Gh0Js5Ke2Uf8Wa4Mq0"  # 43 letters or digits
ORIGINAL_ID = "gh_5e1f0c2d3a4b"
PUSH_ACCOUNT = "o_platform_push_account"  # the revoke family's FromUserName: not the user
_ENCRYPT_RE = re.compile(r"<Encrypt><!\[CDATA\[([^\]]+)\]\]></Encrypt>")
_SIGNATURE_RE = re.compile(r"<MsgSignature><!\[CDATA\[([0-9a-f]+)\]\]></MsgSignature>")


def sign(*parts: str) -> str:
    """WeChat's sha1 signature, computed by wechatpy."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def event_xml(from_user: str, event: str, create_time: int, **fields: str) -> str:
    """An event as WeChat's XML: header fields, then `fields` in order (all CDATA)."""
    extra = "".join(f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><FromUserName><![CDATA[{from_user}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{extra}</xml>"
    )


@dataclass
class Pusher:
    """WeChat's push sender for one mode, aimed at one site."""

    site: TestClient
    appid: str
    mode: Mode
    timestamp: int
    token: str = MP_TOKEN
    aes_key: str = MP_AES_KEY
    nonces: list[str] = field(default_factory=list)

    def wire(self, xml: str, *, timestamp: int | None = None, nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """The query and body WeChat would send for `xml`."""
        ts = str(self.timestamp if timestamp is None else timestamp)
        nonce = nonce or str(1_000_000_000 + len(self.nonces) * 7919 + self.timestamp % 1000)
        self.nonces.append(nonce)
        query = {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "o"}
        if self.mode == "plaintext":
            return query, xml.encode("utf-8")
        sealed = WeChatCrypto(self.token, self.aes_key, self.appid).encrypt_message(xml, nonce, ts)
        encrypted = _ENCRYPT_RE.search(sealed).group(1)  # type: ignore[union-attr]
        query |= {"encrypt_type": "aes", "msg_signature": _SIGNATURE_RE.search(sealed).group(1)}  # type: ignore[union-attr]
        element = f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        if self.mode == "safe":
            body = f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName>{element}</xml>"
        else:
            body = xml.replace("</xml>", element + "</xml>")
        return query, body.encode("utf-8")

    async def post(self, xml: str, **wire: Any) -> tuple[int, str]:
        """POST one push; return the status and the reply (decrypted when it came encrypted)."""
        query, body = self.wire(xml, **wire)
        return await self.send(query, body)

    async def send(self, query: dict[str, str], body: bytes, **kwargs: Any) -> tuple[int, str]:
        """POST exactly this query and body."""
        resp = await self.site.post(
            "/wechat/mp/events", params=query, data=body, headers={"Content-Type": "text/xml"}, **kwargs
        )
        return resp.status, self.open(await resp.text())

    def open(self, reply: str) -> str:
        """The reply as the user's WeChat would read it (decrypted and signature-checked by wechatpy)."""
        if "<Encrypt>" not in reply:
            return reply
        ts = re.search(r"<TimeStamp>(\d+)</TimeStamp>", reply).group(1)  # type: ignore[union-attr]
        nonce = re.search(r"<Nonce><!\[CDATA\[(\d+)\]\]></Nonce>", reply).group(1)  # type: ignore[union-attr]
        signature = _SIGNATURE_RE.search(reply).group(1)  # type: ignore[union-attr]
        crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
        return str(crypto.decrypt_message(reply, signature, ts, nonce))


def reply_content(reply: str) -> str:
    """The text of a passive text reply."""
    match = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", reply, re.DOTALL)
    assert match and "<MsgType><![CDATA[text]]></MsgType>" in reply, reply
    return match.group(1)
