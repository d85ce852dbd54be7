"""Follow the official account to log in: the endpoints the login page's script calls.

POST qr (after the page loaded: page views write nothing) creates a scene bound to this browser and
its QR; GET wait long-polls (≤ 25 s, woken by NOTIFY from whichever process got the scan); POST
claim lets the bound browser, once, log in as the scanner. Answers are JSON with a localised message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import segno
from aiohttp import web

from webapp.clientinfo import client_ip, is_wechat_browser
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key, db_key, settings_key
from webapp.security import random_alnum, safe_next
from webapp.wechat import flow
from webapp.wechat.mp import limits, scenes, signin
from webapp.wechat.mp.errors import MpError, NotPermitted
from webapp.wechat.mp.runtime import follow_login_enabled, mp_key, official_account

_PHONE_UA = re.compile(r"Mobi|Android|iPhone|iPad|iPod|HarmonyOS|Windows Phone", re.IGNORECASE)
log = logging.getLogger("webapp.wechat.mp")


def offered_to(request: web.Request) -> bool:
    """Desktop browsers outside WeChat, when follow-login is on (a phone cannot scan its own screen)."""
    agent = request.headers.get("User-Agent", "")
    return (
        follow_login_enabled(request.app[settings_key]) and not is_wechat_browser(agent) and not _PHONE_UA.search(agent)
    )


def _message(status: str) -> str:
    messages = {
        "pending": _("Scan with WeChat. If you don't follow our official account yet, follow it to log in."),
        "scanned": _("Scanned. Logging you in…"),
        "claimed": _("This QR code was already used. Get a new one."),
        "login": _("Logged in. Taking you on…"),
        "expired": _("The QR code has expired. Get a new one."),
        "cancelled": _(
            "You unfollowed the official account before the login finished. Get a new QR code to try again."
        ),
        "other_browser": _("This QR code belongs to another browser. Get a new one here."),
        "failed": _("The login did not work. Get a new QR code and try again."),
        "unavailable": _("WeChat did not answer. Try again in a moment."),
        "rate_limited": _("Too many QR codes were requested from your network. Wait a few minutes, then try again."),
        "unsupported": _("Log in by following our official account on a computer."),
    }
    return messages.get(status, messages["failed"])


def _answer(status: str, http_status: int = 200, **extra: Any) -> web.Response:
    response = web.json_response({"status": status, "message": _message(status), **extra}, status=http_status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def create_qr(request: web.Request) -> web.Response:
    """A new QR code for this browser (rate-limited per client address)."""
    if not offered_to(request):
        return _answer("unsupported", 404)
    settings, sm, now = request.app[settings_key], request.app[db_key], request.app[clock_key]()
    runtime, app = request.app[mp_key], official_account(settings)
    assert runtime.tokens is not None and app is not None  # follow_login_enabled implies both
    if not await limits.allow_qr(
        request.app[database_key], ip=client_ip(request), limit=settings.state_rate_limit, now=now
    ):
        return _answer("rate_limited", 429)
    next_path = safe_next(str((await request.post()).get("next", "")))
    nonce, scene = await flow.browser_nonce(request), random_alnum(32)
    ttl = int(scenes.QR_TTL.total_seconds())
    try:
        qr = await runtime.tokens.call(lambda token: runtime.api.create_qr(token, scene=scene, expire_seconds=ttl))
    except NotPermitted:
        log.error("qrcode/create refused (48001): follow-login needs a verified service account")
        return _answer("unavailable", 503)
    except MpError as exc:
        log.warning("qrcode/create failed: %s", type(exc).__name__)
        return _answer("unavailable", 503)
    await scenes.create(
        sm, scene=scene, ticket=qr.ticket, appid=app.appid, next_path=next_path, browser_nonce=nonce, now=now
    )
    image = segno.make(qr.url, error="m").svg_data_uri(scale=5, border=2)
    return _answer("pending", scene=scene, image=image, expires_in=ttl)


async def wait(request: web.Request) -> web.Response:
    """Hold until the scene changes (scan, expiry, cancel) or hold_s pass; report where it stands."""
    scene = request.query.get("scene", "")
    if not scenes.SCENE_RE.fullmatch(scene):
        return _answer("expired", 400)
    sm, clock, runtime = request.app[db_key], request.app[clock_key], request.app[mp_key]
    notifier, nonce = runtime.notifier, await flow.current_nonce(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + runtime.hold_s
    async with notifier.watch(scenes.wake_key(scene)) as woken:
        while True:
            woken.clear()
            row = await scenes.load(sm, scene)
            if row is not None and not scenes.bound_to(row, nonce):
                return _answer("other_browser", 403)
            status = scenes.status(row, now=clock())
            remaining = deadline - loop.time()
            if status != "pending" or remaining <= 0 or notifier.closing or row is None:
                redirect = (row.result or {}).get("redirect", "") if row is not None and status == "login" else ""
                return _answer(status, **({"redirect": redirect} if redirect else {}))
            until_expiry = (row.expires_at - clock()).total_seconds()
            await notifier.wait(woken, min(remaining, max(until_expiry, 0.05)))


async def claim(request: web.Request) -> web.Response:
    """The bound browser logs in as the scanner, once."""
    scene = str((await request.post()).get("scene", ""))
    if not scenes.SCENE_RE.fullmatch(scene):
        return _answer("expired", 400)
    sm, now = request.app[db_key], request.app[clock_key]()
    nonce = await flow.current_nonce(request)
    row = await scenes.load(sm, scene)
    if row is not None and not scenes.bound_to(row, nonce):
        return _answer("other_browser", 403)
    claimed = await scenes.claim(sm, scene=scene, browser_nonce=nonce or "", now=now) if nonce else None
    if claimed is None or claimed.scanned_openid is None:
        status = scenes.status(await scenes.load(sm, scene), now=now)
        return _answer(status, {"pending": 409, "scanned": 409, "expired": 410}.get(status, 409))
    result = await _log_in(request, claimed.scanned_openid, claimed.next_path)
    await scenes.save_result(sm, scene, {"kind": result.kind, "reason": result.reason, "redirect": result.redirect})
    if result.kind != "login":
        return _answer("unavailable" if result.reason == "unavailable" else "failed", 502)
    return _answer("login", redirect=result.redirect)


async def _log_in(request: web.Request, openid: str, next_path: str) -> signin.SignIn:
    """user/info for the unionid, then the core's login; any failure is an answer, never a 500."""
    runtime, app = request.app[mp_key], official_account(request.app[settings_key])
    assert runtime.tokens is not None and app is not None
    try:
        follower = await runtime.tokens.call(lambda token: runtime.api.user_info(token, openid))
        return await signin.log_in_browser(request, app, follower, next_path=next_path)
    except MpError as exc:
        log.warning("follow-login: user/info failed: %s", type(exc).__name__)
        return signin.SignIn("failed", "unavailable")
    except Exception:  # the scene is used up either way; the page offers a new QR
        log.exception("follow-login failed")
        return signin.SignIn("failed", "error")
