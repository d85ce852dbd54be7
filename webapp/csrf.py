"""CSRF protection without server state: a signed double-submit token on every unsafe request.

The browser holds a random nonce in an HttpOnly cookie; forms carry HMAC(nonce, session id). An
attacker's page can make the browser send the cookie but cannot read it, so it cannot compute the
token; binding it to the session id means a token stops working when the session changes (login,
logout). Anonymous forms (log in, sign up) are protected the same way, with no session row.
Every page prints the token masked with fresh random bytes, so compressed pages (gzip over TLS)
never repeat a secret an attacker could recover byte by byte (BREACH).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiDict, MultiDictProxy

from webapp.cookies import b64, derive_key, pending, set_later, unb64
from webapp.cookies import read as read_cookie
from webapp.keys import bearer_key, settings_key
from webapp.sessions import get_session

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_COOKIE = "webapp_csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_PARSED_TYPES = _FORM_TYPES | {""}  # what aiohttp's request.post() reads (no Content-Type: as a urlencoded form)
_KEY = web.AppKey("csrf_key", bytes)


class CSRFFailure(web.HTTPForbidden):
    """The request lacked a valid CSRF token (expired form, or sent from another site)."""


def csrf_exempt(handler: Handler) -> Handler:
    """Mark a handler that authenticates its POSTs otherwise (e.g. WeChat's signed pushes)."""
    handler.csrf_exempt = True  # type: ignore[attr-defined]
    return handler


def setup_csrf(app: web.Application) -> None:
    """Derive the signing key once."""
    app[_KEY] = derive_key(app[settings_key].secret_key, "csrf")


def _expected(key: bytes, nonce: str, binding: str | None) -> bytes:
    message = f"{nonce}|{binding or ''}".encode()
    return hmac.digest(key, message, "sha256")


def _masked(token: bytes) -> str:
    """The token XOR fresh random bytes, with those bytes in front: a different text on every page."""
    pad = secrets.token_bytes(len(token))
    return b64(pad + bytes(a ^ b for a, b in zip(pad, token, strict=True)))


def _unmasked(supplied: str) -> bytes | None:
    """The token a masked text carries, or None when it is no masked token."""
    try:
        raw = unb64(supplied)
    except ValueError:
        return None
    half = len(raw) // 2
    if len(raw) != 2 * hashlib.sha256().digest_size:
        return None
    return bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True))


class LazyToken:
    """A template value that creates the nonce cookie only if a page renders a form."""

    def __init__(self, request: web.Request, binding: str | None) -> None:
        self._request, self._binding = request, binding

    def __str__(self) -> str:
        nonce = pending(self._request, CSRF_COOKIE)
        if not nonce or len(nonce) > 64:
            nonce = secrets.token_urlsafe(24)
            set_later(self._request, CSRF_COOKIE, nonce, max_age=365 * 24 * 3600)
        return _masked(_expected(self._request.app[_KEY], nonce, self._binding))

    def __html__(self) -> str:
        return str(self)


async def _parsed_form(request: web.Request) -> MultiDictProxy[Any]:
    """The request's form, parsed once here (aiohttp caches it for the handler): a body that is no form is a 400.

    A multipart body without its boundary, bytes that are not in the declared charset, or a charset nobody
    knows make aiohttp's request.post() raise ValueError or LookupError, which every handler would turn
    into a 500.
    """
    if request.content_type not in _PARSED_TYPES:
        return MultiDictProxy(MultiDict())
    try:
        return await request.post()
    except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
        raise web.HTTPBadRequest() from exc


def _bearer_json_api(request: web.Request) -> bool:
    """An /api/* JSON request whose bearer token proved valid (and nothing else)."""
    return (bearer_key in request and request.path.startswith("/api/")
            and request.content_type == "application/json")


async def check(request: web.Request) -> None:
    """Raise CSRFFailure for an unsafe request whose token does not match this browser's nonce and session.

    A JSON request to /api/* authenticated by a bearer token is exempt: a browser never attaches that
    header by itself, so another site cannot make it send one (webapp.wechat.mini.bearer).
    """
    if (request.method not in _SAFE_METHODS and not getattr(request.match_info.handler, "csrf_exempt", False)
            and not _bearer_json_api(request)):
        nonce = read_cookie(request, CSRF_COOKIE)
        form = await _parsed_form(request)
        supplied = request.headers.get(CSRF_HEADER)
        if supplied is None and request.content_type in _FORM_TYPES:
            supplied = form.get(CSRF_FIELD)
        token = _unmasked(supplied) if isinstance(supplied, str) and len(supplied) <= 128 else None
        if not nonce or token is None:
            raise CSRFFailure()
        session = await get_session(request)
        if not hmac.compare_digest(token, _expected(request.app[_KEY], nonce, session.identity)):
            raise CSRFFailure()
