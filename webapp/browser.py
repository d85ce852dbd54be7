"""The browser binding: one random value per browser, given by the server on a page response.

Every WeChat flow a page starts (its QR codes, its scripts) is bound to this value, so a callback URL
opened in another browser never logs that browser in. It is set only on top-level page responses and
flow starts (navigations), never by a script request: two scripts of one page racing each other would
otherwise each set a different value, and the last one would win.
"""

from __future__ import annotations

from aiohttp import web

from webapp.cookies import pending, set_later
from webapp.security import random_token

BINDING_COOKIE = "webapp_wx"
# Long-lived: a value that expired mid-flow would strand the login; it grants nothing by itself.
BINDING_MAX_AGE = 400 * 24 * 3600


def current_binding(request: web.Request) -> str | None:
    """The binding value this request carries (none inside WeChat's cross-site QR iframe)."""
    value = pending(request, BINDING_COOKIE)
    return value if value and 20 <= len(value) <= 64 and value.isascii() else None


def ensure_binding(request: web.Request) -> str:
    """This browser's binding value, created (and set on this response) if it has none yet."""
    value = current_binding(request)
    if value is None:
        value = random_token()
        set_later(request, BINDING_COOKIE, value, max_age=BINDING_MAX_AGE)
    return value


def is_page_navigation(request: web.Request) -> bool:
    """A top-level GET of a page: where a missing binding may be given (never inside a frame or a script)."""
    return request.method == "GET" and request.headers.get("Sec-Fetch-Dest", "document") == "document"
