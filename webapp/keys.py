"""Every typed application key, in one place (no module-level singletons)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.settings import Settings

if TYPE_CHECKING:
    from webapp.cookies import Signer
    from webapp.crypto import TokenCipher
    from webapp.db import Database
    from webapp.i18n import Translator
    from webapp.passwords import Passwords
    from webapp.wechat.client import WeChatClient
    from webapp.wechat.states import StateSigner

settings_key = web.AppKey("settings", Settings)
db_key = web.AppKey("db", async_sessionmaker[AsyncSession])
clock_key: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
http_key = web.AppKey("http", aiohttp.ClientSession)
cipher_key: web.AppKey[TokenCipher] = web.AppKey("cipher")
translator_key: web.AppKey[Translator] = web.AppKey("translator")
wechat_client_key: web.AppKey[WeChatClient] = web.AppKey("wechat_client")
# The hot paths' asyncpg access beside `db_key`'s SQLAlchemy sessions (same database).
database_key: web.AppKey[Database] = web.AppKey("database")
passwords_key: web.AppKey[Passwords] = web.AppKey("passwords")
# Signed cookies: one signer per purpose (a flash cannot be replayed as a WeChat outcome).
flash_signer_key: web.AppKey[Signer] = web.AppKey("flash_signer")
outcome_signer_key: web.AppKey[Signer] = web.AppKey("outcome_signer")
# Signs OAuth states (by the site, and for the browser that started the flow).
state_signer_key: web.AppKey[StateSigner] = web.AppKey("state_signer")
# The valid bearer token (a mini program's session) an /api/* request was authenticated with.
bearer_key = web.RequestKey("bearer_token", str)
