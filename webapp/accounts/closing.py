"""Leaving: delete an account and everything that names its owner at once; export what we hold about them.

Deleting the user row cascades to its sessions, WeChat identities and unionids (tokens included), the
copied avatar, its security events and its bind/re-authentication states. What would otherwise
outlive it is deleted in the same transaction: login throttling counted under its username, and
login states that remember its openid or its user id. An anonymised `account_deleted` event
(no user, device or address) is the only trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from webapp import events
from webapp.db import Database
from webapp.models import SecurityEvent, User, WebSession, WeChatIdentity

_WHO_SQL = """
SELECT u.username_key, COALESCE(array_agg(i.openid) FILTER (WHERE i.openid IS NOT NULL), '{}') AS openids
FROM users u LEFT JOIN wechat_identities i ON i.user_id = u.id WHERE u.id = $1 GROUP BY u.id
"""
_FAILURES_SQL = "DELETE FROM login_failures WHERE scope = 'user' AND key = ANY($1::text[])"
_STATES_SQL = """
DELETE FROM oauth_states WHERE user_id = $1 OR scanned_openid = ANY($2::text[])
    OR result->>'user_id' = $1::text OR result->>'other_user_id' = $1::text
"""


async def delete_account(db: Database, *, user_id: int, now: datetime) -> bool:
    """Delete the account and every row naming its owner; False when it was already gone."""
    async with db.connection() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
        who = await conn.fetchrow(_WHO_SQL, user_id)
        if who is None:
            return False
        keys = [key for key in (who["username_key"], f"#{user_id}") if key]
        await conn.execute(_FAILURES_SQL, keys)
        await conn.execute(_STATES_SQL, user_id, who["openids"])
        await conn.execute("DELETE FROM users WHERE id = $1", user_id)  # cascades to everything else it owns
        await events.add_event(conn, user_id=None, kind="account_deleted", method="", client="", ip="", now=now)
    return True


async def export_account(db: Database, *, user_id: int, public_url: str, now: datetime) -> dict[str, Any]:
    """The account's data as JSON-ready values: profile, WeChat identities (never tokens), sessions, activity."""
    from webapp.accounts.account import avatar_path  # the one place avatar URLs are made
    from webapp.models import UserAvatar

    async with db.sm() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise LookupError(user_id)
        avatar = await s.get(UserAvatar, user_id)
        identities = (await s.scalars(select(WeChatIdentity).where(WeChatIdentity.user_id == user_id)
                                      .order_by(WeChatIdentity.id))).all()
        sessions = (await s.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.expires_at > now)
                                    .order_by(WebSession.created_at))).all()
        activity = (await s.scalars(select(SecurityEvent).where(SecurityEvent.user_id == user_id)
                                    .order_by(SecurityEvent.created_at, SecurityEvent.id))).all()
    return {
        "exported_at": _iso(now),
        "profile": {
            "id": user.id, "username": user.username, "display_name": user.display_name,
            "has_password": user.password_hash is not None, "created_at": _iso(user.created_at), "phone": user.phone,
            "avatar": f"{public_url}{avatar_path(user.id, avatar.sha256)}" if avatar else None,
            "privacy_consent": {"at": _iso(user.privacy_consent_at), "policy_url": user.privacy_consent_url}
            if user.privacy_consent_at else None,
        },
        "wechat": [_identity(i) for i in identities],
        "sessions": [{"device": w.client, "ip": w.ip, "created_at": _iso(w.created_at),
                      "last_seen_at": _iso(w.last_seen_at)} for w in sessions],
        "security_activity": [{"kind": e.kind, "method": e.method, "actor": e.actor, "device": e.client, "ip": e.ip,
                               "at": _iso(e.created_at)} for e in activity],
    }


def _identity(i: WeChatIdentity) -> dict[str, Any]:
    return {
        "appid": i.appid, "kind": i.app_kind, "openid": i.openid, "unionid": i.unionid, "nickname": i.nickname,
        "avatar_url": i.avatar_url, "status": i.status, "scope": i.scope, "bound_at": _iso(i.created_at),
        "access_expires_at": _iso(i.access_expires_at), "refresh_expires_at": _iso(i.refresh_expires_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
