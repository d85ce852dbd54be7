"""The refresh worker: one maintenance pass, run inside `webapp serve` or alone as `webapp worker`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import suppress
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web

from webapp.avatars.copier import copy_due_avatars
from webapp.avatars.fetch import AvatarFetcher
from webapp.background import run_periodically
from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.db import Database, make_sessionmaker
from webapp.keys import cipher_key, clock_key, database_key, http_key, settings_key, wechat_client_key
from webapp.maintenance import purge_expired
from webapp.observability import metrics
from webapp.settings import Settings
from webapp.wechat.client import WeChatClient
from webapp.wechat.refresher import RefreshPolicy, RefreshReport, configured_apps, refresh_due
from webapp.wechat.schemas import WeChatApp

logger = logging.getLogger("webapp.worker")


def policy_of(settings: Settings) -> RefreshPolicy:
    """The refresh policy as configured (REFRESH_ACTIVE_DAYS)."""
    return RefreshPolicy(active_days=settings.refresh_active_days)


async def refresh_all_due(
    db: Database,
    client: WeChatClient,
    cipher: TokenCipher,
    apps: Mapping[str, WeChatApp],
    *,
    clock: Callable[[], datetime],
    policy: RefreshPolicy | None = None,
) -> RefreshReport:
    """Refresh everything due now; each claim reads the clock anew, so leases stay meaningful in long passes."""
    return await refresh_due(db, client, cipher, apps, clock=clock, policy=policy or RefreshPolicy())


async def maintenance_pass(
    db: Database,
    client: WeChatClient,
    cipher: TokenCipher,
    apps: Mapping[str, WeChatApp],
    *,
    clock: Callable[[], datetime],
    policy: RefreshPolicy | None = None,
    avatars: AvatarFetcher | None = None,
) -> RefreshReport:
    """Refresh every due token, copy due avatars, then purge expired sessions, states, counters and old failures."""
    report = await refresh_all_due(db, client, cipher, apps, clock=clock, policy=policy)
    await _observe(db, report, now=clock())
    if avatars is not None:
        await copy_due_avatars(db, avatars, clock=clock)
    purged = await purge_expired(db.sm, now=clock())
    metrics.oauth_state("expired", purged.oauth_states)
    level = logging.INFO if report.claimed else logging.DEBUG
    logger.log(level, "token refresh: %s", report)
    logger.log(logging.DEBUG, "purged: %s", purged)
    return report


async def _observe(db: Database, report: RefreshReport, *, now: datetime) -> None:
    """The pass's outcomes, and how late the most overdue grant is, for the metrics."""
    for outcome, n in (("refreshed", report.refreshed), ("reauth_required", report.reauth_required),
                       ("failed", report.failed), ("skipped", report.skipped), ("parked", report.parked),
                       ("profile_synced", report.profiles_synced)):
        metrics.refresh(outcome, n)
    async with db.connection() as conn:
        oldest = await conn.fetchval(
            "SELECT min(refresh_due_at) FROM wechat_identities WHERE refresh_due_at <= $1", now
        )
    metrics.oldest_overdue((now - oldest).total_seconds() if oldest is not None else None)


def wechat_client(settings: Settings, http: aiohttp.ClientSession) -> WeChatClient:
    """The WeChat client as configured, on `http`."""
    timeout = aiohttp.ClientTimeout(total=settings.wechat_timeout_s, connect=min(3.0, settings.wechat_timeout_s))
    return WeChatClient(http, api_base=settings.wechat_api_base, timeout=timeout)


async def run_worker(
    settings: Settings, *, once: bool, stop: asyncio.Event | None = None, metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> int:
    """`webapp worker`: one pass with `once`, else passes every worker_interval_s until SIGINT/SIGTERM (or `stop`).

    `metrics_port`: also answer GET /metrics there (METRICS_ALLOW applies), so a worker on its own
    host can be scraped like the site.
    """
    url = settings.async_database_url
    if url is None:
        logger.error("DATABASE_URL is not set")
        return 2
    db = Database.pooled(make_sessionmaker(url, pool_size=2, pool_mode=settings.database_pool_mode),
                         pool_mode=settings.database_pool_mode)
    apps = configured_apps(settings)
    if not apps:
        logger.warning("no WeChat app is configured: nothing to refresh, only expired rows are purged")
    try:
        async with aiohttp.ClientSession() as http:
            client, cipher = wechat_client(settings, http), TokenCipher(settings.token_keys)
            job = partial(maintenance_pass, db, client, cipher, apps, clock=utcnow, policy=policy_of(settings),
                          avatars=AvatarFetcher(http, api_base=settings.wechat_api_base))
            if once:
                return await _once(job)
            metrics_site = await _serve_metrics(settings, metrics_host, metrics_port) if metrics_port else None
            try:
                await _until_signalled(settings.worker_interval_s, job, stop=stop)
            finally:
                if metrics_site is not None:
                    await metrics_site.cleanup()
            logger.info("worker stopped")
            return 0
    finally:
        await db.close()


async def _serve_metrics(settings: Settings, host: str, port: int) -> web.AppRunner:
    """A tiny server answering /metrics for this worker (no site, no database)."""
    from webapp.observability.views import metrics as metrics_view

    app = web.Application()
    app[settings_key] = settings
    app.router.add_get("/metrics", metrics_view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("worker metrics on port %d (/metrics, METRICS_ALLOW applies)", port)
    return runner


async def _once(job: Callable[[], Coroutine[Any, Any, RefreshReport]]) -> int:
    """Run one pass; 1 when the pass itself could not run (e.g. the database is unreachable)."""
    try:
        await job()
    except Exception:
        logger.exception("the worker pass failed")
        return 1
    return 0


async def _until_signalled(
    interval: float, job: Callable[[], Coroutine[Any, Any, RefreshReport]], *, stop: asyncio.Event | None = None
) -> None:
    """Run `job` every `interval` seconds until SIGINT or SIGTERM (or `stop`), then cancel it and let it unwind."""
    task = asyncio.create_task(run_periodically(interval, job))
    loop = asyncio.get_running_loop()
    if stop is not None:  # a supervisor owns the signals
        waiter = asyncio.create_task(stop.wait())
        waiter.add_done_callback(lambda _done: task.cancel())
        with suppress(asyncio.CancelledError):
            await task
        waiter.cancel()
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    # Only now: whoever waits for this line may signal us at once.
    logger.info("worker started: a pass every %.0fs; SIGINT or SIGTERM stops it", interval)
    try:
        with suppress(asyncio.CancelledError):
            await task
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def background_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx for `webapp serve`/`dev`: the maintenance pass every worker_interval_s, in-process."""
    settings = app[settings_key]
    job = partial(
        maintenance_pass,
        app[database_key],
        app[wechat_client_key],
        app[cipher_key],
        configured_apps(settings),
        clock=app[clock_key],
        policy=policy_of(settings),
        avatars=AvatarFetcher(app[http_key], api_base=settings.wechat_api_base),
    )
    task = asyncio.create_task(run_periodically(settings.worker_interval_s, job), name="webapp-background")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
