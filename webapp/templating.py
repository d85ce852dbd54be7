"""Jinja2 setup: the template folder, i18n, and the context every page gets."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from webapp import i18n
from webapp.accounts.account import avatar_path
from webapp.assets import static_url
from webapp.avatars.default import default_avatar
from webapp.browser import ensure_binding, is_page_navigation
from webapp.cookies import delete_later, set_later
from webapp.cookies import read as read_cookie
from webapp.keys import clock_key, flash_signer_key, settings_key

FLASH_COOKIE = "webapp_flash"
FLASH_MAX_AGE_S = 300
_FLASH_OUT: web.RequestKey[list[dict[str, str]]] = web.RequestKey("flash_out")


def setup_jinja(app: web.Application) -> None:
    """Attach a Jinja2 environment reading the top-level templates folder (compiled once, outside dev)."""
    settings = app[settings_key]
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(settings.templates_dir),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        auto_reload=settings.dev,  # otherwise every render would stat the template files
        cache_size=-1,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.current_translations().gettext(message),
        lambda singular, plural, n: i18n.current_translations().ngettext(singular, plural, n),
        newstyle=True,
    )
    env.globals["locale_names"] = i18n.LOCALE_NAMES
    env.globals["locales"] = i18n.LOCALES
    env.globals["avatar_path"] = avatar_path
    env.globals["default_avatar"] = default_avatar


async def base_context(request: web.Request, *, without_session: bool = False) -> dict[str, Any]:
    """Variables every page gets: the user, the CSRF token, the language, flashed messages."""
    from webapp.accounts.session import current_user  # accounts builds on templating, not the reverse
    from webapp.clientinfo import dev_wechat
    from webapp.csrf import LazyToken
    from webapp.sessions import get_session, loaded_account

    if without_session:  # e.g. the database is down: what was loaded, nothing more
        user, identity = loaded_account(request), None
    else:
        user, identity = await current_user(request), (await get_session(request)).identity
    settings = request.app[settings_key]
    return {
        "site_name": settings.site_name,
        "privacy_url": settings.privacy_url,
        "terms_url": settings.terms_url,
        "static_url": lambda path: static_url(settings.static_dir, path),
        "current_user": user,
        "csrf_token": LazyToken(request, identity),
        "locale": i18n.locale_of(request),
        "flashes": _take_flashes(request),
        "url": lambda name, **parts: str(request.app.router[name].url_for(**parts)),
        "request_path": request.path_qs,
        "dev_wechat": dev_wechat(request),
    }


async def render(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    without_session: bool = False,
    public: bool = False,
) -> web.Response:
    """Render a page: no-store unless it is `public` and shown to nobody logged in (see cache_control).

    A top-level page gives the browser its binding value: every QR and script of the page then shares it.
    """
    if is_page_navigation(request):
        ensure_binding(request)
    full = {**await base_context(request, without_session=without_session), **(context or {})}
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Cache-Control"] = cache_control(public=public and full["current_user"] is None)
    return response


def cache_control(*, public: bool) -> str:
    """How a page may be kept: never stored when it can hold personal data or secrets; otherwise kept for
    the back button (bfcache) and checked again on every new visit.

    A public page may carry a CSRF token (the login and sign-up forms): it is bound to this browser's
    session cookie and stays valid, so a page brought back by the back button still submits.
    """
    return "private, no-cache" if public else "no-store"


async def flash(request: web.Request, message: str, category: str = "info") -> None:
    """Show `message` once on the next page this browser renders (a signed cookie: no server state)."""
    queued = request.setdefault(_FLASH_OUT, [])
    queued.append({"message": message[:500], "category": category})
    signer, now = request.app[flash_signer_key], request.app[clock_key]().timestamp()
    set_later(request, FLASH_COOKIE, signer.sign(queued[-3:], now=now), max_age=FLASH_MAX_AGE_S)


def _take_flashes(request: web.Request) -> list[dict[str, str]]:
    """The messages flashed to this browser, consumed by this page."""
    if _FLASH_OUT in request:  # flashed and rendered in the same request
        delete_later(request, FLASH_COOKIE)
        flashed: list[dict[str, str]] = request.pop(_FLASH_OUT)
        return flashed
    raw = read_cookie(request, FLASH_COOKIE)
    if raw is None:
        return []
    delete_later(request, FLASH_COOKIE)
    now = request.app[clock_key]().timestamp()
    value = request.app[flash_signer_key].unsign(raw, now=now, max_age_s=FLASH_MAX_AGE_S)
    if not isinstance(value, list):
        return []
    return [m for m in value if isinstance(m, dict) and isinstance(m.get("message"), str)][:3]
