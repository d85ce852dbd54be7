"""A phone browser that is not WeChat's: a QR code on its screen cannot be scanned, so say how to open the page in WeChat."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.clientinfo import is_phone_without_wechat
from webapp.keys import settings_key
from webapp.templating import render
from webapp.wechat import flow


def guidance(request: web.Request, path: str) -> dict[str, Any] | None:
    """What templates/wechat/_open_in_wechat.html needs to say how to open `path` in WeChat, or None.

    None when this is not a phone, or when WeChat could not log anyone in either (no official account).
    """
    settings = request.app[settings_key]
    if not is_phone_without_wechat(request) or flow.official_account(settings) is None:
        return None
    return {"link": settings.public_url + path}


async def open_in_wechat_page(request: web.Request, next_path: str) -> web.Response:
    """GET /auth/wechat/start on a phone: open the site in WeChat, or log in with a password."""
    start = request.app.router["wechat_start"].url_for().with_query(next=next_path)
    context = {"open_in_wechat": guidance(request, str(start)), "next": next_path}
    return await render(request, "wechat/open_in_wechat.html", context)
