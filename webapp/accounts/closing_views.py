"""Leaving: the delete-account page and its POST, and the data export."""

from __future__ import annotations

import orjson
from aiohttp import web

from webapp.accounts import closing, forms
from webapp.accounts.session import has_recent_auth, login_required, logout_user, require_user
from webapp.accounts.views import confirm_url
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key, settings_key
from webapp.templating import flash, render


@login_required
async def delete_page(request: web.Request) -> web.StreamResponse:
    """What deleting means, and the phrase to type (after "confirm it's you" when the login is not recent)."""
    if not await has_recent_auth(request):
        raise web.HTTPFound(confirm_url(request, request.path))
    return await _render(request, forms.DeletionForm())


@login_required
async def delete_account(request: web.Request) -> web.StreamResponse:
    """Delete the account at once (a recent login and the typed phrase); then it is logged out everywhere."""
    user = await require_user(request)
    if not await has_recent_auth(request):
        raise web.HTTPFound(confirm_url(request, str(request.app.router["delete_account_page"].url_for())))
    form = forms.DeletionForm.parse(await request.post())
    if not form.valid:
        return await _render(request, form, status=400)
    await closing.delete_account(request.app[database_key], user_id=user.id, now=request.app[clock_key]())
    await logout_user(request)
    await flash(request, _("Your account and everything linked to it have been deleted."), "success")
    raise web.HTTPFound(request.app.router["home"].url_for())


@login_required
async def export(request: web.Request) -> web.StreamResponse:
    """The account's data as a JSON download (never a token)."""
    user = await require_user(request)
    data = await closing.export_account(
        request.app[database_key], user_id=user.id, public_url=request.app[settings_key].public_url,
        now=request.app[clock_key](),
    )
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_INDENT_2), content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="account-{user.id}.json"', "Cache-Control": "no-store"},
    )


async def _render(request: web.Request, form: forms.DeletionForm, *, status: int = 200) -> web.Response:
    user = await require_user(request)
    context = {"form": form, "phrase": forms.deletion_phrase(), "user": user}
    return await render(request, "accounts/delete.html", context, status=status)
