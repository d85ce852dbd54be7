"""The baseline: a bare aiohttp handler answering /api/me's JSON, with no session, database or middleware.

Run as `python -m benchmarks.bare_server PORT`; the body to answer is the JSON in BENCH_BODY.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from aiohttp import web


def make_app(body: dict[str, Any]) -> web.Application:
    """An application with one route, GET /api/me, answering `body` as JSON."""

    async def api_me(request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/api/me", api_me)
    return app


def main() -> None:
    """Serve on 127.0.0.1:<argv[1]> without an access log."""
    body = json.loads(os.environ.get("BENCH_BODY", "{}"))
    web.run_app(make_app(body), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
