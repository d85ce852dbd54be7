"""The application factory: settings in, a wired web.Application out. Nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
from aiohttp import web
from aiohttp_session import session_middleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.csrf import csrf_middleware
from webapp.db import make_sessionmaker
from webapp.i18n import Translator, i18n_middleware
from webapp.keys import cipher_key, clock_key, db_key, http_key, settings_key, translator_key, wechat_client_key
from webapp.middlewares import add_security_headers, error_middleware
from webapp.observability.wiring import setup_observability  # observability: request ids, metrics, /readyz
from webapp.routes import setup_routes
from webapp.sessions import PostgresStorage
from webapp.settings import Settings
from webapp.templating import setup_jinja
from webapp.wechat.mp.runtime import mp_context, mp_shutdown


def create_app(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Callable[[], datetime] = utcnow,
    http: aiohttp.ClientSession | None = None,
) -> web.Application:
    """Build the site. Tests inject a sessionmaker bound to a rolled-back transaction, and a clock."""
    owns_db = sessionmaker is None
    if sessionmaker is None:
        if settings.async_database_url is None:
            raise ValueError("settings.database_url is required when no sessionmaker is given")
        sessionmaker = make_sessionmaker(settings.async_database_url)  # lazy: connects on first use
    storage = PostgresStorage(
        sessionmaker, clock, max_age=settings.session_max_age_s, secure=settings.secure_cookies
    )
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[i18n_middleware, error_middleware, session_middleware(storage), csrf_middleware],
    )
    app[settings_key] = settings
    app[db_key] = sessionmaker
    app[clock_key] = clock
    app[translator_key] = Translator()
    app[cipher_key] = TokenCipher(settings.token_keys)
    setup_jinja(app)
    setup_routes(app)
    app.on_response_prepare.append(add_security_headers)
    setup_observability(app)  # observability: outermost middleware, X-Request-ID header, pool gauge, schema head
    if owns_db:
        app.cleanup_ctx.append(_dispose_engine)
    app.cleanup_ctx.append(_http_context(http))
    app.cleanup_ctx.append(mp_context)  # official account: LISTEN connection, cgi-bin client, pending work
    app.on_shutdown.append(mp_shutdown)  # held follow-login polls answer at once
    if settings.run_worker:
        from webapp.wechat.worker import background_context  # after http: it needs the WeChat client

        app.cleanup_ctx.append(background_context)
    return app


async def _dispose_engine(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[db_key].kw["bind"].dispose()


def _http_context(
    injected: aiohttp.ClientSession | None,
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
        )
        yield
        if injected is None:
            await http.close()

    return http_context
