"""/api/me's JSON of a WeChat identity from its ORM row (the admin commands; pages use accounts.account)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webapp.models import WeChatIdentity


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, as `/api/me` gives times."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def identity_json(identity: WeChatIdentity) -> dict[str, Any]:
    """One bound WeChat identity as /api/me shows it (never its tokens)."""
    return {
        "appid": identity.appid,
        "openid": identity.openid,
        "unionid": identity.unionid,
        "nickname": identity.nickname,
        "avatar_url": identity.avatar_url,
        "status": identity.status,
        "access_expires_at": iso(identity.access_expires_at),
        "refresh_expires_at": iso(identity.refresh_expires_at),
    }
