"""An account as text for a person at a terminal, or as one JSON object (a superset of /api/me)."""

from __future__ import annotations

from typing import Any

from webapp.admin.users import UserReport
from webapp.profile import identity_json, iso


def report_json(report: UserReport) -> dict[str, Any]:
    """/api/me's fields, plus disabled, the session count and what the support desk needs."""
    user = report.user
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "has_password": user.password_hash is not None,
        "phone": user.phone,
        "wechat": [
            {**identity_json(i), "app_kind": i.app_kind, "refresh_error": i.refresh_error, "created_at": iso(i.created_at)}
            for i in report.identities
        ],
        "has_avatar": report.has_avatar,
        "disabled": user.disabled_at is not None,
        "disabled_at": iso(user.disabled_at),
        "created_at": iso(user.created_at),
        "last_seen_at": iso(user.last_seen_at),
        "sessions": len(report.sessions),
        "session_list": [
            {
                "client": s.client,
                "ip": s.ip,
                "created_at": iso(s.created_at),
                "last_seen_at": iso(s.last_seen_at),
                "expires_at": iso(s.expires_at),
            }
            for s in report.sessions
        ],
        "events": [
            {"at": iso(e.created_at), "kind": e.kind, "method": e.method, "actor": e.actor, "client": e.client, "ip": e.ip}
            for e in report.events
        ],
    }


def report_text(report: UserReport) -> str:
    """A few aligned sections: account, WeChat, sessions, security activity."""
    data = report_json(report)
    lines = [
        f"User {data['id']}: {data['username'] or '(no username)'} — {data['display_name'] or '(no display name)'}",
        f"  password: {_yes(data['has_password'])}   disabled: "
        + (f"yes, since {data['disabled_at']}" if data["disabled"] else "no"),
        f"  created: {data['created_at']}   last seen: {data['last_seen_at']}   phone: {data['phone'] or '-'}",
        f"WeChat identities ({len(data['wechat'])}):",
        *(
            f"  {w['appid']} ({w['app_kind']})  openid {w['openid']}  unionid {w['unionid'] or '-'}  "
            f"nickname {w['nickname'] or '-'}  status {w['status']}{' (' + w['refresh_error'] + ')' if w['refresh_error'] else ''}  "
            f"access expires {w['access_expires_at'] or '-'}  refresh expires {w['refresh_expires_at'] or '-'}"
            for w in data["wechat"]
        ),
        f"Sessions ({data['sessions']}):",
        *(
            f"  {s['client']}  ip {s['ip'] or '-'}  created {s['created_at']}  last seen {s['last_seen_at']}  "
            f"expires {s['expires_at']}"
            for s in data["session_list"]
        ),
        f"Recent security activity ({len(data['events'])}):",
        *(
            f"  {e['at']}  {e['kind']}{' (' + e['method'] + ')' if e['method'] else ''}  by {e['actor']}  "
            f"{e['client'] or '-'}  ip {e['ip'] or '-'}"
            for e in data["events"]
        ),
    ]
    return "\n".join(lines)


def _yes(value: bool) -> str:
    return "yes" if value else "no"
