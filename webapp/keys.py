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
    from webapp.crypto import TokenCipher
    from webapp.i18n import Translator
    from webapp.wechat.client import WeChatClient

settings_key = web.AppKey("settings", Settings)
db_key = web.AppKey("db", async_sessionmaker[AsyncSession])
clock_key = web.AppKey("clock", Callable[[], datetime])
http_key = web.AppKey("http", aiohttp.ClientSession)
cipher_key: web.AppKey[TokenCipher] = web.AppKey("cipher")
translator_key: web.AppKey[Translator] = web.AppKey("translator")
wechat_client_key: web.AppKey[WeChatClient] = web.AppKey("wechat_client")
