"""The application factory: settings in, a wired web.Application out. Nothing happens at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from webapp.accounts.account import LOAD_SESSION_SQL, Account
from webapp.clock import utcnow
from webapp.cookies import Signer
from webapp.crypto import TokenCipher
from webapp.csrf import setup_csrf
from webapp.db import CONNECTION_ERRORS, Database, make_sessionmaker
from webapp.i18n import Translator
from webapp.keys import (
    cipher_key,
    clock_key,
    database_key,
    db_key,
    flash_signer_key,
    http_key,
    outcome_signer_key,
    passwords_key,
    settings_key,
    state_signer_key,
    translator_key,
    wechat_client_key,
)
from webapp.middlewares import prepare_response, site_middleware
from webapp.observability.wiring import setup_observability  # observability: request ids, metrics, /readyz
from webapp.passwords import Passwords
from webapp.routes import setup_routes
from webapp.sessions import PostgresStorage, storage_key
from webapp.settings import Settings
from webapp.templating import setup_jinja
from webapp.wechat.mini.runtime import mini_context
from webapp.wechat.mp.runtime import mp_context, mp_shutdown
from webapp.wechat.states import StateSigner


def create_app(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Callable[[], datetime] = utcnow,
    http: aiohttp.ClientSession | None = None,
    wechat_sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> web.Application:
    """Build the site. Tests inject a sessionmaker (bound to a rolled-back transaction, or pooled) and a clock."""
    owns_engine = sessionmaker is None
    if sessionmaker is None:
        if settings.async_database_url is None:
            raise ValueError("settings.database_url is required when no sessionmaker is given")
        sessionmaker = make_sessionmaker(  # lazy: connects on first use
            settings.async_database_url, pool_size=max(2, settings.database_pool_size // 2),
            pool_mode=settings.database_pool_mode,
        )
    database = _database(sessionmaker, settings)
    storage = PostgresStorage(
        database, clock, max_age=settings.session_max_age_s, secure=settings.secure_cookies,
        load_sql=LOAD_SESSION_SQL, account_of=Account.from_row,
    )
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[site_middleware()],
    )
    app[settings_key] = settings
    app[storage_key] = storage
    app[db_key] = sessionmaker
    app[database_key] = database
    app[clock_key] = clock
    app[translator_key] = Translator()
    app[cipher_key] = TokenCipher(settings.token_keys)
    app[passwords_key] = passwords = Passwords(parameters=settings.password_parameters)
    app.on_startup.append(lambda _app: passwords.warm())
    app[flash_signer_key] = Signer(settings.secret_key, "flash")
    app[outcome_signer_key] = Signer(settings.secret_key, "wechat-outcome")
    app[state_signer_key] = StateSigner(settings.secret_key)
    setup_csrf(app)
    setup_jinja(app)
    setup_routes(app)
    app.on_response_prepare.append(prepare_response)  # cookies, security headers, X-Request-ID, Bearer challenge, static caching
    setup_observability(app)  # observability: pool gauge, schema head (site_middleware observes each request)
    app.cleanup_ctx.append(_database_context(owns_engine))
    app.cleanup_ctx.append(_http_context(http, wechat_sleep))
    app.cleanup_ctx.append(mp_context)  # official account: LISTEN connection, cgi-bin client, pending work
    app.cleanup_ctx.append(mini_context)  # mini program: its client and interface token (on the notifier above)
    app.on_shutdown.append(mp_shutdown)  # held follow-login polls answer at once
    if settings.run_worker:
        from webapp.wechat.worker import background_context  # after http: it needs the WeChat client

        app.cleanup_ctx.append(background_context)
    return app


def _database(sm: async_sessionmaker[AsyncSession], settings: Settings) -> Database:
    """The hot paths on the sessionmaker's own connection (tests), or an asyncpg pool beside its engine."""
    if isinstance(sm.kw.get("bind"), AsyncConnection):
        return Database.joined_to(sm)
    return Database.pooled(sm, pool_mode=settings.database_pool_mode)


def _database_context(owns_engine: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def database_context(app: web.Application) -> AsyncIterator[None]:
        """Open the asyncpg pool at start-up; close it (and the engine, if ours) at shutdown."""
        database, settings = app[database_key], app[settings_key]
        try:
            await database.open(max_size=settings.database_pool_size)
        except CONNECTION_ERRORS as exc:  # the site starts anyway: pages say 503 until the database answers
            logging.getLogger("webapp").warning("database unreachable at start-up (%s); retrying on use", type(exc).__name__)
        yield
        if owns_engine:
            await database.close()
        else:
            await database.close_pool()

    return database_context


def _http_context(
    injected: aiohttp.ClientSession | None, sleep: Callable[[float], Awaitable[Any]]
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def http_context(app: web.Application) -> AsyncIterator[None]:
        """One shared ClientSession (and the WeChat client on it) for the app's lifetime."""
        from webapp.wechat.client import WeChatClient

        settings = app[settings_key]
        http = injected or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.wechat_timeout_s))
        app[http_key] = http
        app[wechat_client_key] = WeChatClient(
            http,
            api_base=settings.wechat_api_base,
            timeout=aiohttp.ClientTimeout(total=settings.wechat_timeout_s, connect=min(3.0, settings.wechat_timeout_s)),
            now=app[clock_key],
            sleep=sleep,  # tests record the retry waits instead of sleeping
        )
        yield
        if injected is None:
            await http.close()

    return http_context
