"""WeChat login and binding handlers (being written)."""

from __future__ import annotations

from aiohttp import web


async def _todo(request: web.Request) -> web.Response:
    raise web.HTTPNotFound()


start = callback = finish = continue_page = link_existing = bind = unbind = _todo
