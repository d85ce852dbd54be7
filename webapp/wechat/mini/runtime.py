"""What the app holds for the mini program: the app, its client and its interface token (shared store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from webapp.keys import cipher_key, clock_key, db_key, http_key, settings_key
from webapp.settings import Settings
from webapp.wechat.mini.client import MiniClient
from webapp.wechat.mp.runtime import mp_key
from webapp.wechat.mp.tokens import AppTokens
from webapp.wechat.schemas import WeChatApp


@dataclass(frozen=True)
class MiniRuntime:
    """The configured mini program, its API client, and its stable_token kept in `wechat_app_tokens`."""

    app: WeChatApp
    client: MiniClient
    tokens: AppTokens


mini_key = web.AppKey("wechat_mini", MiniRuntime)


def mini_program(settings: Settings) -> WeChatApp | None:
    """The configured mini program, if any."""
    cfg = settings.wechat_mini
    return WeChatApp(cfg.appid, cfg.secret, "mini_program") if cfg and cfg.appid else None


def mini_runtime(app: web.Application) -> MiniRuntime | None:
    """The mini program's runtime, or None when it is not configured."""
    return app.get(mini_key)


async def mini_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the official account's): the client and the interface token, on the shared notifier."""
    settings, mini = app[settings_key], mini_program(app[settings_key])
    if mini is not None:
        timeout = aiohttp.ClientTimeout(total=settings.wechat_timeout_s, connect=min(3.0, settings.wechat_timeout_s))
        mp = app[mp_key]
        tokens = AppTokens(app[db_key], app[cipher_key], mp.api, mp.notifier, app[clock_key], mini)
        app[mini_key] = MiniRuntime(mini, MiniClient(app[http_key], api_base=settings.wechat_api_base, timeout=timeout),
                                    tokens)
    yield
