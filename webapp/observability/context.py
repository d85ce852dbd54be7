"""The request a log line belongs to: its id (X-Request-ID) and, once known, the logged-in user's id."""

from __future__ import annotations

import functools
import random
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from webapp.clientinfo import peer_is_trusted

REQUEST_ID_HEADER = "X-Request-ID"
# What nginx's $request_id, a UUID or a trace id look like; anything else is replaced, never logged.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

request_id_key = web.RequestKey("request_id", str)


@dataclass(frozen=True)
class RequestContext:
    """What the log filter reads while a request is being handled."""

    request_id: str
    request: web.BaseRequest

    @property
    def user_id(self) -> int | None:
        """The logged-in user's id, when this request has loaded its session."""
        return session_user_id(self.request)


_current: ContextVar[RequestContext | None] = ContextVar("webapp_request", default=None)


def current() -> RequestContext | None:
    """The request being handled by this task, if any."""
    return _current.get()


def enter(request_id: str, request: web.BaseRequest) -> object:
    """Make `request` current for this task; returns the token `leave` needs."""
    return _current.set(RequestContext(request_id, request))


def leave(token: object) -> None:
    """Undo `enter`."""
    _current.reset(token)  # type: ignore[arg-type]


def request_id_for(request: web.BaseRequest) -> str:
    """The proxy's X-Request-ID when the peer is a trusted proxy and the id looks like one, else a new id."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _REQUEST_ID_RE.fullmatch(given) and peer_is_trusted(request):
        return given
    return new_request_id()


def new_request_id() -> str:
    """32 hex digits from the process's Mersenne Twister (re-seeded after a fork by the random module).

    A request id names a request in the logs; it guards nothing, so it needs no system call per request
    (secrets.token_hex reads os.urandom, a tenth of /api/me's own time).
    """
    return f"{random.getrandbits(128):032x}"


def session_user_id(request: web.BaseRequest) -> int | None:
    """The logged-in user's id if this request already loaded it (never loads anything itself)."""
    sessions = _sessions()
    uid = getattr(sessions.loaded_account(request), "id", None)
    if uid is None:
        session = sessions.loaded_session(request)
        uid = session.get("uid") if session is not None else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


@functools.cache
def _sessions() -> Any:
    # Imported late: webapp.sessions needs the models, and this module is imported by the logging set-up.
    from webapp import sessions

    return sessions
