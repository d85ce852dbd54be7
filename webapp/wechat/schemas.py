"""Frozen values the WeChat client takes and returns.

Parsing is tolerant of missing optional fields (WeChat omits ``unionid`` for unbound apps and
``is_snapshotuser`` for real users, and blanked gender/region in 2021) but strict about the
fields a login cannot do without: those raise ``MalformedResponse`` (a ``WeChatUnavailable``),
because a 200 without an access_token is as useless to the caller as no answer at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from webapp.wechat.errors import MalformedResponse

AppKind = Literal["website", "official_account"]


@dataclass(frozen=True)
class WeChatApp:
    """One WeChat application: a website app (QR login) or an official account (in-WeChat login)."""

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
            access_token=_required_str(payload, "access_token"),
            refresh_token=_required_str(payload, "refresh_token"),
            openid=_required_str(payload, "openid"),
            scope=_optional_str(payload, "scope") or "",
            unionid=_optional_str(payload, "unionid"),
            # Present (=1) only for snapshot-page virtual users, whose ids must never be stored.
            is_snapshot_user=payload.get("is_snapshotuser") in (1, "1", True),
            access_expires_at=now + timedelta(seconds=_required_seconds(payload, "expires_in")),
        )


@dataclass(frozen=True)
class WeChatProfile:
    """A user's public profile from /sns/userinfo."""

    openid: str
    nickname: str
    avatar_url: str
    unionid: str | None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WeChatProfile:
        """Parse a /sns/userinfo answer; sex/region are ignored (blank since 2021)."""
        return cls(
            openid=_required_str(payload, "openid"),
            nickname=_optional_str(payload, "nickname") or "",
            avatar_url=_optional_str(payload, "headimgurl") or "",
            unionid=_optional_str(payload, "unionid"),
        )


def _required_str(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedResponse(f"field {key!r} missing or not a string")
    return value


def _optional_str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedResponse(f"field {key!r} is not a string")
    return value


def _required_seconds(payload: Mapping[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MalformedResponse(f"field {key!r} missing or not a number")
    try:
        seconds = int(value)
    except ValueError:
        raise MalformedResponse(f"field {key!r} is not a number") from None
    if seconds <= 0:
        raise MalformedResponse(f"field {key!r} is not positive")
    return seconds
