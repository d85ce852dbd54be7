"""Rows for the operations tests, with defaults: users, WeChat identities, sessions."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from webapp.crypto import TokenCipher
from webapp.models import User, WebSession, WeChatIdentity, WeChatUnion
from webapp.wechat_sim import fixture as sim_fixture


async def add_user(s: AsyncSession, *, now: datetime, username: str | None = "alice", password: bool = True, **kw: Any) -> User:
    """A user; `password=False` makes a WeChat-only account."""
    user = User(
        username=username, username_key=username.casefold() if username else None,
        display_name=kw.pop("display_name", username or "微信用户"),
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$not-a-real-hash" if password else None,
        created_at=now, updated_at=now, last_seen_at=now, **kw,
    )
    s.add(user)
    await s.flush()
    return user


async def add_identity(
    s: AsyncSession, user: User, *, now: datetime, openid: str, unionid: str | None = None,
    cipher: TokenCipher | None = None, appid: str = sim_fixture.WEBSITE_APPID, **kw: Any,
) -> WeChatIdentity:
    """A WeChat identity (and its union when `unionid` is given), tokens encrypted with `cipher`."""
    if unionid is not None and await s.get(WeChatUnion, unionid) is None:
        s.add(WeChatUnion(unionid=unionid, user_id=user.id, created_at=now))
        await s.flush()
    identity = WeChatIdentity(
        user_id=user.id, appid=appid, app_kind="website", openid=openid, unionid=unionid, nickname="张伟",
        avatar_url="", scope="snsapi_login", status="active",
        access_token_enc=cipher.encrypt(f"ACCESS-{openid}") if cipher else None,
        refresh_token_enc=cipher.encrypt(f"REFRESH-{openid}") if cipher else None,
        access_expires_at=now + timedelta(hours=2), refresh_expires_at=now + timedelta(days=30),
        created_at=now, updated_at=now, **kw,
    )
    s.add(identity)
    await s.flush()
    return identity


async def add_session(s: AsyncSession, user: User, *, now: datetime, name: str, ip: str = "203.0.113.7") -> WebSession:
    """A live browser session of `user`."""
    row = WebSession(
        id=hashlib.sha256(name.encode()).hexdigest(), user_id=user.id, data={"uid": user.id}, created_at=now,
        last_seen_at=now, expires_at=now + timedelta(days=14), client="Chrome on Windows", ip=ip,
    )
    s.add(row)
    await s.flush()
    return row
