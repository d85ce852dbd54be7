"""Settings handlers for the profile (display name, username) and for ending one session."""

from __future__ import annotations

from aiohttp import web

from webapp.accounts import devices, forms, profile
from webapp.accounts.errors import UsernameTaken
from webapp.accounts.session import has_recent_auth, login_required, require_user, session_key
from webapp.accounts.settings_page import render_settings
from webapp.accounts.views import confirm_url, origin
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key
from webapp.templating import flash


def section(request: web.Request, name: str) -> str:
    """The settings page at one of its sections."""
    return f"{request.app.router['settings'].url_for()}#{name}"


@login_required
async def update_profile(request: web.Request) -> web.StreamResponse:
    """Change the display name (no recent login needed: it proves nothing and risks nothing)."""
    user = await require_user(request)
    form = forms.ProfileForm.parse(await request.post())
    if not form.valid:
        return await render_settings(request, user, profile_form=form, status=400)
    changed = await profile.rename(
        request.app[database_key], user_id=user.id, display_name=form.display_name, origin=origin(request),
        now=request.app[clock_key](),
    )
    if changed:
        await flash(request, _("Your display name has been saved."), "success")
    raise web.HTTPFound(section(request, "profile"))


@login_required
async def change_username(request: web.Request) -> web.StreamResponse:
    """Set or change the username: the sign-up rules, and a recent login (it is how the account logs in)."""
    user = await require_user(request)
    if not await has_recent_auth(request):
        raise web.HTTPFound(confirm_url(request, "/settings#profile"))
    form = forms.UsernameForm.parse(await request.post())
    if form.valid:
        try:
            changed = await profile.change_username(
                request.app[database_key], user_id=user.id, username=form.username, origin=origin(request),
                now=request.app[clock_key](),
            )
        except UsernameTaken:
            form.errors["username"] = _("That username is taken.")
        else:
            if changed:
                await flash(request, _("Your username is now %(name)s.", name=form.username), "success")
            raise web.HTTPFound(section(request, "profile"))
    return await render_settings(request, user, username_form=form, status=400)


@login_required
async def end_session(request: web.Request) -> web.StreamResponse:
    """Log out one other session of this account."""
    user = await require_user(request)
    handle = forms.field_text(await request.post(), "session")
    ended = await devices.end_session(
        request.app[database_key], user_id=user.id, handle=handle, keep_key=await session_key(request),
        origin=origin(request), now=request.app[clock_key](),
    )
    if ended:
        await flash(request, _("That session has been logged out."), "success")
    else:
        await flash(request, _("That session had already ended."), "info")
    raise web.HTTPFound(section(request, "sessions"))
