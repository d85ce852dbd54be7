"""Responses a handler returns rather than raises."""

from __future__ import annotations

from aiohttp import web
from yarl import URL


def found(location: str | URL) -> web.Response:
    """A 302 to `location`, returned by a handler on a hot path instead of raising web.HTTPFound.

    The same status and Location; raising builds a text body and walks the exception through every
    middleware, a tenth of the Python work of a QR login's redirects. Cookies and the session are
    saved on a returned response as on a raised one (webapp.middlewares.site_middleware).
    """
    return web.Response(status=302, headers={"Location": str(location)})
