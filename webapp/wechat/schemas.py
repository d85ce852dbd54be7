"""The WeChat trust boundary: every answer from WeChat becomes a validated, cleaned value here.

Login, binding and the refresher all read WeChat through these constructors, never the raw JSON.
- Identifiers (openid, unionid) must look like what WeChat issues, or the answer is refused.
- Tokens must be printable ASCII of a sane length (they are encrypted and stored).
- Text (nickname) is cleaned of controls, lone surrogates, bidi and zero-width characters and cut
  to what the columns hold; an avatar URL that is not a plain http(s) URL is dropped.
- Numbers are range-checked: a token lifetime is clamped to [0, MAX_TOKEN_LIFETIME].
- Wrong types of required fields, and values that cannot be made safe, raise MalformedResponse
  (a WeChatUnavailable): a clear page for a login, a per-row failure for the worker.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from yarl import URL

from webapp.text import clean_text
from webapp.wechat.errors import MalformedResponse

AppKind = Literal["website", "official_account", "mini_program"]

NICKNAME_MAX = 100  # what the site shows and stores, login and refresher alike
URL_MAX = 1024
TOKEN_MAX = 512
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)  # openid/unionid: 28 characters in practice
TOKEN_RE = re.compile(r"[\x21-\x7e]{1,512}", re.ASCII)
KNOWN_SCOPES = ("snsapi_base", "snsapi_userinfo", "snsapi_login")
MAX_TOKEN_LIFETIME = timedelta(days=1)  # WeChat says 7200 s; anything longer is not believed


@dataclass(frozen=True)
class WeChatApp:
    """One WeChat application: a website app (QR login), an official account (in-WeChat login) or a mini program."""

    appid: str
    secret: str = field(repr=False)
    kind: AppKind


@dataclass(frozen=True)
class OAuthToken:
    """The result of a code exchange or a refresh."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    openid: str
    scope: str
    unionid: str | None
    is_snapshot_user: bool
    access_expires_at: datetime

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], *, now: datetime) -> OAuthToken:
        """Parse a /sns/oauth2/access_token or /sns/oauth2/refresh_token answer."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return cls(
            access_token=_token(payload, "access_token"),
            refresh_token=_token(payload, "refresh_token"),
            openid=identifier(payload, "openid"),
            scope=scopes(payload.get("scope")),
            unionid=identifier(payload, "unionid", required=False),
            # Present (=1) only for snapshot-page virtual users, whose ids must never be stored.
            is_snapshot_user=payload.get("is_snapshotuser") in (1, "1", True),
            access_expires_at=now + _lifetime(payload, "expires_in"),
        )

    def allows_profile(self) -> bool:
        """True when this token may read /sns/userinfo (a snsapi_base token gets 48001)."""
        return bool({"snsapi_login", "snsapi_userinfo"} & set(self.scope.split(",")))


@dataclass(frozen=True)
class WeChatProfile:
    """A user's public profile from /sns/userinfo, cleaned for display and storage."""

    openid: str
    nickname: str
    avatar_url: str
    unionid: str | None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WeChatProfile:
        """Parse a /sns/userinfo answer; sex/region are ignored (blank since 2021)."""
        return cls(
            openid=identifier(payload, "openid"),
            nickname=clean_nickname(payload.get("nickname")),
            avatar_url=clean_avatar_url(payload.get("headimgurl")),
            unionid=identifier(payload, "unionid", required=False),
        )


@overload
def identifier(payload: Mapping[str, Any], key: str) -> str: ...
@overload
def identifier(payload: Mapping[str, Any], key: str, *, required: bool) -> str | None: ...
def identifier(payload: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """An openid/unionid as WeChat issues them; MalformedResponse for anything else."""
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise MalformedResponse(f"field {key!r} missing")
        return None
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise MalformedResponse(f"field {key!r} is not a WeChat identifier")
    return value


def scopes(value: Any) -> str:
    """The granted scopes WeChat knows, comma-separated; unknown words are dropped."""
    if not isinstance(value, str):
        return ""
    granted = [word.strip() for word in value[:256].split(",")]
    return ",".join(scope for scope in KNOWN_SCOPES if scope in granted)


def clean_nickname(value: Any) -> str:
    """A nickname fit to store and show (empty for anything that is not text)."""
    return clean_text(value, NICKNAME_MAX) if isinstance(value, str) else ""


def clean_avatar_url(value: Any) -> str:
    """A plain absolute http(s) URL with a host, or "" (a profile without an avatar is fine)."""
    if not isinstance(value, str) or not value or len(value) > URL_MAX or not value.isascii():
        return ""
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return ""
    try:  # yarl decodes the host lazily: a broken punycode label raises only when it is read
        url = URL(value)
        usable = url.scheme in ("http", "https") and bool(url.host) and not url.user and not url.password
        usable = usable and url.port is not None
    except (ValueError, UnicodeError):  # an unparsable URL is a dropped field, never a failed login
        return ""
    return value if usable else ""


def _token(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not TOKEN_RE.fullmatch(value):
        raise MalformedResponse(f"field {key!r} missing or not a token")
    return value


def _lifetime(payload: Mapping[str, Any], key: str) -> timedelta:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise MalformedResponse(f"field {key!r} missing or not a number")
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise MalformedResponse(f"field {key!r} is not a number") from None
    if math.isnan(seconds):
        raise MalformedResponse(f"field {key!r} is not a number")
    return timedelta(seconds=min(max(seconds, 0.0), MAX_TOKEN_LIFETIME.total_seconds()))
