"""The settings page's context: profile, password, WeChat, sessions, activity, and leaving, in the reader's time."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp import events, localtime
from webapp.accounts import activity, devices, forms, service
from webapp.accounts.account import Account
from webapp.accounts.session import has_recent_auth, session_key
from webapp.keys import clock_key, database_key, db_key
from webapp.templating import render
from webapp.wechat import panel as wechat_panel


async def render_settings(
    request: web.Request,
    user: Account,
    *,
    password_form: forms.PasswordForm | None = None,
    profile_form: forms.ProfileForm | None = None,
    username_form: forms.UsernameForm | None = None,
    picture_error: str | None = None,
    status: int = 200,
) -> web.Response:
    """The settings page, with any form's errors shown where it is."""
    when = localtime.formatter(request)
    recent = await service.recent_activity(request.app[db_key], user_id=user.id)
    sessions = await devices.sessions_of(
        request.app[database_key], user_id=user.id, current_key=await session_key(request),
        now=request.app[clock_key](),
    )
    context: dict[str, Any] = {
        "user": user,
        "password_form": password_form or forms.PasswordForm(),
        "profile_form": profile_form or forms.ProfileForm(display_name=user.display_name),
        "username_form": username_form or forms.UsernameForm(username=user.username or ""),
        "picture_error": picture_error,
        "activity": [activity.row(event, when) for event in recent],
        "sessions": [
            {"device": d, "label": events.client_label(d.client), "since": when(d.created_at), "seen": when(d.last_seen_at)}
            for d in sessions
        ],
        "recent_auth": await has_recent_auth(request),
        "time_zone": localtime.zone_label(request),
        "avatar_pending": not user.avatar_sha and await _avatar_queued(request, user.id),
    }
    context.update(await wechat_panel.settings_panel(request, user))
    return await render(request, "accounts/settings.html", context, status=status)


async def _avatar_queued(request: web.Request, user_id: int) -> bool:
    """True while a WeChat picture waits for the worker to copy it (not after the person removed theirs)."""
    async with request.app[database_key].connection() as conn:
        return bool(await conn.fetchval("SELECT avatar_source <> '' FROM users WHERE id = $1", user_id))
