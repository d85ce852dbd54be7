"""Settings handlers for the account's picture: upload one's own, remove it, or keep the copy of the WeChat
picture as one's own before unbinding (CSRF like every form; no recent login needed: a picture proves
nothing and risks nothing)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from webapp.accounts import forms
from webapp.accounts.session import login_required, require_user
from webapp.accounts.settings_page import render_settings
from webapp.avatars import store, upload
from webapp.i18n import gettext as _
from webapp.keys import clock_key, database_key
from webapp.templating import flash

# The form's own fields and multipart framing around a 2 MiB file.
PICTURE_BODY_MAX = upload.MAX_UPLOAD_BYTES + 64 * 1024
PICTURE_PATH = "/settings/picture"


def allow_picture_body(request: web.Request) -> None:
    """Let the picture upload, and only it, carry a body past the site's 64 KiB limit (before anything reads it)."""
    if request.method == "POST" and request.path == PICTURE_PATH:
        # aiohttp reads the limit from the request; clone() would split the request state the hooks use.
        request._client_max_size = PICTURE_BODY_MAX


@login_required
async def upload_picture(request: web.Request) -> web.StreamResponse:
    """Re-encode the uploaded picture (off the event loop) and make it the account's."""
    user = await require_user(request)
    form = forms.PictureForm.parse(await request.post(), max_bytes=upload.MAX_UPLOAD_BYTES)
    if not form.valid:
        return await render_settings(request, user, picture_error=form.errors["picture"], status=400)
    try:
        image = await asyncio.to_thread(upload.reencode, form.content)
    except upload.PictureRefused as exc:
        return await render_settings(request, user, picture_error=forms.picture_error(exc.reason), status=400)
    async with request.app[database_key].connection() as conn:
        await store.save_upload(conn, user_id=user.id, image=image, now=request.app[clock_key]())
    await flash(request, _("Your picture has been saved."), "success")
    raise web.HTTPFound(f"{request.app.router['settings'].url_for()}#profile")


@login_required
async def remove_picture(request: web.Request) -> web.StreamResponse:
    """Remove the account's picture: the generated default shows instead."""
    user = await require_user(request)
    async with request.app[database_key].connection() as conn:
        removed = await store.remove(conn, user_id=user.id)
    if removed:
        await flash(request, _("Your picture has been removed."), "success")
    raise web.HTTPFound(f"{request.app.router['settings'].url_for()}#profile")


@login_required
async def keep_picture(request: web.Request) -> web.StreamResponse:
    """Keep the picture copied from WeChat as the person's own, then back to the unbind confirmation."""
    user = await require_user(request)
    async with request.app[database_key].connection() as conn:
        kept = await store.keep(conn, user_id=user.id)
    if kept:
        await flash(request, _("Your WeChat picture is now your own: it stays after unbinding."), "success")
    raise web.HTTPFound(str(request.app.router["wechat_unbind_page"].url_for()))
