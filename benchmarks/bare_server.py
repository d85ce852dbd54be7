"""The baselines: a bare aiohttp handler answering /api/me's JSON, with no session, database or middleware;
and the same handler making the one query the site's /api/me makes (the session, its account and identities).

Run as `python -m benchmarks.bare_server PORT`; the body to answer is the JSON in BENCH_BODY. Both run
on the event loop the site runs on (EVENT_LOOP, uvloop by default), so the ratios measure what the site
adds, not the choice of loop. With
BENCH_DATABASE_URL set, each request first runs the site's session query for the `webapp_session` cookie
through an asyncpg pool set up as the site's (its JSON codecs, no reset on release): the least any design
with one database round trip per request can cost.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import uvloop
from aiohttp import web

from webapp.accounts.account import LOAD_SESSION_SQL
from webapp.db import init_connection
from webapp.security import digest

POOL = web.AppKey("pool", asyncpg.Pool)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to reset between requests: the handler never LISTENs, SETs or takes session-level locks."""


def make_app(body: dict[str, Any], database_url: str | None = None) -> web.Application:
    """An application with one route, GET /api/me, answering `body` as JSON (after the session query)."""

    async def api_me(request: web.Request) -> web.Response:
        return web.json_response(body)

    async def api_me_queried(request: web.Request) -> web.Response:
        async with request.app[POOL].acquire() as conn:
            row = await conn.fetchrow(LOAD_SESSION_SQL, digest(request.cookies.get("webapp_session", "")),
                                      datetime.now(UTC))
        if row is None:
            raise web.HTTPUnauthorized
        return web.json_response(body)

    async def pool(app: web.Application) -> AsyncIterator[None]:
        # As the site's pool (webapp.db): its JSON codecs, and no reset on release (a second round trip).
        async with asyncpg.create_pool(database_url, min_size=2, max_size=10, init=init_connection,
                                       reset=_no_reset) as created:
            app[POOL] = created
            yield

    app = web.Application()
    if database_url is None:
        app.router.add_get("/api/me", api_me)
    else:
        app.cleanup_ctx.append(pool)
        app.router.add_get("/api/me", api_me_queried)
    return app


def main() -> None:
    """Serve on 127.0.0.1:<argv[1]> without an access log, on the event loop the site uses (EVENT_LOOP)."""
    body = json.loads(os.environ.get("BENCH_BODY", "{}"))
    database_url = os.environ.get("BENCH_DATABASE_URL")
    loop = uvloop.new_event_loop() if os.environ.get("EVENT_LOOP", "uvloop").lower() == "uvloop" else None
    web.run_app(make_app(body, database_url), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None,
                loop=loop)


if __name__ == "__main__":
    main()
