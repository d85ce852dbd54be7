"""Identifier formats: deterministic openids/unionids, random codes, tokens and uuids."""

from __future__ import annotations

import base64
import hashlib
import secrets
import struct

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _derived(kind: str, scope: str, user_id: int) -> str:
    """Return a stable 28-char id starting with "o", like WeChat's."""
    digest = hashlib.sha256(f"wechat-sim:{kind}:{scope}:{user_id}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]


def openid_for(appid: str, user_id: int) -> str:
    """Return the openid of `user_id` under `appid`."""
    return _derived("openid", appid, user_id)


def unionid_for(platform: str, user_id: int) -> str:
    """Return the unionid of `user_id` under an open-platform account."""
    return _derived("unionid", platform, user_id)


def virtual_id() -> str:
    """Return a throwaway id for a snapshot-page (virtual) user."""
    return "o" + secrets.token_urlsafe(21)[:27]


def alnum(length: int) -> str:
    """Return `length` random characters from [0-9A-Za-z]."""
    return "".join(_ALNUM[b % 62] for b in secrets.token_bytes(length))


def new_code() -> str:
    """Return a fresh authorization code (32 alphanumerics)."""
    return alnum(32)


def new_uuid() -> str:
    """Return a fresh QR uuid (16 chars)."""
    return alnum(16)


def new_token(prefix: str = "86") -> str:
    """Return a fresh access or refresh token (~90 chars, number-underscore prefix)."""
    return f"{prefix}_{secrets.token_urlsafe(66)}"


def new_rid() -> str:
    """Return a request id in WeChat's `xxxxxxxx-xxxxxxxx-xxxxxxxx` form."""
    raw = secrets.token_hex(12)
    return f"{raw[:8]}-{raw[8:16]}-{raw[16:]}"


def original_id_for(appid: str) -> str:
    """Return the account's original id (`gh_` + 12 hex), the ToUserName of its pushes."""
    return "gh_" + hashlib.sha256(f"wechat-sim:gh:{appid}".encode()).hexdigest()[:12]


def push_account_for(appid: str) -> str:
    """Return the platform account that sends authorization-change events (not a user's openid)."""
    return _derived("push-account", appid, 0)


def new_app_token() -> str:
    """Return a fresh app (interface) access_token, ~140 chars like WeChat's."""
    return f"91_{secrets.token_urlsafe(102)}"


def new_qr_id() -> str:
    """Return the short id in a parametric QR's url (20 alphanumerics)."""
    return alnum(20)


def new_ticket(qr_id: str, created: float, expire_s: int) -> str:
    """Return an opaque ~100-char base64 ticket that, like WeChat's, embeds the QR's url."""
    created_u32, expire_u32 = int(created) & 0xFFFFFFFF, expire_s & 0xFFFFFFFF
    raw = (b"\x81\x01" + secrets.token_bytes(6) + b"\x00" * 7 + b"\x01,"
           + f"http://weixin.qq.com/q/{qr_id}".encode() + b"\x00\x02\x04" + struct.pack("<I", created_u32)
           + b"\x03\x04" + struct.pack("<I", expire_u32))
    return base64.b64encode(raw).decode("ascii")


def new_nonce() -> str:
    """Return a push nonce (a decimal number, as WeChat sends)."""
    return str(secrets.randbelow(9 * 10**9) + 10**9)
