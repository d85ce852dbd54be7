"""The account page's part of the mini program: removing the verified phone number (a form, with CSRF)."""

from __future__ import annotations

from aiohttp import web

from webapp.accounts.session import login_required, require_user
from webapp.clientinfo import client_ip, coarse_client
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key
from webapp.templating import flash
from webapp.wechat.mini import store


@login_required
async def remove_phone(request: web.Request) -> web.StreamResponse:
    """POST /settings/phone/remove: the account forgets its number (the mini program can add one again)."""
    user = await require_user(request)
    async with request.app[database_key].connection() as conn:
        removed = await store.remove_phone(
            conn, user_id=user.id, client=coarse_client(request.headers.get("User-Agent", "")), ip=client_ip(request),
            now=request.app[clock_key](),
        )
    if removed:
        await flash(request, _("Your phone number was removed."), "success")
    raise web.HTTPFound(request.app.router["settings"].url_for().with_fragment("phone"))
