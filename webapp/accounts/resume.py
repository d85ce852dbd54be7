"""What a person was doing when "confirm it's you" interrupted them, so confirming can carry it on.

Only our own (CSRF-checked) POST that was refused for want of a recent login sets it: a signed,
short-lived cookie naming the action, the account and where confirming was to lead back. A link from
another site cannot set it, so confirming never starts anything the person did not ask for here; and
a confirmation on the way to something else (deleting the account, say) does not carry it on.
"""

from __future__ import annotations

from aiohttp import web

from webapp.cookies import Signer, delete_later, pending, set_later
from webapp.keys import clock_key, settings_key

COOKIE = "webapp_resume"
MAX_AGE_S = 600
ACTIONS = frozenset({"bind"})


def _signer(request: web.Request) -> Signer:
    return Signer(request.app[settings_key].secret_key, "resume")


def remember(request: web.Request, action: str, *, user_id: int, next_path: str) -> None:
    """Carry `action` on after this account's next confirmation on its way back to `next_path`."""
    now = request.app[clock_key]().timestamp()
    value = _signer(request).sign({"action": action, "uid": user_id, "next": next_path}, now=now)
    set_later(request, COOKIE, value, max_age=MAX_AGE_S)


def peek(request: web.Request, *, user_id: int, next_path: str) -> str | None:
    """The action waiting for this account's confirmation on its way to `next_path`, if any."""
    now = request.app[clock_key]().timestamp()
    value = _signer(request).unsign(pending(request, COOKIE), now=now, max_age_s=MAX_AGE_S)
    if not isinstance(value, dict) or value.get("action") not in ACTIONS:
        return None
    if value.get("uid") != user_id or value.get("next") != next_path:
        return None
    return str(value["action"])


def take(request: web.Request, *, user_id: int, next_path: str) -> str | None:
    """The waiting action, forgotten as it is carried on."""
    action = peek(request, user_id=user_id, next_path=next_path)
    if pending(request, COOKIE) is not None:
        delete_later(request, COOKIE)
    return action
