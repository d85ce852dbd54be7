"""What one request has worked out so far, kept in one object on the request.

aiohttp's Request is a Mapping whose `get` and `in` raise and catch a KeyError for every key not set
yet: a QR login asked that of the cookie jar, the queued cookies, the session, its account and the
language about twenty times a round. The site's middleware gives each request one RequestState first
thing (`begin`); the modules that work these things out keep them in its fields (`of`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp_session import Session

if TYPE_CHECKING:  # the account is the accounts package's (a higher layer)
    from webapp.accounts.account import Account


class _Unset(enum.Enum):
    NOT_LOADED = enum.auto()


NOT_LOADED = _Unset.NOT_LOADED


@dataclass(slots=True, eq=False)
class RequestState:
    """One request's cookies, session, account and language, each filled on first use."""

    jar: dict[str, str] | None = None  # the Cookie header, split once (webapp.cookies.jar)
    pending: dict[str, Any] = field(default_factory=dict)  # cookies queued for the response (webapp.cookies)
    session: Session | None = None  # loaded, replaced or stood in by a bearer token's (webapp.sessions)
    account: Account | None | _Unset = NOT_LOADED  # the session's account, once the session is loaded
    prestored: str | None = None  # the session key whose row a login statement already wrote
    locale: str | None = None  # the language chosen for this request (webapp.i18n.locale_of)


_STATE = web.RequestKey("state", RequestState)


def begin(request: web.BaseRequest) -> RequestState:
    """A fresh state for `request` (the site's middleware, before anything else)."""
    state = request[_STATE] = RequestState()
    return state


def of(request: web.BaseRequest) -> RequestState:
    """The request's state; made here for a request that did not pass the site's middleware."""
    try:
        return request[_STATE]
    except KeyError:
        return begin(request)
