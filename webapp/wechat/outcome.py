"""What a WeChat callback ended in, stored with the state so a second delivery gets the same answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from webapp.wechat.errors import (
    CodeAlreadyUsed,
    InvalidCode,
    MalformedResponse,
    Misconfigured,
    RateLimited,
    WeChatBusy,
    WeChatError,
    WeChatUnavailable,
)
from webapp.wechat.schemas import WeChatApp

log = logging.getLogger("webapp.wechat")

Kind = Literal[
    "login", "bound", "already_bound", "conflict", "need_userinfo", "snapshot", "cancelled", "failed",
    "reauthenticated",
]
_KINDS = frozenset(Kind.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Outcome:
    """The end of one authorization: who (if anyone) and what happened."""

    kind: Kind
    user_id: int | None = None
    created: bool = False
    reason: str = ""
    other_user_id: int | None = None  # a conflict: who has this WeChat
    # The logged-in account's fields when the login just loaded them (not stored with the state).
    account: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # The session the login statement wrote for this browser (a SessionDraft), if it did.
    session: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """JSON for the state row."""
        return {"kind": self.kind, "user_id": self.user_id, "created": self.created, "reason": self.reason,
                "other_user_id": self.other_user_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        """Inverse of to_json (ignores bookkeeping keys such as `claimed`; anything odd is a failure)."""
        kind = data.get("kind")
        user_id, other = data.get("user_id"), data.get("other_user_id")
        return cls(
            kind=cast(Kind, kind) if kind in _KINDS else "failed",
            user_id=user_id if isinstance(user_id, int) else None,
            created=data.get("created") is True,
            reason=str(data.get("reason", ""))[:40],
            other_user_id=other if isinstance(other, int) else None,
        )


def failure(exc: WeChatError, *, app: WeChatApp) -> Outcome:
    """Map a WeChat error to a failed outcome; operator problems go to the log."""
    if isinstance(exc, (InvalidCode, CodeAlreadyUsed)):
        reason = "code_expired"
    elif isinstance(exc, MalformedResponse):
        log.warning("WeChat answered app %s with data we refuse: %s", app.appid, exc.errmsg)
        reason = "bad_answer"
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
    "bad_answer": 502,
    "misconfigured": 503,
    "error": 502,
    "conflict_retry": 409,
    "merge_unavailable": 400,
    "disabled": 403,
    "reauth_other_wechat": 403,
}
