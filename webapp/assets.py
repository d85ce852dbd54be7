"""Static files: content-hashed URLs for the templates and how long browsers may keep each answer."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiohttp import web

from webapp.keys import settings_key

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_hashes: dict[tuple[Path, int, int], str] = {}


def static_url(static_dir: Path, path: str) -> str:
    """`/static/<path>?v=<hash of its content>`: a new URL whenever the file changes."""
    file = static_dir / path
    try:
        stat = file.stat()
    except OSError:
        return f"/static/{path}"  # a missing file answers 404 at its plain URL
    key = (file, stat.st_mtime_ns, stat.st_size)
    digest = _hashes.get(key)
    if digest is None:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        _hashes[key] = digest
    return f"/static/{path}?v={digest}"


def static_cache_control(request: web.Request, response: web.StreamResponse) -> None:
    """At response preparation (webapp.middlewares.prepare_response): a current versioned static URL is kept a year; others are checked on each use."""
    if not request.path.startswith("/static/") or response.status != 200 or "Cache-Control" in response.headers:
        return
    if ".." in request.path:
        return
    version = request.query.get("v", "")
    current = static_url(request.app[settings_key].static_dir, request.path.removeprefix("/static/"))
    response.headers["Cache-Control"] = IMMUTABLE if version and current.endswith(f"?v={version}") else REVALIDATE
