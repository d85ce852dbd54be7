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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.background import run_periodically
from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.db import make_sessionmaker
from webapp.keys import cipher_key, clock_key, db_key, settings_key, wechat_client_key
from webapp.maintenance import purge_expired
from webapp.settings import Settings
from webapp.wechat.client import WeChatClient
from webapp.wechat.refresher import RefreshReport, configured_apps, refresh_due_tokens
from webapp.wechat.schemas import WeChatApp

logger = logging.getLogger("webapp.worker")

MAX_BATCHES_PER_PASS = 1000


async def refresh_all_due(
    sm: async_sessionmaker[AsyncSession],
    client: WeChatClient,
    cipher: TokenCipher,
    apps: Mapping[str, WeChatApp],
    *,
    clock: Callable[[], datetime],
    batch: int = 200,
) -> RefreshReport:
    """Refresh batch after batch until nothing due is left unclaimed; each batch reads the clock anew."""
    # A fresh `now` per batch keeps every lease meaningful even when a pass runs for minutes.
    total = RefreshReport()
    for _ in range(MAX_BATCHES_PER_PASS):
        report = await refresh_due_tokens(sm, client, cipher, apps, now=clock(), batch=batch)
        total += report
        if report.claimed < batch:
            break
    return total


async def maintenance_pass(
    sm: async_sessionmaker[AsyncSession],
    client: WeChatClient,
    cipher: TokenCipher,
    apps: Mapping[str, WeChatApp],
    *,
    clock: Callable[[], datetime],
) -> RefreshReport:
    """Refresh every due token, then purge expired sessions, states and old login failures."""
    report = await refresh_all_due(sm, client, cipher, apps, clock=clock)
    purged = await purge_expired(sm, now=clock())
    level = logging.INFO if report.claimed else logging.DEBUG
    logger.log(level, "token refresh: %s", report)
    logger.log(logging.DEBUG, "purged: %s", purged)
    return report


def wechat_client(settings: Settings, http: aiohttp.ClientSession) -> WeChatClient:
    """The WeChat client as configured, on `http`."""
    timeout = aiohttp.ClientTimeout(total=settings.wechat_timeout_s, connect=min(3.0, settings.wechat_timeout_s))
    return WeChatClient(http, api_base=settings.wechat_api_base, timeout=timeout)


async def run_worker(settings: Settings, *, once: bool) -> int:
    """`webapp worker`: one pass with `once`, else passes every worker_interval_s until SIGINT/SIGTERM."""
    url = settings.async_database_url
    if url is None:
        logger.error("DATABASE_URL is not set")
        return 2
    sm = make_sessionmaker(url)
    apps = configured_apps(settings)
    if not apps:
        logger.warning("no WeChat app is configured: nothing to refresh, only expired rows are purged")
    try:
        async with aiohttp.ClientSession() as http:
            client, cipher = wechat_client(settings, http), TokenCipher(settings.token_keys)
            job = partial(maintenance_pass, sm, client, cipher, apps, clock=utcnow)
            if once:
                return await _once(job)
            await _until_signalled(settings.worker_interval_s, job)
            logger.info("worker stopped")
            return 0
    finally:
        await sm.kw["bind"].dispose()


async def _once(job: Callable[[], Coroutine[Any, Any, RefreshReport]]) -> int:
    """Run one pass; 1 when the pass itself could not run (e.g. the database is unreachable)."""
    try:
        await job()
    except Exception:  # noqa: BLE001  (reported as an exit status, not a traceback on the console)
        logger.exception("the worker pass failed")
        return 1
    return 0


async def _until_signalled(interval: float, job: Callable[[], Coroutine[Any, Any, RefreshReport]]) -> None:
    """Run `job` every `interval` seconds until SIGINT or SIGTERM, then cancel it and wait for it to unwind."""
    task = asyncio.create_task(run_periodically(interval, job))
    loop = asyncio.get_running_loop()
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
        app[db_key],
        app[wechat_client_key],
        app[cipher_key],
        configured_apps(settings),
        clock=app[clock_key],
    )
    task = asyncio.create_task(run_periodically(settings.worker_interval_s, job), name="webapp-background")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
