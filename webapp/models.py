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
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base

IDENTITY_STATUSES = ("active", "reauth_required", "revoked")
STATE_PURPOSES = ("login", "bind", "reauth")
EVENT_ACTORS = ("user", "admin", "wechat")


class User(Base):
    """A person's account; a password is optional (WeChat-only accounts have none)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64))
    # NFKC + casefold of username: "Alice" and "ａｌｉｃｅ" are the same account.
    username_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    # WeChat's avatar URL to copy (headimgurl); the copy itself is in user_avatars.
    avatar_source: Mapped[str] = mapped_column(Text, default="", server_default="")
    # When the worker should (re)try copying avatar_source; NULL when nothing is pending.
    avatar_fetch_due_at: Mapped[datetime | None]
    avatar_fetch_failures: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    password_hash: Mapped[str | None] = mapped_column(Text)
    # E.164, verified by WeChat (the mini program's getPhoneNumber); one number, one account.
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    # Set by an administrator: no login by any method, sessions ended.
    disabled_at: Mapped[datetime | None]
    # Last login or session activity (coarse): the refresh policy keeps tokens fresh only for recent users.
    last_seen_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Consent given at account creation while PRIVACY_URL was set: when, and to which policy (its URL).
    privacy_consent_at: Mapped[datetime | None]
    privacy_consent_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_users_avatar_fetch_due_at", "avatar_fetch_due_at", postgresql_where=text("avatar_fetch_due_at IS NOT NULL")),
    )


class UserAvatar(Base):
    """The account's avatar, copied from WeChat and served from our own origin."""

    __tablename__ = "user_avatars"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    source_url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]


class WebSession(Base):
    """Server side of a browser session; the cookie holds only a random id whose hash is the key."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    # Touched at most every few minutes, not on every request (see webapp.sessions).
    last_seen_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
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
    """A WeChat callback's claim of a state (keyed by the state's random part), written when WeChat calls back
    with a code, or a follow-login scene written when its scan is pushed: starting a flow stores nothing."""

    __tablename__ = "oauth_states"
    __table_args__ = (CheckConstraint("purpose IN ('login', 'bind', 'reauth')", name="purpose"),)

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    flow: Mapped[str] = mapped_column(String(16))
    appid: Mapped[str] = mapped_column(String(32))
    next_path: Mapped[str] = mapped_column(Text, default="/")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Unused since states are signed (the state's own MAC binds it to the browser); kept empty.
    browser_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]
    code_hash: Mapped[str | None] = mapped_column(String(64))
    # Outcome of the first delivery, so a second delivery of the same callback can be answered the same way.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Follow-login (flow "mp_follow"): the state is the QR's scene; WeChat's ticket, and who scanned it.
    ticket: Mapped[str | None] = mapped_column(Text)
    scanned_openid: Mapped[str | None] = mapped_column(String(64))
    scanned_at: Mapped[datetime | None]


class RateLimit(Base):
    """A fixed-window counter (one row per key and window): bounded rows whatever the traffic."""

    __tablename__ = "rate_limits"
    __table_args__ = (PrimaryKeyConstraint("key", "window_start"),)

    key: Mapped[str] = mapped_column(String(128))
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)


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
        CheckConstraint("status IN ('active', 'reauth_required', 'revoked')", name="status"),
        # The refresher's claim: rows with a due time, most urgent first (parked and dead grants have none).
        Index("ix_wechat_identities_refresh_due", "refresh_due_at", postgresql_where=text("refresh_due_at IS NOT NULL")),
        Index("ix_wechat_identities_unionid", "unionid"),
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
    # Mini program only: WeChat's session_key, encrypted, replaced at each login, never shown to anyone.
    session_key_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="active")
    profile_synced_at: Mapped[datetime | None]
    # Set when WeChat says the profile changed (user_info_modified): the row is made due, the worker syncs it.
    profile_sync_requested_at: Mapped[datetime | None]
    # When the refresher should next look at the row: before the access token expires, or after a failure's
    # backoff. NULL: nothing to do (dead or revoked grant, inactive user), and out of the refresher's index.
    refresh_due_at: Mapped[datetime | None]
    # A worker holds the row until then. Not indexed, so taking the lease is a HOT update (no index writes).
    refresh_lease_until: Mapped[datetime | None]
    refresh_failures: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    refresh_error: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The user withdrew the authorization inside WeChat: tokens and profile are gone.
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SecurityEvent(Base):
    """Something a user may want to review: a login, a failed attempt, a bind or an unbind."""

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_user_id_created_at", "user_id", "created_at"),
        CheckConstraint("actor IN ('user', 'admin', 'wechat')", name="actor"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32), default="")
    # Who did it: the user, an administrator (webapp admin), or WeChat (a pushed event).
    actor: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    client: Mapped[str] = mapped_column(String(100), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]


class AppToken(Base):
    """An app-level WeChat interface token (cgi-bin/stable_token), shared by every process, encrypted."""

    __tablename__ = "wechat_app_tokens"

    appid: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class MpMessage(Base):
    """A message or event pushed by the official account, remembered to handle each delivery once."""

    __tablename__ = "wechat_mp_messages"

    # sha256 of the dedup key (MsgId, or FromUserName + CreateTime + Event + EventKey).
    dedup_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
