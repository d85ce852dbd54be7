"""The logged-in account as every page sees it: loaded with the session, in the same query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# One round trip per request: the session row, its user, the user's avatar hash and WeChat identities.
# Identities come as JSON already shaped for /api/me (times in UTC with a Z).
LOAD_SESSION_SQL = """
SELECT s.data, s.last_seen_at,
       u.id, u.username, u.display_name, u.password_hash IS NOT NULL AS has_password, u.created_at, u.phone,
       a.sha256 AS avatar_sha,
       COALESCE(w.identities, '[]'::json) AS wechat
FROM web_sessions s
JOIN users u ON u.id = s.user_id AND u.disabled_at IS NULL
LEFT JOIN user_avatars a ON a.user_id = u.id
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object(
        'appid', i.appid, 'openid', i.openid, 'unionid', i.unionid, 'nickname', i.nickname,
        'avatar_url', i.avatar_url, 'status', i.status, 'kind', i.app_kind,
        'access_expires_at', to_char(i.access_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'refresh_expires_at', to_char(i.refresh_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    ) ORDER BY i.id) AS identities
    FROM wechat_identities i WHERE i.user_id = u.id
) w ON true
WHERE s.id = $1 AND s.expires_at > $2
"""


@dataclass(frozen=True, slots=True)
class Account:
    """A user as pages and /api/me need it (never a password hash or a token)."""

    id: int
    username: str | None
    display_name: str
    has_password: bool
    created_at: datetime
    avatar_sha: str | None = None
    wechat: tuple[Mapping[str, Any], ...] = ()
    phone: str | None = None  # E.164, verified by WeChat (mini program)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Account:
        """From LOAD_SESSION_SQL's row (or any row with the same columns)."""
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            has_password=row["has_password"],
            created_at=row["created_at"],
            avatar_sha=row.get("avatar_sha"),
            wechat=tuple(row.get("wechat") or ()),
            phone=row.get("phone"),
        )

    def avatar_url(self, public_url: str) -> str | None:
        """The avatar copied to our own origin, or None until there is one."""
        return f"{public_url}{avatar_path(self.id, self.avatar_sha)}" if self.avatar_sha else None

    def as_json(self, public_url: str) -> dict[str, Any]:
        """The /api/me object: the account and its WeChat identities (never a token)."""
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "has_password": self.has_password,
            "avatar": self.avatar_url(public_url),
            "wechat": [dict(identity) for identity in self.wechat],
            "phone": self.phone,
        }


def avatar_path(user_id: int, sha256: str) -> str:
    """Where an account's avatar is served; the hash makes the URL change with the image (cacheable forever)."""
    return f"/avatars/{user_id}/{sha256[:16]}"
