"""Identifier formats: deterministic openids/unionids, random codes, tokens and uuids."""

from __future__ import annotations

import base64
import hashlib
import secrets

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
