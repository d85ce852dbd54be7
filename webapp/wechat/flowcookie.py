"""The payload of a WeChat flow in flight (purpose, next path, account), kept in the browser that started it.

One signed cookie per flow, named after its state's random key, so two tabs starting flows at once never
overwrite each other's. It outlives its state (whose own expiry decides what a callback may do) so that
a link opened too late still says where to start again. A browser keeps at most MAX_FLOWS of them: a
start drops the oldest. The server stores nothing until WeChat calls back with a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from webapp.cookies import Signer, delete_later, jar, pending, set_later
from webapp.keys import clock_key, settings_key
from webapp.security import safe_next
from webapp.wechat.states import STATE_TTL, Purpose, Ticket

PREFIX = "webapp_wxf_"
MAX_FLOWS = 4
MAX_NEXT = 512  # MAX_FLOWS cookies must stay well inside a request head's limits (8 KiB per header line)
_PURPOSES: frozenset[str] = frozenset({"login", "bind", "reauth"})
_TTL_S = int(STATE_TTL.total_seconds()) * 6


@dataclass(frozen=True)
class FlowPayload:
    """What the callback needs to know about a flow besides its state."""

    purpose: Purpose
    next_path: str = "/"
    user_id: int | None = None


def _signer(request: web.Request) -> Signer:
    return Signer(request.app[settings_key].secret_key, "wechat-flow")


def _name(key: str) -> str:
    return PREFIX + key[:12]


def remember(request: web.Request, key: str, payload: FlowPayload) -> None:
    """Keep the payload of the flow whose state has this key in this browser."""
    now = request.app[clock_key]().timestamp()
    _drop_oldest(request, keep=MAX_FLOWS - 1)
    next_path = payload.next_path if len(payload.next_path) <= MAX_NEXT else "/"
    value = {"k": key, "p": payload.purpose, "n": next_path, "u": payload.user_id}
    set_later(request, _name(key), _signer(request).sign(value, now=now), max_age=_TTL_S)


def recall(request: web.Request, ticket: Ticket) -> FlowPayload | None:
    """The payload this browser kept for the ticket's flow; None when it is missing, forged or too old."""
    now = request.app[clock_key]().timestamp()
    value = _signer(request).unsign(pending(request, _name(ticket.key)), now=now, max_age_s=_TTL_S)
    if not isinstance(value, dict) or value.get("k") != ticket.key or value.get("p") not in _PURPOSES:
        return None
    user_id = value.get("u")
    return FlowPayload(
        purpose=value["p"], next_path=safe_next(value.get("n")), user_id=user_id if isinstance(user_id, int) else None
    )


def _drop_oldest(request: web.Request, *, keep: int) -> None:
    """Delete all but the `keep` newest flow cookies this browser sent."""
    flows = sorted(
        ((_stamp(value), name) for name, value in jar(request).items() if name.startswith(PREFIX)), reverse=True
    )
    for _stamp_value, name in flows[keep:]:
        delete_later(request, name)


def _stamp(token: Any) -> int:
    """The signing time inside a signed value (0 when it has none: dropped first)."""
    parts = str(token).split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
