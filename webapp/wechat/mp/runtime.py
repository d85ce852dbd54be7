"""What the app holds for the official account's server side, and the cleanup context that owns it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from webapp.keys import cipher_key, clock_key, db_key, http_key, settings_key
from webapp.settings import Settings
from webapp.wechat.mp.api import MpApi
from webapp.wechat.mp.crypto import MessageCrypto
from webapp.wechat.mp.inbound import PushConfig
from webapp.wechat.mp.limits import BrowserLimiter
from webapp.wechat.mp.notify import Notifier
from webapp.wechat.mp.scenes import SceneSigner
from webapp.wechat.mp.tokens import AppTokens
from webapp.wechat.schemas import WeChatApp

ANSWER_BUDGET_S = 4.0  # WeChat gives up after 5 s; the rest of the work continues after the answer
HOLD_S = 25.0  # a follow-login long poll answers within this (proxies commonly cut idle requests at 30 s)
DRAIN_TIMEOUT_S = 10.0
log = logging.getLogger("webapp.wechat.mp")
T = TypeVar("T")


@dataclass
class MpRuntime:
    """The listener, the cgi-bin client, the shared interface token, and the work still running."""

    notifier: Notifier
    api: MpApi
    tokens: AppTokens | None
    push: PushConfig | None
    scenes: SceneSigner
    budget_s: float = ANSWER_BUDGET_S
    hold_s: float = HOLD_S
    qr_limiter: BrowserLimiter = field(default_factory=BrowserLimiter)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    last_purge: datetime | None = None

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `coro` as a task the app waits for on shutdown."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(_log_failure)
        return task

    async def drain(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Wait for the work still running (answers already sent), up to `timeout_s`."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout_s)


mp_key = web.AppKey("wechat_mp", MpRuntime)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("official-account work failed after the answer", exc_info=task.exception())


def official_account(settings: Settings) -> WeChatApp | None:
    """The configured official account, if any."""
    cfg = settings.wechat_mp
    return WeChatApp(cfg.appid, cfg.secret, "official_account") if cfg and cfg.appid else None


def push_config(settings: Settings) -> PushConfig | None:
    """How pushes are checked; None (the endpoint is hidden) without the account or its Token."""
    app = official_account(settings)
    if app is None or not settings.wechat_mp_token:
        return None
    if not settings.wechat_mp_aes_key:
        return PushConfig(settings.wechat_mp_token, None)
    try:
        return PushConfig(
            settings.wechat_mp_token, MessageCrypto(settings.wechat_mp_token, settings.wechat_mp_aes_key, app.appid)
        )
    except ValueError:
        log.error(
            "WECHAT_MP_AES_KEY is not 43 letters or digits: the message endpoint stays hidden (webapp check-config)"
        )
        return None


def follow_login_enabled(settings: Settings) -> bool:
    """Follow-to-log-in is offered: switched on, and the scan can reach us as a pushed event."""
    return settings.wechat_mp_follow_login and push_config(settings) is not None


def listen_dsn(app: web.Application) -> str | None:
    """A plain asyncpg DSN for the LISTEN connection; None behind PgBouncer's transaction pooling."""
    settings = app[settings_key]
    if settings.database_pool_mode == "transaction":
        return None
    bind = app[db_key].kw.get("bind")
    url = (
        bind.url.render_as_string(hide_password=False) if isinstance(bind, AsyncEngine) else settings.async_database_url
    )
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False) if url else None


async def mp_shutdown(app: web.Application) -> None:
    """on_shutdown: held long polls answer at once (the page asks again elsewhere) instead of delaying the stop."""
    runtime = app.get(mp_key)
    if runtime is not None:
        runtime.notifier.release()


async def mp_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the HTTP session): listener, client and token store; waits for work on shutdown."""
    settings = app[settings_key]
    timeout = aiohttp.ClientTimeout(total=settings.wechat_timeout_s, connect=min(3.0, settings.wechat_timeout_s))
    api = MpApi(app[http_key], api_base=settings.wechat_api_base, timeout=timeout)
    notifier = Notifier(listen_dsn(app))
    account = official_account(settings)
    tokens = AppTokens(app[db_key], app[cipher_key], api, notifier, app[clock_key], account) if account else None
    runtime = MpRuntime(notifier, api, tokens, push_config(settings), SceneSigner(settings.secret_key))
    app[mp_key] = runtime
    if runtime.push is not None or follow_login_enabled(settings):
        await notifier.start()
    yield
    await runtime.drain()
    await notifier.stop()
    for task in runtime.tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
