"""Request ids, the log context and request metrics (begin_request/end_request, which the site's middleware
calls around everything else, and add_request_id_header at response preparation); setup_observability(app):
the pool gauge and the schema head."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from webapp import keys
from webapp.background import run_periodically
from webapp.keys import db_key
from webapp.observability import context, metrics
from webapp.observability.readiness import Schema, script_schema

schema_key = web.AppKey("schema", Schema)
POOL_SAMPLE_S = 10.0


def setup_observability(app: web.Application) -> None:
    """The pool gauge and the schema head; call once from create_app (its middleware observes each request)."""
    app.cleanup_ctx.append(schema_context)
    app.cleanup_ctx.append(pool_context)


Watch = tuple[object, float]  # the log context's token, the start on perf_counter


def begin_request(request: web.Request) -> Watch:
    """Before anything else (error pages and their logs carry it): the request's id, made the log context."""
    request_id = request[context.request_id_key] = context.request_id_for(request)
    return context.enter(request_id, request), time.perf_counter()


def end_request(request: web.Request, watch: Watch, status: int) -> None:
    """After everything else: count the request by route name, method and status class, with its time.

    `status` is the answer's, a raised redirect's, 499 when the client went away, 500 when it failed.
    """
    token, started = watch
    metrics.http_request(route_name(request), request.method, status, time.perf_counter() - started)
    context.leave(token)


def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """At response preparation (webapp.middlewares.prepare_response): X-Request-ID on every response, error
    pages and redirects included."""
    request_id = request.get(context.request_id_key)
    if request_id is not None:
        response.headers[context.REQUEST_ID_HEADER] = request_id


def route_name(request: web.BaseRequest) -> str:
    """The route's name (a fixed set), "unmatched" for 404/405: never the path, which the client chooses."""
    info = getattr(request, "match_info", None)
    if info is None or getattr(info, "http_exception", None) is not None:
        return "unmatched"
    return info.route.name or "unnamed"


async def schema_context(app: web.Application) -> AsyncIterator[None]:
    """Read the migrations' head once at start-up, for /readyz."""
    app[schema_key] = await asyncio.to_thread(script_schema)
    yield


def pool_counts_of(bind: object) -> Callable[[], metrics.PoolCounts] | None:
    """A reader of the connection pool behind an AsyncEngine (or AsyncConnection); None if it has no pool to count."""
    pool = getattr(getattr(bind, "sync_engine", None), "pool", None)
    if pool is None or not hasattr(pool, "checkedout"):
        return None
    return lambda: metrics.PoolCounts(in_use=pool.checkedout(), idle=pool.checkedin())


async def pool_context(app: web.Application) -> AsyncIterator[None]:
    """Report the app's pools in webapp_db_pool_connections (sampled on a timer when processes share metrics)."""
    unwatch = [metrics.watch_pool(counts, pool=name) for name, counts in _pools_of(app)]
    sampler = None
    if unwatch and metrics.multiprocess_dir():  # another process may answer the scrape: keep this one's current

        async def sample() -> None:
            metrics.sample_pools()

        sampler = asyncio.create_task(run_periodically(POOL_SAMPLE_S, sample))
    yield
    if sampler is not None:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    for stop in unwatch:
        stop()


def _pools_of(app: web.Application) -> list[tuple[str, Callable[[], tuple[int, int] | None]]]:
    """SQLAlchemy's engine pool, and the asyncpg pool of the hot paths when the app has one."""
    pools: list[tuple[str, Callable[[], tuple[int, int] | None]]] = []
    engine = pool_counts_of(getattr(app[db_key], "kw", {}).get("bind"))
    if engine is not None:
        pools.append(("sqlalchemy", engine))
    database_key = getattr(keys, "database_key", None)
    usage = getattr(app.get(database_key), "pool_usage", None) if database_key is not None else None
    if usage is not None:
        pools.append(("asyncpg", usage))
    return pools
