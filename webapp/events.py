"""Security activity a user can review on the settings page: logins, failures, binds, unbinds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from webapp.i18n import gettext as _
from webapp.models import SecurityEvent

KINDS = (
    "signup", "login", "login_failed", "logout_others", "password_set", "password_changed", "bind", "unbind",
    "username_set", "display_name_changed", "session_ended", "merged", "disabled", "enabled", "sessions_ended",
    "wechat_revoked", "wechat_profile_changed", "account_deleted", "reauth", "username_changed",
    "phone_added", "phone_removed",
)
METHODS = ("", "password", "wechat_qr", "wechat_embedded", "wechat_mp", "wechat_follow", "admin", "wechat_mini")
ACTORS = ("user", "admin", "wechat")


async def record_event(
    session: AsyncSession,
    *,
    user_id: int | None,
    kind: str,
    method: str,
    client: str,
    ip: str,
    now: datetime,
    actor: str = "user",
) -> SecurityEvent:
    """Add one event to the session's transaction (the caller commits)."""
    if kind not in KINDS or method not in METHODS or actor not in ACTORS:
        raise ValueError(f"unknown security event {kind!r}/{method!r}/{actor!r}")
    event = SecurityEvent(
        user_id=user_id, kind=kind, method=method, actor=actor, client=client[:100], ip=ip[:64], created_at=now
    )
    session.add(event)
    await session.flush()
    return event


# An event names an account that exists at commit, or nothing is written: a change racing the account's
# deletion (a login, a profile edit, a bind) waits for it, then finds no row instead of failing a foreign key.
INSERT_SQL = """
INSERT INTO security_events (user_id, kind, method, actor, client, ip, created_at)
SELECT $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, $7::timestamptz
WHERE $1::bigint IS NULL OR EXISTS (SELECT FROM users WHERE id = $1::bigint FOR KEY SHARE)
"""


def event_args(
    *, user_id: int | None, kind: str, method: str, client: str, ip: str, now: datetime, actor: str = "user"
) -> tuple[object, ...]:
    """INSERT_SQL's parameters, checked like record_event's."""
    if kind not in KINDS or method not in METHODS or actor not in ACTORS:
        raise ValueError(f"unknown security event {kind!r}/{method!r}/{actor!r}")
    return (user_id, kind, method, actor, client[:100], ip[:64], now)


async def add_event(conn: asyncpg.Connection, **fields: object) -> None:
    """record_event for the asyncpg hot paths (one round trip, in the caller's transaction if any)."""
    await conn.execute(INSERT_SQL, *event_args(**fields))  # type: ignore[arg-type]


async def recent_events(session: AsyncSession, user_id: int, limit: int = 10) -> Sequence[SecurityEvent]:
    """The user's latest events, newest first."""
    result = await session.scalars(
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(limit)
    )
    return result.all()


def kind_label(kind: str) -> str:
    """What happened, in the reader's language."""
    labels = {
        "signup": _("Account created"),
        "login": _("Logged in"),
        "login_failed": _("Failed login attempt"),
        "logout_others": _("Logged out of other sessions"),
        "password_set": _("Password set"),
        "password_changed": _("Password changed"),
        "bind": _("WeChat bound"),
        "unbind": _("WeChat unbound"),
        "username_set": _("Username set"),
        "username_changed": _("Username changed"),
        "display_name_changed": _("Display name changed"),
        "session_ended": _("Logged out of a session"),
        "merged": _("Accounts merged"),
        "disabled": _("Account disabled"),
        "enabled": _("Account enabled"),
        "sessions_ended": _("All sessions ended"),
        "wechat_revoked": _("WeChat authorization withdrawn in WeChat"),
        "wechat_profile_changed": _("WeChat profile changed"),
        "account_deleted": _("Account deleted"),
        "reauth": _("Confirmed it's you"),
        "phone_added": _("Phone number added"),
        "phone_removed": _("Phone number removed"),
    }
    return labels.get(kind, kind)


def method_label(method: str) -> str:
    """How it happened, in the reader's language."""
    labels = {
        "password": _("Password"),
        "wechat_qr": _("WeChat QR code"),
        "wechat_embedded": _("WeChat QR code on this site"),
        "wechat_mp": _("Inside WeChat"),
        "wechat_follow": _("Following the official account"),
        "admin": _("By an administrator"),
        "wechat_mini": _("WeChat mini program"),
    }
    return labels.get(method, method)


def client_label(client: str) -> str:
    """A stored coarse client ("Chrome on Windows") in the reader's language."""
    if not client or client == "Unknown client":
        return _("Unknown client")
    if client == "WeChat mini program":  # a mini program's bearer token (webapp.wechat.mini)
        return _("WeChat mini program")
    browser, sep, system = client.partition(" on ")
    return _("%(browser)s on %(system)s", browser=browser, system=system) if sep else client
