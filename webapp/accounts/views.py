"""Local-account pages: sign up, log in, log out, settings, password, re-authentication."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.accounts import forms, resume, service
from webapp.accounts import settings_page as settings_page_
from webapp.accounts.account import Account
from webapp.accounts.errors import AccountDisabled, InvalidCredentials, TooManyAttempts, UsernameTaken, WrongPassword
from webapp.accounts.service import Origin
from webapp.accounts.session import (
    current_user,
    has_recent_auth,
    login_required,
    login_user,
    logout_user,
    mark_recent_auth,
    require_user,
    session_key,
)
from webapp.clientinfo import client_ip, coarse_client
from webapp.i18n import gettext as _
from webapp.i18n import ngettext
from webapp.keys import clock_key, database_key, passwords_key, settings_key
from webapp.observability import metrics
from webapp.security import safe_next
from webapp.templating import flash, render
from webapp.wechat import binding as wechat_binding
from webapp.wechat import panel as wechat_panel


async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form (or straight on to `next` when already logged in)."""
    next_path = safe_next(request.query.get("next"))
    if await current_user(request) is not None:
        raise web.HTTPFound(next_path)
    return await _render_login(request, forms.LoginForm(), next_path)


async def login(request: web.Request) -> web.StreamResponse:
    """Check the credentials, start a fresh session, go to `next`."""
    data = await request.post()
    next_path = safe_next(forms.field_text(data, "next"))
    form = forms.LoginForm.parse(data)
    if not form.valid:
        return await _render_login(request, form, next_path, status=400)
    try:
        account = await service.authenticate(
            request.app[database_key], request.app[passwords_key], username=form.username, password=form.password,
            origin=origin(request), now=request.app[clock_key](),
        )
    except TooManyAttempts as exc:
        count_throttled(exc, prefix="login_")
        metrics.login("password", "throttled")
        form.errors["form"] = too_many_attempts(exc.minutes)
        return await _render_login(request, form, next_path, status=429)
    except InvalidCredentials:
        metrics.login("password", "failure")
        form.errors["form"] = _("Wrong username or password.")
        return await _render_login(request, form, next_path, status=400)
    except AccountDisabled:
        metrics.login("password", "disabled")
        form.errors["form"] = disabled_message()
        return await _render_login(request, form, next_path, status=403)
    metrics.login("password", "success")
    await login_user(request, account, method="password")
    raise web.HTTPFound(next_path)


async def signup_page(request: web.Request) -> web.StreamResponse:
    """The sign-up form."""
    next_path = safe_next(request.query.get("next"))
    if await current_user(request) is not None:
        raise web.HTTPFound(next_path)
    return await _render_signup(request, forms.SignupForm(), next_path)


async def signup(request: web.Request) -> web.StreamResponse:
    """Create the account and log it in; the form again with errors otherwise."""
    data = await request.post()
    next_path = safe_next(forms.field_text(data, "next"))
    privacy_url = request.app[settings_key].privacy_url
    form = forms.SignupForm.parse(data, consent_required=bool(privacy_url))
    status = 400
    if form.valid:
        try:
            account = await service.sign_up(
                request.app[database_key], request.app[passwords_key], username=form.username, password=form.password,
                display_name=form.display_name, origin=origin(request), now=request.app[clock_key](),
                budget=request.app[settings_key].signup_budget,
                consent_url=privacy_url or None,
            )
        except UsernameTaken:
            form.errors["username"] = _("That username is taken.")
        except TooManyAttempts:
            metrics.throttled("signup_ip")
            form.errors["form"], status = _("Too many accounts were created from your network. Try again later."), 429
        else:
            await login_user(request, account, method="password")
            await flash(request, _("Welcome! Your account is ready."), "success")
            raise web.HTTPFound(next_path)
    return await _render_signup(request, form, next_path, status=status)


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (server row and cookie), then say so on the login page."""
    was_logged_in = await current_user(request) is not None
    await logout_user(request)
    if was_logged_in:
        await flash(request, _("You are logged out."), "success")
    raise web.HTTPFound(request.app.router["login"].url_for())


@login_required
async def settings_page(request: web.Request) -> web.StreamResponse:
    """Account, password, WeChat, sessions and recent activity."""
    return await settings_page_.render_settings(request, await require_user(request))


@login_required
async def set_password(request: web.Request) -> web.StreamResponse:
    """Set a first password (and username) or change the current one; other sessions end."""
    user = await require_user(request)
    if not user.has_password and not await has_recent_auth(request):
        raise web.HTTPFound(confirm_url(request, "/settings#password"))
    form = forms.PasswordForm.parse(await request.post(), has_password=user.has_password, has_username=user.username is not None)
    status = 400
    if form.valid:
        try:
            ended = await service.set_password(
                request.app[database_key], request.app[passwords_key], user_id=user.id,
                current_password=form.current_password, new_password=form.password, username=form.username,
                keep_session=await session_key(request), origin=origin(request), now=request.app[clock_key](),
            )
        except WrongPassword:
            form.errors["current_password"] = _("Your current password is wrong.")
        except TooManyAttempts as exc:
            metrics.throttled("reauth")
            form.errors["current_password"], status = too_many_attempts(exc.minutes), 429
        except UsernameTaken:
            form.errors["username"] = _("That username is taken.")
        else:
            await mark_recent_auth(request, method="password")
            message = _("Your password has been saved.")
            if ended:
                message += " " + ngettext(
                    "%(num)d other session was logged out.", "%(num)d other sessions were logged out.", ended
                )
            await flash(request, message, "success")
            raise web.HTTPFound(request.app.router["settings"].url_for())
    return await settings_page_.render_settings(request, user, password_form=form, status=status)


@login_required
async def confirm_page(request: web.Request) -> web.StreamResponse:
    """"Confirm it's you": the password, or a scan of a WeChat already bound to this account."""
    user = await require_user(request)
    next_path = safe_next(request.query.get("next"), "/settings")
    return await _render_confirm(request, user, next_path)


@login_required
async def reauthenticate(request: web.Request) -> web.StreamResponse:
    """Confirm the password before a sensitive action, then go back to `next`."""
    user = await require_user(request)
    data = await request.post()
    next_path = safe_next(forms.field_text(data, "next"), "/settings")
    password = forms.field_text(data, "password")
    status, error = 400, _("Enter your password.")
    if password:
        try:
            await service.reauthenticate(
                request.app[database_key], request.app[passwords_key], user_id=user.id, password=password,
                origin=origin(request), now=request.app[clock_key](),
            )
        except WrongPassword:
            error = _("That password is wrong.")
        except TooManyAttempts as exc:
            metrics.throttled("reauth")
            status, error = 429, too_many_attempts(exc.minutes)
        else:
            await mark_recent_auth(request, method="password")
            raise web.HTTPFound(await _carry_on(request, user, next_path))
    return await _render_confirm(request, user, next_path, error=error, status=status)


async def _carry_on(request: web.Request, user: Account, next_path: str) -> str:
    """Where to go once confirmed: on with a bind that was waiting for it (WeChat's page), else `next`."""
    if resume.take(request, user_id=user.id, next_path=next_path) == "bind" and wechat_binding.can_bind(request, user):
        authorize = await wechat_binding.start_bind(request, user)
        if authorize is not None:
            return authorize
    return next_path


@login_required
async def logout_others(request: web.Request) -> web.StreamResponse:
    """End every other session of this user; this one stays."""
    user = await require_user(request)
    count = await service.logout_others(
        request.app[database_key], user_id=user.id, keep_session=await session_key(request), origin=origin(request),
        now=request.app[clock_key](),
    )
    message = ngettext("Logged out of %(num)d other session.", "Logged out of %(num)d other sessions.", count)
    await flash(request, message, "success")
    raise web.HTTPFound(request.app.router["settings"].url_for())


def confirm_url(request: web.Request, next_path: str) -> str:
    """The "confirm it's you" page, coming back to `next_path`."""
    return str(request.app.router["confirm"].url_for().with_query(next=next_path))


def count_throttled(exc: TooManyAttempts, *, prefix: str) -> None:
    """One throttle rejection per limit that was hit (the username's, the address's)."""
    for scope in exc.scopes or ("user",):
        metrics.throttled(prefix + scope)


def too_many_attempts(minutes: int) -> str:
    """The localised throttling message."""
    return ngettext(
        "Too many failed attempts. Try again in %(num)d minute.",
        "Too many failed attempts. Try again in %(num)d minutes.",
        minutes,
    )


def disabled_message() -> str:
    """What a disabled account's owner is told."""
    return _("This account has been disabled. Contact the site's support if you think this is a mistake.")


def origin(request: web.Request) -> Origin:
    """Coarse client and address of a request, for the security log and the limits."""
    return Origin(client=coarse_client(request.headers.get("User-Agent", "")), ip=client_ip(request))


async def _render_login(
    request: web.Request, form: forms.LoginForm, next_path: str, *, status: int = 200
) -> web.Response:
    why = forms.field_text(request.query, "why")
    notice = _("Log in to see that page.") if why == "login_required" else ""
    context: dict[str, Any] = {"form": form, "next": next_path, "notice": notice}
    context.update(await wechat_panel.login_options(request, next_path))
    return await render(request, "accounts/login.html", context, status=status, public=True)


async def _render_signup(
    request: web.Request, form: forms.SignupForm, next_path: str, *, status: int = 200
) -> web.Response:
    return await render(
        request, "accounts/signup.html", {"form": form, "next": next_path}, status=status, public=True
    )


async def _render_confirm(
    request: web.Request, user: Account, next_path: str, *, error: str = "", status: int = 200
) -> web.Response:
    context: dict[str, Any] = {
        "next": next_path, "error": error, "has_password": user.has_password,
        "resuming": resume.peek(request, user_id=user.id, next_path=next_path),
    }
    context.update(wechat_panel.confirm_options(request, user, next_path))
    return await render(request, "accounts/reauth.html", context, status=status)
