"""The site's request pipeline (one middleware), error pages (localised, never a traceback) and every response's headers."""

from __future__ import annotations

import asyncio
import functools
import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from sqlalchemy.exc import DBAPIError
from yarl import URL

from webapp import csrf, requeststate
from webapp.accounts.errors import TooManyAttempts
from webapp.accounts.forms import BadField
from webapp.assets import static_cache_control
from webapp.avatars.picture_views import allow_picture_body
from webapp.cookies import apply_pending
from webapp.csrf import CSRFFailure
from webapp.db import CONNECTION_ERRORS, loggable
from webapp.i18n import activate_for
from webapp.i18n import gettext as _
from webapp.keys import settings_key
from webapp.observability.wiring import add_request_id_header, begin_request, end_request
from webapp.sessions import save_changed
from webapp.templating import render
from webapp.wechat.mini import bearer

log = logging.getLogger("webapp")


def _messages(status: int) -> tuple[str, str]:
    titles = {
        400: (_("Bad request"), _("The request could not be understood. Go back and try again.")),
        401: (_("Please log in"), _("You need to log in to see this page.")),
        403: (_("Forbidden"), _("You are not allowed to do that.")),
        404: (_("Page not found"), _("There is nothing at this address. Check the link or go back home.")),
        405: (_("Method not allowed"), _("This page cannot be used that way.")),
        413: (_("Too much data"), _("What you sent is larger than this site accepts.")),
        429: (_("Too many requests"), _("Please wait a moment and try again.")),
        503: (_("Temporarily unavailable"), _("The site cannot reach its database right now. Please try again in a moment.")),
    }
    return titles.get(status, (_("Something went wrong"), _("An unexpected error happened on our side. Please try again in a moment.")))


def site_middleware() -> Middleware:
    """The site's request pipeline as one aiohttp middleware (one frame where there were seven).

    In order, outermost first: the request's id, log context and metrics (webapp.observability), the
    picture upload's body limit, the language, error pages (around all that follows), the session
    (saved after the handler, also when it raises a redirect), a bearer token under /api/, the CSRF
    check, the handler.
    """

    @web.middleware
    async def site(request: web.Request, handler: Handler) -> web.StreamResponse:
        requeststate.begin(request)  # cookies, session, account and language are kept there
        watch = begin_request(request)
        status = 500
        try:
            allow_picture_body(request)
            activate_for(request)
            try:
                try:
                    response: web.StreamResponse | None = await bearer.gate(request)
                    if response is None:
                        await csrf.check(request)
                        response = await handler(request)
                except web.HTTPException as exc:  # a redirect (or an error page's status) may carry the session
                    await save_changed(request, exc)
                    raise
                await save_changed(request, response)
            except Exception as exc:  # noqa: BLE001  (every error becomes a page; error_response re-raises the rest)
                response = await error_response(request, exc)
            status = response.status
            return response
        except web.HTTPException as exc:  # redirects are raised
            status = exc.status
            raise
        except asyncio.CancelledError:  # the client went away
            status = 499
            raise
        finally:
            end_request(request, watch, status)

    return site


async def error_response(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The friendly page (JSON under /api/) for what a handler raised; redirects and the like are raised again."""
    if isinstance(exc, CSRFFailure):
        return await error_page(
            request, 403, _("Form expired"), _("This form has expired or came from another site. Go back, reload the page and try again.")
        )
    if isinstance(exc, BadField):
        message = _("The field “%(field)s” contains characters that are not allowed (such as control characters). Remove them and try again.", field=field_label(exc.name))
        return await error_page(request, 400, _("Bad request"), message)
    if isinstance(exc, TooManyAttempts):
        return await error_page(request, 429, *_messages(429))
    if isinstance(exc, CONNECTION_ERRORS):
        log.warning("database unreachable on %s %s", request.method, request.path)
        return await error_page(request, 503, *_messages(503))
    if isinstance(exc, DBAPIError):
        if not exc.connection_invalidated:
            log.error("database error on %s %s", request.method, request.path, exc_info=loggable(exc))
            return await error_page(request, 500, *_messages(500))
        log.warning("database connection lost on %s %s", request.method, request.path)
        return await error_page(request, 503, *_messages(503))
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        response = await error_page(request, exc.status, *_messages(exc.status))
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    # loggable: a database error's text quotes the row's values (openids, tokens, URLs); never log them.
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=loggable(exc))
    return await error_page(request, 500, *_messages(500))


def field_label(name: str) -> str:
    """A form field's name as the page shows it."""
    labels = {
        "username": _("Username"), "password": _("Password"), "current_password": _("Current password"),
        "confirm": _("Repeat the new password"), "display_name": _("Display name"), "next": "next",
        "confirmation": _("Confirmation"), "session": _("Session"),
    }
    return labels.get(name, name[:40])


async def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    """A localised error page, or a small JSON body for API paths."""
    if request.path.startswith("/api/"):
        return web.json_response({"error": title, "message": message}, status=status)
    try:
        context = {"status": status, "title": title, "message": message}
        return await render(
            request, "errors/error.html", context, status=status, without_session=status == 503, public=True
        )
    except Exception:  # the page itself failed (database down): plain text, still no traceback
        log.exception("error page failed to render")
        return web.Response(status=status, text=f"{status} {title}\n{message}\n", content_type="text/plain")


@functools.lru_cache(maxsize=16)
def security_headers(js_url: str, open_base: str, framed: bool, https: bool) -> tuple[tuple[str, str], ...]:
    """Every response's security headers (built once per configuration and route kind)."""
    headers = (
        ("Content-Security-Policy", _csp(js_url, open_base, framed)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin-allow-popups"),
    )
    return (*headers, ("Strict-Transport-Security", "max-age=31536000")) if https else headers


def _csp(js_url: str, open_base: str, framed: bool) -> str:
    """CSP allowing only our own assets plus WeChat's script and QR frame."""
    js_origin, open_origin = _origin(js_url), _origin(open_base)
    ancestors = f"'self' {open_origin}" if framed else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {js_origin}",
            # The QR iframe is WeChat's; with self_redirect=true it then navigates to our own callback.
            f"frame-src 'self' {open_origin}",
            "img-src 'self' data:",  # avatars are copied to our origin; data: for the follow-login QR (SVG)
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action 'self' {open_origin}",
            f"frame-ancestors {ancestors}",
        ]
    )


def _origin(url: str) -> str:
    parsed = URL(url)
    return str(parsed.origin()) if parsed.is_absolute() else "'self'"


async def prepare_response(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the queued cookies, security headers, X-Request-ID, a 401's Bearer challenge, static caching.

    One hook for the five (each was a coroutine the signal awaited in turn on every response).
    """
    apply_pending(request, response)
    add_security_headers(request, response)
    add_request_id_header(request, response)
    bearer.bearer_challenge(request, response)
    static_cache_control(request, response)


def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """At response preparation (webapp.middlewares.prepare_response): security headers on every response, errors and static files included."""
    settings = request.app[settings_key]
    # With self_redirect=true the callback renders inside WeChat's QR iframe.
    framed = request.match_info.route.name == "wechat_callback"
    headers = response.headers
    for name, value in security_headers(settings.wechat_js_url, settings.wechat_open_base, framed, settings.secure_cookies):
        headers.setdefault(name, value)
