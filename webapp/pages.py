"""Site-wide pages: home, health check, /api/me, language switch, WeChat domain verification, dev switches."""

from __future__ import annotations

import orjson
from aiohttp import web

from webapp.accounts.session import login_required, require_user
from webapp.clientinfo import DEV_WECHAT_COOKIE
from webapp.i18n import LANG_COOKIE, LOCALES
from webapp.keys import database_key, settings_key
from webapp.security import safe_next
from webapp.templating import render


async def home(request: web.Request) -> web.Response:
    """The landing page."""
    return await render(request, "home.html", public=True)


async def healthz(request: web.Request) -> web.Response:
    """200 when the app and its database answer, 503 otherwise."""
    try:
        async with request.app[database_key].connection() as conn:
            await conn.fetchval("SELECT 1")
    except Exception:  # noqa: BLE001  (any database failure means "not healthy")
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


@login_required
async def api_me(request: web.Request) -> web.Response:
    """The logged-in user as JSON (Account.as_json); 401 when anonymous. No query: it came with the session."""
    user = await require_user(request)
    body = orjson.dumps(user.as_json(request.app[settings_key].public_url))
    return web.Response(body=body, content_type="application/json", headers={"Cache-Control": "no-store"})


async def set_language(request: web.Request) -> web.Response:
    """Switch language and remember it in a cookie, then go back."""
    locale = request.match_info["locale"]
    if locale not in LOCALES:
        raise web.HTTPNotFound()
    response = web.HTTPFound(safe_next(request.query.get("next")))
    response.set_cookie(
        LANG_COOKIE, locale, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
        secure=request.app[settings_key].secure_cookies,
    )
    raise response


async def mp_verify(request: web.Request) -> web.Response:
    """Serve the official account's domain-verification file from configuration."""
    name = f"MP_verify_{request.match_info['token']}.txt"
    content = request.app[settings_key].mp_verify.get(name)
    if content is None:
        raise web.HTTPNotFound()
    return web.Response(text=content, content_type="text/plain")


async def dev_wechat_browser(request: web.Request) -> web.Response:
    """`webapp dev` only: make this browser count as WeChat's (`?off=1` undoes it), then go to `next`."""
    response = web.HTTPFound(safe_next(request.query.get("next")))
    if request.query.get("off"):
        response.del_cookie(DEV_WECHAT_COOKIE, path="/")
    else:
        response.set_cookie(DEV_WECHAT_COOKIE, "1", max_age=24 * 3600, httponly=True, samesite="Lax", path="/")
    raise response
