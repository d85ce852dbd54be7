"""setup_observability(app): request ids, the log context, request metrics, the pool gauge, the schema head."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from webapp import keys
from webapp.background import run_periodically
from webapp.keys import db_key
from webapp.observability import context, metrics
from webapp.observability.readiness import Schema, script_schema

schema_key = web.AppKey("schema", Schema)
POOL_SAMPLE_S = 10.0


def setup_observability(app: web.Application) -> None:
    """Wire everything in; call once from create_app after its middlewares are set."""
    app.middlewares.insert(0, observe_middleware)  # outermost: error pages and their logs carry the request id
    app.on_response_prepare.append(add_request_id_header)
    app.cleanup_ctx.append(schema_context)
    app.cleanup_ctx.append(pool_context)


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request its id, make it the log context, and count it by route name and status class."""
    request_id = context.request_id_for(request)
    request[context.request_id_key] = request_id
    token = context.enter(request_id, request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects are raised
        status = exc.status
        raise
    except asyncio.CancelledError:  # the client went away
        status = 499
        raise
    finally:
        metrics.http_request(route_name(request), request.method, status, time.perf_counter() - started)
        context.leave(token)


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: X-Request-ID on every response, error pages and redirects included."""
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
