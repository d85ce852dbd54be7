"""The only label values metrics accept: a fixed set per label, anything else counted as "other"."""

from __future__ import annotations

import logging

logger = logging.getLogger("webapp.metrics")

OTHER = "other"
LOGIN_METHODS = frozenset({"password", "wechat_qr", "wechat_embedded", "wechat_mp", "wechat_follow", "wechat_mini"})
LOGIN_OUTCOMES = frozenset(
    {"success", "failure", "throttled", "disabled", "error", "cancelled", "expired", "denied", "conflict", "snapshot"}
)
WECHAT_ENDPOINTS = frozenset(
    {
        "/sns/oauth2/access_token",
        "/sns/oauth2/refresh_token",
        "/sns/auth",
        "/sns/userinfo",
        "/cgi-bin/token",
        "/cgi-bin/stable_token",
        "/cgi-bin/qrcode/create",
        "/cgi-bin/user/info",
        "/sns/jscode2session",
        "/wxa/business/getuserphonenumber",
        "avatar",
    }
)
# docs/wechat.md's errcode table plus the cgi-bin codes the official account meets; "transport" = no usable answer.
WECHAT_ERRCODES = frozenset(
    {"0", "-1", "transport"}
    | {str(c) for c in (40001, 40002, 40003, 40013, 40014, 40029, 40030, 40125, 40163, 40164, 41001, 41002)}
    | {str(c) for c in (41003, 41004, 41008, 41009, 42001, 42002, 42003, 45009, 45011, 47001, 48001, 50001, 40226)}
)
REFRESH_OUTCOMES = frozenset({"refreshed", "reauth_required", "failed", "skipped", "parked", "profile_synced"})
OAUTH_STATE_EVENTS = frozenset({"created", "completed", "expired", "rejected"})
THROTTLE_KINDS = frozenset({"login_user", "login_ip", "flow_start", "signup_ip", "reauth", "follow_poll"})
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
POOLS = frozenset({"sqlalchemy", "asyncpg"})

_reported: set[str] = set()


def bounded(label: str, value: object, allowed: frozenset[str]) -> str:
    """`value` as a label value if it is one of `allowed`, else "other" (reported once: a caller's bug)."""
    text = str(value)
    if text in allowed:
        return text
    if label not in _reported:  # the value itself is not logged: it may be exactly what must not be
        _reported.add(label)
        logger.warning("metric label %s: a value outside its fixed set was counted as %r", label, OTHER)
    return OTHER


def status_class(status: int) -> str:
    """2xx, 3xx, 4xx or 5xx."""
    return f"{status // 100}xx" if 100 <= status < 600 else OTHER


def http_method(method: str) -> str:
    """The method, or "other" for anything unusual (clients choose it)."""
    return method if method in HTTP_METHODS else OTHER
