"""Jinja2 setup: the template folder, i18n, and the context every page gets."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session

from webapp import i18n
from webapp.keys import settings_key


def setup_jinja(app: web.Application) -> None:
    """Attach a Jinja2 environment reading the top-level templates folder."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(app[settings_key].templates_dir),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.current_translations().gettext(message),
        lambda singular, plural, n: i18n.current_translations().ngettext(singular, plural, n),
        newstyle=True,
    )
    env.globals["locale_names"] = i18n.LOCALE_NAMES
    env.globals["locales"] = i18n.LOCALES


async def base_context(request: web.Request) -> dict[str, Any]:
    """Variables every page gets: the user, the CSRF token, the language, flashed messages."""
    from webapp.accounts.session import current_user  # accounts builds on templating, not the reverse
    from webapp.csrf import LazyToken

    session = await get_session(request)
    flashes = session.pop("flash") if "flash" in session else []
    return {
        "current_user": await current_user(request),
        "csrf_token": LazyToken(session),
        "locale": request.get(i18n.locale_key, i18n.DEFAULT_LOCALE),
        "flashes": flashes,
        "url": lambda name, **parts: str(request.app.router[name].url_for(**parts)),
        "request_path": request.path_qs,
    }


async def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    """Render a page (no-store: pages can carry personal data)."""
    full = {**await base_context(request), **(context or {})}
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def flash(request: web.Request, message: str, category: str = "info") -> None:
    """Show `message` once on the next page rendered for this session."""
    session = await get_session(request)
    session["flash"] = [*session.get("flash", []), {"message": message, "category": category}]
