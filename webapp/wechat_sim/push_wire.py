"""A push on the wire: signed query and body per mode (§10.2), and the verdict on the server's reply."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from webapp.wechat_sim import ids, mp_crypto
from webapp.wechat_sim.mp_crypto import PushCryptoError
from webapp.wechat_sim.mp_events import PushMessage, cdata
from webapp.wechat_sim.push_config import PushConfig


@dataclass(frozen=True)
class Wire:
    """The exact request of one push; every retry resends it unchanged."""

    query: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Verdict:
    """What WeChat makes of a reply: accepted or not, and why."""

    ok: bool
    reason: str


def build(config: PushConfig, message: PushMessage, now: float) -> Wire:
    """Sign and (in compatible and safe mode) encrypt a message."""
    timestamp, nonce = str(int(now)), ids.new_nonce()
    query = {"signature": mp_crypto.signature(config.token, timestamp, nonce), "timestamp": timestamp,
             "nonce": nonce, "openid": message.from_user}
    if config.mode == "plaintext":
        return Wire(query, message.xml.encode("utf-8"))
    encrypted = mp_crypto.encrypt(mp_crypto.aes_key(config.aes_key), message.xml.encode("utf-8"), message.appid)
    query |= {"encrypt_type": "aes",
              "msg_signature": mp_crypto.signature(config.token, timestamp, nonce, encrypted)}
    element = f"<Encrypt>{cdata(encrypted)}</Encrypt>"
    if config.mode == "safe":
        body = f"<xml><ToUserName>{cdata(message.to_user)}</ToUserName>{element}</xml>"
    else:
        head, tag, tail = message.xml.rpartition("</xml>")
        body = f"{head}{element}{tag}{tail}" if tag else message.xml + element
    return Wire(query, body.encode("utf-8"))


def _parse(text: str | bytes) -> Element | None:
    """Return the parsed XML root, or None when it does not parse (or is hostile XML)."""
    try:
        return ElementTree.fromstring(text)
    except (ElementTree.ParseError, ValueError):
        return None


def _is_reply(root: Element | None) -> bool:
    """A passive reply is an `<xml>` document with a MsgType."""
    return root is not None and root.tag == "xml" and bool((root.findtext("MsgType") or "").strip())


def _encrypted_reply(config: PushConfig, appid: str, root: Element) -> Verdict:
    """Check an encrypted reply: MsgSignature, then decryption (PKCS#7 block 32, appid), then the inner reply."""
    encrypted = root.findtext("Encrypt") or ""
    expected = mp_crypto.signature(config.token, root.findtext("TimeStamp") or "", root.findtext("Nonce") or "",
                                   encrypted)
    if (root.findtext("MsgSignature") or "") != expected:
        return Verdict(False, "encrypted reply: MsgSignature does not verify")
    try:
        inner = mp_crypto.decrypt(mp_crypto.aes_key(config.aes_key), encrypted, appid)
    except PushCryptoError as exc:
        return Verdict(False, f"encrypted reply: {exc}")
    if not _is_reply(_parse(inner)):
        return Verdict(False, "encrypted reply: the decrypted text is not a reply XML")
    return Verdict(True, "encrypted reply")


def judge(config: PushConfig, appid: str, http_status: int, body: bytes) -> Verdict:
    """Accept `success`, an empty body or a reply XML (encrypted and verified in safe mode)."""
    if http_status != 200:
        return Verdict(False, f"HTTP {http_status}")
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Verdict(False, "reply is not UTF-8")
    if text in ("", "success"):
        return Verdict(True, text or "empty")
    root = _parse(text)
    if root is not None and root.tag == "xml" and root.find("Encrypt") is not None:
        if not config.aes_key:
            return Verdict(False, "encrypted reply but no EncodingAESKey is configured")
        return _encrypted_reply(config, appid, root)
    if config.mode == "safe":
        return Verdict(False, "safe mode needs an encrypted reply")
    return Verdict(True, "reply xml") if _is_reply(root) else Verdict(False, "not success, empty or a reply XML")
