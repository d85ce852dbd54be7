"""GET /avatars/{user_id}/{hash}: the copied picture, cacheable forever (the URL changes with the image)."""

from __future__ import annotations

from aiohttp import web

from webapp.avatars import store
from webapp.keys import database_key

CACHE_FOREVER = "public, max-age=31536000, immutable"


async def avatar(request: web.Request) -> web.StreamResponse:
    """The image bytes, or 404 (no such user, or the picture changed since this URL was made)."""
    user_id, prefix = int(request.match_info["user_id"]), request.match_info["hash"]
    etag = f'"{prefix}"'
    async with request.app[database_key].connection() as conn:
        row = await store.load(conn, user_id=user_id, prefix=prefix)
    if row is None:
        raise web.HTTPNotFound()
    headers = {
        "Cache-Control": CACHE_FOREVER,
        "ETag": etag,
        # Opened on its own, the image is inert: no script, no plugin, nothing else loaded.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=row["content"], content_type=row["content_type"], headers=headers)
