"""The settings side of WeChat beyond bind and unbind: the unbind confirmation, and merging on a bind conflict."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from webapp import events
from webapp.accounts.session import has_recent_auth, login_required, require_user
from webapp.accounts.views import confirm_url
from webapp.avatars import store as avatar_store
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key
from webapp.templating import flash, render
from webapp.wechat import flow, merge, pages


@login_required
async def unbind_page(request: web.Request) -> web.StreamResponse:
    """Ask before unbinding (after "confirm it's you" when the login is not recent)."""
    user = await require_user(request)
    if not user.wechat:
        raise web.HTTPFound(wechat_section(request))
    if not await has_recent_auth(request):
        raise web.HTTPFound(confirm_url(request, request.path))
    async with request.app[database_key].connection() as conn:
        picture_from_wechat = await avatar_store.is_from_wechat(conn, user_id=user.id)
    context = {
        "identities": [dict(i) for i in user.wechat], "can_unbind": user.has_password,
        "picture_from_wechat": picture_from_wechat,
    }
    return await render(request, "wechat/unbind_confirm.html", context)


@login_required
async def merge_accounts(request: web.Request) -> web.StreamResponse:
    """Move the WeChat just scanned (whose own account holds nothing else) into this account."""
    user = await require_user(request)
    data = pages.recalled_outcome(request)
    other = pages.merge_offer(data, user)
    if other is None or data is None:
        await flash(request, _("That offer has expired. Bind WeChat again to continue."), "error")
        raise web.HTTPFound(wechat_section(request))
    method = str(data.get("method")) if data.get("method") in events.METHODS else ""
    outcome = await merge.merge_into(
        request.app[database_key], into_user_id=user.id, other_user_id=other,
        actor=replace(flow.actor(request, ""), method=method), now=request.app[clock_key](),
    )
    pages.forget_outcome(request)
    if outcome.kind == "bound":
        await flash(request, _("WeChat is now bound to your account, and its empty account was deleted."), "success")
    else:
        await flash(request, _("This WeChat can no longer be moved to your account. Nothing was changed."), "error")
    raise web.HTTPFound(wechat_section(request))


def wechat_section(request: web.Request) -> str:
    """The settings page at its WeChat section."""
    return f"{request.app.router['settings'].url_for()}#wechat"
