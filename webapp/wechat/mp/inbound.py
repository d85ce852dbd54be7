"""The trust boundary: everything WeChat pushes becomes a validated value here, or is refused.

`verify_url` answers the server-URL check (GET); `open_push` checks a POST (query, signature,
timestamp window, size, XML safety, decryption, trailing appid) and returns a `Delivery`; `classify`
turns its `Push` into the one event the site acts on. Nothing else reads WeChat's raw input.
In plaintext mode `signature` covers only Token+timestamp+nonce, not the body: use safe mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from webapp.security import digest
from webapp.wechat.mp.crypto import CryptoError, MessageCrypto, WrongAppId, signature_matches

MAX_BODY_BYTES = 64 * 1024
REPLAY_WINDOW_S = 300
MAX_FIELDS = 64
SCENE_PREFIX = "qrscene_"

_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_NONCE = re.compile(r"[A-Za-z0-9]{1,64}")
_ECHOSTR = re.compile(r"[A-Za-z0-9]{1,128}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_WORD = re.compile(r"[A-Za-z_]{1,64}")
_TICKET = re.compile(r"[A-Za-z0-9+/=_-]{1,512}")
_KEY = re.compile(r"[\x21-\x7e]{1,128}")
# The signed part of an encrypted push, as WeChat writes it (CDATA or plain base64), found without a parser.
_ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=]{1,87400})\]\]>|([A-Za-z0-9+/=]{1,87400}))\s*</Encrypt>")
_MAX_CANDIDATES = 4


class Refused(Exception):
    """A push that is not handled; `status` and `reason` are the HTTP answer (nothing is stored)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class PushConfig:
    """What checks a push: the Token, and in compatible/safe mode the crypto (with our appid)."""

    token: str
    crypto: MessageCrypto | None


@dataclass(frozen=True)
class Push:
    """One pushed message or event, every field validated ("" when absent)."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    event: str = ""
    event_key: str = ""
    ticket: str = ""
    openid: str = ""
    appid: str = ""
    msg_id: str = ""

    @property
    def dedup_key(self) -> str:
        """MsgId for messages; else sender, time, event, key, plus OpenID/AppID (revoke events share a sender)."""
        if self.msg_id:
            return digest(f"msg:{self.msg_id}")
        parts = (self.from_user, str(self.create_time), self.event, self.event_key, self.openid, self.appid)
        return digest("evt:" + "\x1f".join(parts))


@dataclass(frozen=True)
class Delivery:
    """A checked POST: the push, whether it came encrypted (so the reply must be), and its nonce key."""

    push: Push
    encrypted: bool
    nonce_key: str


@dataclass(frozen=True)
class Scan:
    """A parametric QR scanned: by a new follower (`subscribe`) or a follower (`SCAN`)."""

    scene: str
    ticket: str
    openid: str
    new_follower: bool


@dataclass(frozen=True)
class Unfollow:
    """The user unfollowed the official account."""

    openid: str


@dataclass(frozen=True)
class AuthorizationChange:
    """Revoked authorization, deleted WeChat account, or a profile WeChat changed: user = OpenID."""

    kind: Literal["revoked", "cancelled", "profile_modified"]
    appid: str
    openid: str


@dataclass(frozen=True)
class Ignored:
    """Anything else: acknowledged, not acted on."""

    what: str


Event = Scan | Unfollow | AuthorizationChange | Ignored
_CHANGES = {
    "user_authorization_revoke": "revoked",
    "user_authorization_cancellation": "cancelled",
    "user_info_modified": "profile_modified",
}


@dataclass(frozen=True)
class Verification:
    """A checked server-URL verification: the echostr to echo, and the nonce key it spends."""

    echostr: str
    nonce_key: str


def verify_url(query: Mapping[str, str], token: str, *, now: datetime) -> Verification:
    """Check WeChat's server-URL verification (the same in every mode); return echostr to echo.

    Its signature is the one a plaintext POST carries: the nonce key must be spent (dedup.remember)
    before answering, or the GET's query would sign a forged POST within the replay window.
    """
    echostr = query.get("echostr", "")
    if not _ECHOSTR.fullmatch(echostr):
        raise Refused(400, "echostr missing or malformed")
    timestamp, nonce = _fresh_timestamp(query, now), _required(query, "nonce", _NONCE)
    if not signature_matches(_required(query, "signature", _HEX40), token, timestamp, nonce):
        raise Refused(403, "bad signature")
    return Verification(echostr, nonce_key(timestamp, nonce))


def nonce_key(timestamp: str, nonce: str) -> str:
    """The key one signed (timestamp, nonce) pair is remembered by, GET and POST alike."""
    return digest(f"nonce:{timestamp}:{nonce}")


def open_push(query: Mapping[str, str], body: bytes, config: PushConfig, *, now: datetime) -> Delivery:
    """Check and open a pushed POST; raise Refused for anything not exactly as WeChat sends it."""
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, "body too large")
    timestamp, nonce = _fresh_timestamp(query, now), _required(query, "nonce", _NONCE)
    supplied = query.get("signature")
    if (supplied is not None or config.crypto is None) and not (
        supplied and _HEX40.fullmatch(supplied) and signature_matches(supplied, config.token, timestamp, nonce)
    ):
        raise Refused(403, "bad signature")
    encrypted = query.get("encrypt_type", "raw") == "aes"
    if config.crypto is None:
        if encrypted:
            raise Refused(400, "encrypted push but no WECHAT_MP_AES_KEY is configured")
        fields = _xml_fields(body)
    else:
        if not encrypted:
            raise Refused(403, "plaintext push refused: WECHAT_MP_AES_KEY is set, so WeChat encrypts")
        fields = _xml_fields(_decrypt(query, body, config.crypto, timestamp, nonce))
    return Delivery(_push(fields), encrypted, nonce_key(timestamp, nonce))


def classify(push: Push, *, default_appid: str) -> Event:
    """The event the site acts on; the revoke family names its user in OpenID, not FromUserName."""
    event = push.event.lower()
    if push.msg_type != "event":
        return Ignored(push.msg_type)
    if event == "subscribe" and push.event_key.startswith(SCENE_PREFIX) and push.ticket:
        return Scan(push.event_key[len(SCENE_PREFIX) :], push.ticket, push.from_user, new_follower=True)
    if event == "scan" and push.event_key and push.ticket:
        return Scan(push.event_key, push.ticket, push.from_user, new_follower=False)
    if event == "unsubscribe":
        return Unfollow(push.from_user)
    if event in _CHANGES and push.openid:
        return AuthorizationChange(_CHANGES[event], push.appid or default_appid, push.openid)  # type: ignore[arg-type]
    return Ignored(event or push.msg_type)


def _decrypt(query: Mapping[str, str], body: bytes, crypto: MessageCrypto, timestamp: str, nonce: str) -> bytes:
    """Compatible and safe mode: only the <Encrypt> part counts; plaintext siblings are unsigned.

    The outer XML is never parsed: the signed <Encrypt> text is found by a strict pattern over the raw
    bytes and its msg_signature checked first, so unsigned XML never reaches a parser.
    """
    msg_signature = _required(query, "msg_signature", _HEX40)
    candidates = [m.group(1) or m.group(2) for m in _ENCRYPT.finditer(body[:MAX_BODY_BYTES])][:_MAX_CANDIDATES]
    if not candidates:
        raise Refused(400, "no <Encrypt> element")
    # A plaintext sibling (compatible mode) may quote an <Encrypt> element too: only the signed one counts.
    signed = [c.decode("ascii") for c in candidates]
    encrypted = next((c for c in signed if signature_matches(msg_signature, crypto.token, timestamp, nonce, c)), "")
    if not encrypted:
        raise Refused(403, "bad msg_signature")
    try:
        return crypto.decrypt(encrypted)
    except WrongAppId:
        raise Refused(403, "sealed for another appid") from None
    except CryptoError as exc:
        raise Refused(400, f"cannot decrypt: {exc}") from None


def _fresh_timestamp(query: Mapping[str, str], now: datetime) -> str:
    timestamp = _required(query, "timestamp", _DIGITS)
    if abs(int(timestamp) - now.timestamp()) > REPLAY_WINDOW_S:
        raise Refused(403, "timestamp outside the replay window")
    return timestamp


def _required(query: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str:
    value = query.get(name, "")
    if not pattern.fullmatch(value):
        raise Refused(400, f"{name} missing or malformed")
    return value


def _xml_fields(raw: bytes) -> dict[str, str]:
    """The text of <xml>'s direct children; DTDs, entities and external references are refused."""
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise Refused(400, "XML with a DTD or entities is refused") from None
    except (ParseError, ValueError, LookupError):  # LookupError: an encoding Python has no text codec for
        raise Refused(400, "body is not XML") from None
    except Exception:  # noqa: BLE001  (whatever else a parser may raise on hostile bytes is a refusal too)
        raise Refused(400, "body is not XML") from None
    if root.tag != "xml" or len(root) > MAX_FIELDS:
        raise Refused(400, "not a WeChat <xml> message")
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str) and len(child) == 0:
            fields.setdefault(child.tag, (child.text or "").strip())
    return fields


def _push(fields: Mapping[str, str]) -> Push:
    """Required fields must be valid; optional ones that are not are treated as absent."""

    def optional(name: str, pattern: re.Pattern[str]) -> str:
        value = fields.get(name, "")
        return value if pattern.fullmatch(value) else ""

    to_user, from_user = fields.get("ToUserName", ""), fields.get("FromUserName", "")
    create_time, msg_type = fields.get("CreateTime", ""), fields.get("MsgType", "")
    if not (_ID.fullmatch(to_user) and _ID.fullmatch(from_user) and _DIGITS.fullmatch(create_time)):
        raise Refused(400, "ToUserName, FromUserName or CreateTime missing or malformed")
    if not _WORD.fullmatch(msg_type):
        raise Refused(400, "MsgType missing or malformed")
    return Push(
        to_user=to_user,
        from_user=from_user,
        create_time=int(create_time),
        msg_type=msg_type.lower(),
        event=optional("Event", _WORD),
        event_key=optional("EventKey", _KEY),
        ticket=optional("Ticket", _TICKET),
        openid=optional("OpenID", _ID),
        appid=optional("AppID", _ID),
        msg_id=optional("MsgId", _DIGITS),
    )
