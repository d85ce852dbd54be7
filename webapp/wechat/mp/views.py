"""GET/POST /wechat/mp/events: the official account's server URL (hidden until it is configured).

A machine endpoint: its POSTs are authenticated by WeChat's signatures (so exempt from CSRF), every
answer is plain text or WeChat's XML, and a failure is a 503 (WeChat retries), never a 500.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from aiohttp import web
from yarl import URL

from webapp.csrf import csrf_exempt
from webapp.i18n import DEFAULT_LOCALE
from webapp.keys import clock_key, db_key, settings_key, translator_key
from webapp.settings import DEFAULT_SITE_NAME, Settings
from webapp.wechat.mp import dedup, dispatch, inbound, replies
from webapp.wechat.mp.inbound import Delivery, Refused
from webapp.wechat.mp.runtime import MpRuntime, mp_key

PURGE_EVERY = timedelta(minutes=1)
log = logging.getLogger("webapp.wechat.mp")


async def verify(request: web.Request) -> web.Response:
    """WeChat's server-URL check: echo echostr when the signature is right."""
    config = request.app[mp_key].push
    if config is None:
        return replies.refused(404, "Not Found")
    now = request.app[clock_key]()
    try:
        checked = inbound.verify_url(request.query, config.token, now=now)
        await _spend_nonce(request.app, checked.nonce_key, now)
    except Refused as exc:
        log.warning("server-URL verification refused: %s", exc.reason)
        return replies.refused(exc.status, exc.reason)
    return web.Response(text=checked.echostr, content_type="text/plain")


async def _spend_nonce(app: web.Application, key: str, now: datetime) -> None:
    """GET and POST share one nonce memory: a verification's query never signs a push afterwards."""
    try:
        async with app[db_key].begin() as s:
            await dedup.remember(s, key, now=now)
    except dedup.Duplicate:
        raise Refused(403, "nonce already used") from None
    except Exception:
        log.exception("could not remember the verification's nonce")
        raise Refused(503, "temporarily unavailable") from None


@csrf_exempt
async def receive(request: web.Request) -> web.Response:
    """A pushed message or event: check it, handle it once, answer within WeChat's budget."""
    runtime = request.app[mp_key]
    if runtime.push is None:
        return replies.refused(404, "Not Found")
    now = request.app[clock_key]()
    try:
        delivery = inbound.open_push(request.query, await _body(request), runtime.push, now=now)
    except Refused as exc:
        log.warning("push refused (%d): %s", exc.status, exc.reason)
        return replies.refused(exc.status, exc.reason)
    request.app[translator_key].activate(DEFAULT_LOCALE)  # the chat reply goes to a WeChat user
    work = runtime.spawn(_handle(request.app, runtime, delivery))
    try:
        reply = await asyncio.wait_for(asyncio.shield(work), runtime.budget_s)
    except TimeoutError:
        log.warning(
            "push still being handled after %.1fs: answered success, finishing after the answer", runtime.budget_s
        )
        return replies.success()
    except Exception:  # noqa: BLE001  (logged by the task's callback; WeChat retries a 503)
        return replies.refused(503, "temporarily unavailable")
    if reply is None:
        return replies.success()
    crypto = runtime.push.crypto if delivery.encrypted else None
    return replies.text_reply(delivery.push, reply, now=int(now.timestamp()), crypto=crypto)


def chat_site_label(settings: Settings) -> str:
    """How chat replies name the site: its host, after SITE_NAME when the operator chose one."""
    host = URL(settings.public_url).host or ""
    return host if settings.site_name in ("", DEFAULT_SITE_NAME) else f"{settings.site_name} ({host})"


async def _handle(app: web.Application, runtime: MpRuntime, delivery: Delivery) -> str | None:
    settings, now = app[settings_key], app[clock_key]()
    apps = {c.appid for c in (settings.wechat_web, settings.wechat_mp) if c is not None and c.appid}
    assert settings.wechat_mp is not None  # push config exists only with the official account
    context = dispatch.Context(
        default_appid=settings.wechat_mp.appid, appids=apps, site=chat_site_label(settings), now=now
    )
    reply = await dispatch.handle(app[db_key], runtime.notifier, delivery, context)
    if runtime.last_purge is None or now - runtime.last_purge >= PURGE_EVERY:
        runtime.last_purge = now
        try:
            await dedup.purge(app[db_key], now=now)
        except Exception:  # the push itself was handled: the next one purges
            log.exception("could not purge old push keys")
    return reply


async def _body(request: web.Request) -> bytes:
    """The body, refused past MAX_BODY_BYTES without reading the rest."""
    limit = inbound.MAX_BODY_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(16 * 1024):
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)
