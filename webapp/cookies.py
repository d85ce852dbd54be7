"""Cookies the site sets besides the session: signed values, and cookies queued for whatever response goes out.

Anonymous visitors get no server-side session: what their browser must carry (the CSRF nonce,
the WeChat browser nonce, a flash message, the outcome of a WeChat callback) lives in cookies.
Values that must not be forged are signed with a key derived from SECRET_KEY for one purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import orjson
from aiohttp import web

from webapp import requeststate
from webapp.keys import settings_key


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A key for one purpose, so a value signed for one use is worthless for another."""
    return hmac.new(secret_key.encode("utf-8"), f"webapp:{purpose}".encode(), hashlib.sha256).digest()


def b64(raw: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Inverse of b64; raises ValueError on garbage."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# A cookie name as RFC 6265 allows it (a token); anything else in the header is skipped.
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")
# What the site itself ever writes into a cookie: printable ASCII without quotes, commas or semicolons.
_COOKIE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,4096}")


def read(request: web.BaseRequest, name: str) -> str | None:
    """The cookie the browser sent, or None when absent or not something the site could have written.

    Every cookie reader goes through here: a value with non-ASCII, control or surrogate characters
    (which would fail later when encoded or hashed) is treated as absent, never as an error.
    """
    value = jar(request).get(name)
    return value if value is not None and _COOKIE_VALUE.fullmatch(value) else None


def jar(request: web.BaseRequest) -> dict[str, str]:
    """The Cookie header as names to values, split once per request (the last of a repeated name wins).

    aiohttp's request.cookies builds an http.cookies Morsel per cookie, a tenth of a logged-in JSON
    request's time with a browser's handful of cookies. The site reads only values it wrote itself
    (read() refuses anything else), so a plain split is enough: a surrounding pair of quotes is
    dropped, and a value with any other quoting or escape never passes read()'s pattern. Names that are
    not RFC 6265 tokens are skipped.
    """
    state = requeststate.of(request)
    found = state.jar
    if found is None:
        found = {}
        for part in request.headers.get("Cookie", "").split(";"):
            name, eq, value = part.partition("=")
            name = name.strip()
            if eq and _COOKIE_NAME.fullmatch(name):
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                found[name] = value
        state.jar = found
    return found


class Signer:
    """Signs small JSON values with a timestamp; unsign checks the signature and the age."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = derive_key(secret_key, f"cookie:{purpose}")

    def sign(self, value: Any, *, now: float) -> str:
        """`payload.timestamp.mac`, all URL-safe."""
        body = f"{b64(orjson.dumps(value))}.{int(now)}"
        return f"{body}.{self._mac(body)}"

    def unsign(self, token: str | None, *, now: float, max_age_s: float) -> Any | None:
        """The value, or None when the token is missing, forged, malformed or too old."""
        if not token or len(token) > 4096 or not token.isascii() or token.count(".") != 2:
            return None
        body, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        payload, _, stamp = body.partition(".")
        try:
            age = now - int(stamp)
            value = orjson.loads(unb64(payload))
        except ValueError:
            return None
        return value if 0 <= age <= max_age_s else None

    def _mac(self, body: str) -> str:
        return b64(hmac.digest(self._key, body.encode("ascii"), "sha256")[:24])


@dataclass(frozen=True)
class _Cookie:
    value: str | None  # None deletes
    max_age: int | None


def set_later(request: web.Request, name: str, value: str, *, max_age: int | None = None) -> None:
    """Set a cookie on the response of this request, whether returned or raised (e.g. a redirect)."""
    requeststate.of(request).pending[name] = _Cookie(value, max_age)


def delete_later(request: web.Request, name: str) -> None:
    """Delete a cookie with the response of this request."""
    requeststate.of(request).pending[name] = _Cookie(None, None)


def pending(request: web.Request, name: str) -> str | None:
    """A value queued by set_later in this request, else the cookie the browser sent."""
    queued: _Cookie | None = requeststate.of(request).pending.get(name)
    if queued is not None:
        return queued.value
    return read(request, name)


def apply_pending(request: web.Request, response: web.StreamResponse) -> None:
    """At response preparation (webapp.middlewares.prepare_response): write the queued cookies (HttpOnly, SameSite=Lax, Secure under https).

    The response's own cookies were already turned into headers when this hook runs, so the
    Set-Cookie headers are added here directly.
    """
    queued = requeststate.of(request).pending
    if not queued:
        return
    secure = request.app[settings_key].secure_cookies
    for name, cookie in queued.items():
        if cookie.value is None:
            header = set_cookie_header(name, "", secure=secure, max_age=0, expires=EXPIRED)
        else:
            header = set_cookie_header(name, cookie.value, secure=secure, max_age=cookie.max_age)
        response.headers.add("Set-Cookie", header)


EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"
# A value http.cookies writes as it is; any other (quoting needed, or empty) is left to http.cookies.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:]+", re.ASCII)


def set_cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None = None, expires: str | None = None
) -> str:
    """A Set-Cookie value with Path=/, HttpOnly and SameSite=Lax, exactly as http.cookies writes it.

    Written directly for the values the site sets (a signed token, a random id): an http.cookies
    Morsel was a twentieth of a login's Python work. Anything else goes through the Morsel itself.
    """
    if not _PLAIN_VALUE.fullmatch(value):
        return _morsel_header(name, value, secure=secure, max_age=max_age, expires=expires)
    header = f"{name}={value}"
    if expires is not None:
        header += f"; expires={expires}"
    header += "; HttpOnly"
    if max_age is not None:
        header += f"; Max-Age={max_age}"
    header += "; Path=/; SameSite=Lax"
    return header + "; Secure" if secure else header


def _morsel_header(name: str, value: str, *, secure: bool, max_age: int | None, expires: str | None) -> str:
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    if max_age is not None:
        morsel["max-age"] = max_age
    if expires is not None:
        morsel["expires"] = expires
    return morsel.OutputString()
