"""CSRF protection: a per-session token required on every unsafe request (form field or header)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import Session, get_session

from webapp.security import random_token, same

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_FIELD = "csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class CSRFFailure(web.HTTPForbidden):
    """The request lacked the session's CSRF token (expired form, or sent from another site)."""


async def csrf_token(request: web.Request) -> str:
    """The session's CSRF token, created on first use."""
    return token_of(await get_session(request))


def token_of(session: Session) -> str:
    """The token kept in `session`, created (and so the session saved) on first use."""
    token = session.get(SESSION_FIELD)
    if not token:
        token = random_token()
        session[SESSION_FIELD] = token
    return str(token)


class LazyToken:
    """A template value that creates the token only if a page renders it: pages without forms
    then leave anonymous visitors (and crawlers) without a stored session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __str__(self) -> str:
        return token_of(self._session)

    def __html__(self) -> str:
        return str(self)


@web.middleware
async def csrf_middleware(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """Reject unsafe requests that do not carry the session's CSRF token."""
    if request.method not in _SAFE_METHODS:
        session = await get_session(request)
        expected = session.get(SESSION_FIELD)
        supplied = request.headers.get(CSRF_HEADER)
        if supplied is None and request.content_type in _FORM_TYPES:
            supplied = (await request.post()).get(CSRF_FIELD)
        if not expected or not isinstance(supplied, str) or not same(supplied, str(expected)):
            raise CSRFFailure()
    return await handler(request)
