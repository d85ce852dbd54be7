"""ORM tables and nothing else: no queries, no business rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base

IDENTITY_STATUSES = ("active", "reauth_required")
STATE_PURPOSES = ("login", "bind")


class User(Base):
    """A person's account; a password is optional (WeChat-only accounts have none)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64))
    # NFKC + casefold of username: "Alice" and "ａｌｉｃｅ" are the same account.
    username_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    avatar_url: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebSession(Base):
    """Server side of a browser session; the cookie holds only a random id whose hash is the key."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    client: Mapped[str] = mapped_column(String(100), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class LoginFailure(Base):
    """One failed password attempt, counted per username and per client IP for throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (
        CheckConstraint("scope IN ('user', 'ip')", name="scope"),
        Index("ix_login_failures_scope_key_failed_at", "scope", "key", "failed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(128))
    failed_at: Mapped[datetime]


class OAuthState(Base):
    """A WeChat authorization in flight: the random `state` and its server-side payload."""

    __tablename__ = "oauth_states"
    __table_args__ = (CheckConstraint("purpose IN ('login', 'bind')", name="purpose"),)

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    flow: Mapped[str] = mapped_column(String(16))
    appid: Mapped[str] = mapped_column(String(32))
    next_path: Mapped[str] = mapped_column(Text, default="/")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # sha256 of a random value kept in the starting browser's session: binds the state to that browser.
    browser_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]
    code_hash: Mapped[str | None] = mapped_column(String(64))
    # Outcome of the first delivery, so a second delivery of the same callback can be answered the same way.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class WeChatUnion(Base):
    """The owner of a unionid: one unionid belongs to at most one user."""

    __tablename__ = "wechat_unions"
    __table_args__ = (UniqueConstraint("unionid", "user_id"),)

    unionid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class WeChatIdentity(Base):
    """One WeChat openid of one app, bound to a user, with its (encrypted) tokens and profile."""

    __tablename__ = "wechat_identities"
    __table_args__ = (
        UniqueConstraint("appid", "openid"),
        UniqueConstraint("user_id", "appid"),
        # The identity's unionid must be owned by the same user (MATCH SIMPLE: unchecked while NULL).
        ForeignKeyConstraint(
            ["unionid", "user_id"],
            ["wechat_unions.unionid", "wechat_unions.user_id"],
            name="fk_wechat_identities_unionid_user_wechat_unions",
            ondelete="CASCADE",
            onupdate="CASCADE",  # moving a union to another user (account merge) moves its identities
        ),
        CheckConstraint("status IN ('active', 'reauth_required')", name="status"),
        Index("ix_wechat_identities_refresh_due", "access_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    appid: Mapped[str] = mapped_column(String(32))
    app_kind: Mapped[str] = mapped_column(String(20))
    openid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str] = mapped_column(String(200), default="")
    avatar_url: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(String(64), default="")
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="active")
    profile_synced_at: Mapped[datetime | None]
    refresh_lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SecurityEvent(Base):
    """Something a user may want to review: a login, a failed attempt, a bind or an unbind."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32), default="")
    client: Mapped[str] = mapped_column(String(100), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
