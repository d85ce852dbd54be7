"""Follow the official account to log in: the endpoints the login page's script calls.

POST qr (when the person opens this option) makes a signed scene bound to this browser and its QR,
storing nothing; GET wait long-polls (≤ 25 s, woken by NOTIFY from whichever process got the scan); POST
claim lets the bound browser, once, log in as the scanner. Answers are JSON with a localised message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import segno
from aiohttp import web

from webapp.accounts.forms import field_text
from webapp.browser import current_binding
from webapp.clientinfo import is_wechat_browser
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key, db_key, settings_key
from webapp.security import safe_next
from webapp.wechat.mp import limits, scenes, signin
from webapp.wechat.mp.errors import KeyMissing, MpError, NotPermitted
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
        "rate_limited": _("Too many QR codes were requested in this browser. Wait a few minutes, then try again."),
        "not_here": _("Logging in by following is unavailable on this site right now. Scan the other QR code, or log in with your password."),
        "busy": _("Logging in by following is busy right now. Scan the other QR code, or try again later."),
        "no_binding": _("This browser does not keep cookies for this site, which logging in needs. Allow them and reload."),
        "unsupported": _("Log in by following our official account on a computer."),
    }
    return messages.get(status, messages["failed"])


def _answer(status: str, http_status: int = 200, **extra: Any) -> web.Response:
    response = web.json_response({"status": status, "message": _message(status), **extra}, status=http_status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def create_qr(request: web.Request) -> web.Response:
    """A new QR code for this browser: nothing stored; a per-browser limit and the site's budget guard WeChat's quota."""
    if not offered_to(request):
        return _answer("unsupported", 404)
    settings, runtime, app = request.app[settings_key], request.app[mp_key], official_account(request.app[settings_key])
    assert runtime.tokens is not None and app is not None  # follow_login_enabled implies both
    binding, now = current_binding(request), request.app[clock_key]()
    if binding is None:  # the login page gives the binding; without cookies the QR could never log in
        return _answer("no_binding", 409)
    if not runtime.qr_limiter.allow(binding, now=now):
        return _answer("rate_limited", 429)
    if not await limits.within_budget(request.app[database_key], budget=settings.follow_qr_budget, now=now):
        log.warning("follow-login QR budget (FOLLOW_QR_BUDGET=%s per hour) spent", settings.follow_qr_budget)
        return _answer("busy", 503)
    scene = runtime.scenes.issue(binding=binding, now=now)
    ttl = int(scenes.QR_TTL.total_seconds())
    try:
        qr = await runtime.tokens.call(lambda token: runtime.api.create_qr(token, scene=scene.text, expire_seconds=ttl))
    except NotPermitted:
        log.error("qrcode/create refused (48001): follow-login needs a verified service account")
        return _answer("unavailable", 503)
    except KeyMissing:  # logged once by the token store
        return _answer("not_here", 503)
    except MpError as exc:
        log.warning("qrcode/create failed: %s", type(exc).__name__)
        return _answer("unavailable", 503)
    # A white quiet zone around dark modules: scannable on a dark page too.
    image = segno.make(qr.url, error="m").svg_data_uri(scale=5, border=4, light="#ffffff", dark="#000000")
    return _answer("pending", scene=scene.text, image=image, expires_in=ttl)


async def wait(request: web.Request) -> web.Response:
    """Hold until the scene changes (scan, expiry, cancel) or hold_s pass; report where it stands."""
    scene = request.query.get("scene", "")
    runtime = request.app[mp_key]
    if scenes.expiry(scene) is None:
        return _answer("expired", 400)
    if not runtime.scenes.bound_to(scene, current_binding(request)):
        return _answer("other_browser", 403)
    sm, clock, notifier = request.app[db_key], request.app[clock_key], runtime.notifier
    loop = asyncio.get_running_loop()
    deadline = loop.time() + runtime.hold_s
    async with notifier.watch(scenes.wake_key(scene)) as woken:
        while True:
            woken.clear()
            row = await scenes.load(sm, scene)
            status = scenes.status(scene, row, now=clock())
            remaining = deadline - loop.time()
            if status != "pending" or remaining <= 0 or notifier.closing:
                redirect = (row.result or {}).get("redirect", "") if row is not None and status == "login" else ""
                return _answer(status, redirect=redirect) if redirect else _answer(status)
            expires_at = row.expires_at if row is not None else scenes.expiry(scene)
            until_expiry = (expires_at - clock()).total_seconds() if expires_at else 0.0
            await notifier.wait(woken, min(remaining, max(until_expiry, 0.05)))


async def claim(request: web.Request) -> web.Response:
    """The bound browser logs in as the scanner, once."""
    form = await request.post()
    scene, next_path = field_text(form, "scene"), safe_next(field_text(form, "next"))
    runtime = request.app[mp_key]
    if scenes.expiry(scene) is None:
        return _answer("expired", 400)
    if not runtime.scenes.bound_to(scene, current_binding(request)):
        return _answer("other_browser", 403)
    sm, now = request.app[db_key], request.app[clock_key]()
    claimed = await scenes.claim(sm, scene=scene, now=now)
    if claimed is None or claimed.scanned_openid is None:
        status = scenes.status(scene, await scenes.load(sm, scene), now=now)
        return _answer(status, {"pending": 409, "scanned": 409, "expired": 410}.get(status, 409))
    result = await _log_in(request, claimed.scanned_openid, next_path)
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
