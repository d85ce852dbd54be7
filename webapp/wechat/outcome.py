"""What a WeChat callback ended in, stored with the state so a second delivery gets the same answer."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

from webapp.wechat.errors import (
    CodeAlreadyUsed,
    InvalidCode,
    Misconfigured,
    RateLimited,
    WeChatBusy,
    WeChatError,
    WeChatUnavailable,
)
from webapp.wechat.schemas import WeChatApp

log = logging.getLogger("webapp.wechat")

Kind = Literal[
    "login", "bound", "already_bound", "conflict", "need_userinfo", "snapshot", "cancelled", "failed"
]


@dataclass(frozen=True)
class Outcome:
    """The end of one authorization: who (if anyone) and what happened."""

    kind: Kind
    user_id: int | None = None
    created: bool = False
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON for the state row."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        """Inverse of to_json (ignores bookkeeping keys such as `claimed`)."""
        return cls(
            kind=data.get("kind", "failed"),
            user_id=data.get("user_id"),
            created=bool(data.get("created")),
            reason=str(data.get("reason", "")),
        )


def failure(exc: WeChatError, *, app: WeChatApp) -> Outcome:
    """Map a WeChat error to a failed outcome; operator problems go to the log."""
    if isinstance(exc, (InvalidCode, CodeAlreadyUsed)):
        reason = "code_expired"
    elif isinstance(exc, (WeChatBusy, RateLimited)):
        reason = "busy"
    elif isinstance(exc, Misconfigured):
        log.error(
            "WeChat rejected the credentials of app %s (errcode %s): check WECHAT_*_APPID/SECRET "
            "with `webapp check-config`", app.appid, exc.errcode,
        )
        reason = "misconfigured"
    elif isinstance(exc, WeChatUnavailable):
        reason = "unavailable"
    else:
        log.error("WeChat error on app %s: errcode %s", app.appid, exc.errcode)
        reason = "error"
    return Outcome("failed", reason=reason)


# HTTP status of the page each failure shows: a deliberate 502/503 for WeChat-side trouble.
FAILURE_STATUS = {
    "code_expired": 400,
    "busy": 503,
    "unavailable": 502,
    "misconfigured": 503,
    "error": 502,
    "conflict_retry": 409,
    "merge_unavailable": 400,
}
