"""The JSON description of a user served by /api/me (design.md's shape)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.models import User, WeChatIdentity
from webapp.wechat import repository as wechat_repository


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, as in design.md."""
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


async def describe_user(sm: async_sessionmaker[AsyncSession], user: User) -> dict[str, Any]:
    """The user and their WeChat identities."""
    async with sm() as s:
        identities = await wechat_repository.identities_of(s, user.id)
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "has_password": user.password_hash is not None,
        "wechat": [identity_json(i) for i in identities],
    }
