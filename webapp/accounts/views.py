"""Local-account pages: sign up, log in, log out, settings, password, re-authentication."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from webapp import events
from webapp.accounts import forms, service
from webapp.accounts.errors import InvalidCredentials, TooManyAttempts, UsernameTaken, WrongPassword
from webapp.accounts.session import current_user, login_required, login_user, logout_user, mark_recent_auth
from webapp.clientinfo import client_ip, coarse_client
from webapp.i18n import gettext as _
from webapp.i18n import ngettext
from webapp.keys import clock_key, db_key
from webapp.models import SecurityEvent, User
from webapp.security import safe_next
from webapp.templating import flash, render
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
        user = await service.authenticate(
            request.app[db_key], username=form.username, password=form.password, **_origin(request)
        )
    except TooManyAttempts as exc:
        form.errors["form"] = too_many_attempts(exc.minutes)
        return await _render_login(request, form, next_path, status=429)
    except InvalidCredentials:
        form.errors["form"] = _("Wrong username or password.")
        return await _render_login(request, form, next_path, status=400)
    await login_user(request, user)
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
    form = forms.SignupForm.parse(data)
    if form.valid:
        try:
            user = await service.sign_up(
                request.app[db_key],
                username=form.username,
                password=form.password,
                display_name=form.display_name,
                **_origin(request),
            )
        except UsernameTaken:
            form.errors["username"] = _("That username is taken.")
        else:
            await login_user(request, user)
            await flash(request, _("Welcome! Your account is ready."), "success")
            raise web.HTTPFound(next_path)
    return await _render_signup(request, form, next_path, status=400)


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (server row and cookie), then go home."""
    await logout_user(request)
    raise web.HTTPFound(request.app.router["home"].url_for())


@login_required
async def settings_page(request: web.Request) -> web.StreamResponse:
    """Account, password, WeChat, sessions and recent activity."""
    return await _render_settings(request, await _user(request), forms.PasswordForm())


@login_required
async def set_password(request: web.Request) -> web.StreamResponse:
    """Set a first password (and username) or change the current one."""
    user = await _user(request)
    form = forms.PasswordForm.parse(
        await request.post(), has_password=user.password_hash is not None, has_username=user.username is not None
    )
    status = 400
    if form.valid:
        try:
            await service.set_password(
                request.app[db_key],
                user_id=user.id,
                current_password=form.current_password,
                new_password=form.password,
                username=form.username,
                **_origin(request),
            )
        except WrongPassword:
            form.errors["current_password"] = _("Your current password is wrong.")
        except TooManyAttempts as exc:
            form.errors["current_password"], status = too_many_attempts(exc.minutes), 429
        except UsernameTaken:
            form.errors["username"] = _("That username is taken.")
        else:
            await flash(request, _("Your password has been saved."), "success")
            raise web.HTTPFound(request.app.router["settings"].url_for())
    return await _render_settings(request, user, form, status=status)


@login_required
async def reauthenticate(request: web.Request) -> web.StreamResponse:
    """Confirm the password before a sensitive action, then go back to `next`."""
    user = await _user(request)
    data = await request.post()
    next_path = safe_next(forms.field_text(data, "next"), str(request.app.router["settings"].url_for()))
    password = forms.field_text(data, "password")
    status, error = 400, _("Enter your password.")
    if password:
        try:
            await service.reauthenticate(request.app[db_key], user_id=user.id, password=password, **_where(request))
        except WrongPassword:
            error = _("That password is wrong.")
        except TooManyAttempts as exc:
            status, error = 429, too_many_attempts(exc.minutes)
        else:
            await mark_recent_auth(request)
            raise web.HTTPFound(next_path)
    context = {"next": next_path, "error": error, "has_password": user.password_hash is not None}
    return await render(request, "accounts/reauth.html", context, status=status)


@login_required
async def logout_others(request: web.Request) -> web.StreamResponse:
    """End every other session of this user; this one stays."""
    user = await _user(request)
    session = await get_session(request)
    count = await service.logout_others(
        request.app[db_key], user_id=user.id, keep_key=session.identity, **_origin(request)
    )
    message = ngettext("Logged out of %(num)d other session.", "Logged out of %(num)d other sessions.", count)
    await flash(request, message, "success")
    raise web.HTTPFound(request.app.router["settings"].url_for())


def too_many_attempts(minutes: int) -> str:
    """The localised throttling message."""
    return ngettext(
        "Too many failed attempts. Try again in %(num)d minute.",
        "Too many failed attempts. Try again in %(num)d minutes.",
        minutes,
    )


def activity_row(event: SecurityEvent) -> dict[str, str]:
    """One security event as the settings page lists it."""
    return {
        "kind": event.kind,
        "what": events.kind_label(event.kind),
        "how": events.method_label(event.method),
        "client": events.client_label(event.client),
        "when": event.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "iso": event.created_at.isoformat(),
    }


async def _render_login(
    request: web.Request, form: forms.LoginForm, next_path: str, *, status: int = 200
) -> web.Response:
    context: dict[str, Any] = {"form": form, "next": next_path}
    context.update(await wechat_panel.login_options(request, next_path))
    return await render(request, "accounts/login.html", context, status=status)


async def _render_signup(
    request: web.Request, form: forms.SignupForm, next_path: str, *, status: int = 200
) -> web.Response:
    return await render(request, "accounts/signup.html", {"form": form, "next": next_path}, status=status)


async def _render_settings(
    request: web.Request, user: User, form: forms.PasswordForm, *, status: int = 200
) -> web.Response:
    activity = await service.recent_activity(request.app[db_key], user_id=user.id)
    context: dict[str, Any] = {
        "user": user,
        "password_form": form,
        "activity": [activity_row(event) for event in activity],
    }
    context.update(await wechat_panel.settings_panel(request, user))
    return await render(request, "accounts/settings.html", context, status=status)


async def _user(request: web.Request) -> User:
    user = await current_user(request)
    if user is None:  # login_required already redirected anonymous visitors
        raise web.HTTPUnauthorized()
    return user


def _where(request: web.Request) -> dict[str, Any]:
    return {"ip": client_ip(request), "now": request.app[clock_key]()}


def _origin(request: web.Request) -> dict[str, Any]:
    return {"client": coarse_client(request.headers.get("User-Agent", "")), **_where(request)}
