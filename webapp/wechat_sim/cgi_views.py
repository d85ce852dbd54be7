"""Handlers of the official account's /cgi-bin APIs and the QR image (mp.weixin.qq.com/cgi-bin/showqrcode)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import segno
from aiohttp import web

from webapp.wechat_sim import cgi_api
from webapp.wechat_sim import errors as e
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.web_util import CGI_CONTENT_TYPE, base_url, cgi_json, sim_state, sns_error

QR_CACHE = {"Cache-Control": "max-age=604800"}


def _answer(request: web.Request, method: str, operation: Callable[[], dict[str, Any]]) -> web.Response:
    """Check the HTTP method (43001 / 43002 as WeChat), run the operation, encode its result or errcode."""
    try:
        if request.method != method:
            raise SnsError(e.REQUIRE_GET if method == "GET" else e.REQUIRE_POST)
        return cgi_json(operation())
    except SnsError as exc:
        return sns_error(exc, CGI_CONTENT_TYPE)


async def _json_body(request: web.Request) -> Any:
    """Return the parsed JSON body, or None when it is not JSON (WeChat reads the bytes whatever the type)."""
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


async def token(request: web.Request) -> web.Response:
    """GET /cgi-bin/token?grant_type=client_credential&appid=&secret=."""
    state = sim_state(request)
    return _answer(request, "GET", lambda: cgi_api.get_token(state, request.query))


async def stable_token(request: web.Request) -> web.Response:
    """POST /cgi-bin/stable_token with a JSON body."""
    state, body = sim_state(request), await _json_body(request)
    return _answer(request, "POST", lambda: cgi_api.stable_token(state, body))


async def qrcode_create(request: web.Request) -> web.Response:
    """POST /cgi-bin/qrcode/create?access_token=…: the answer's url is this simulator's phone page of the code."""
    state, body, base = sim_state(request), await _json_body(request), base_url(request)

    def create() -> dict[str, Any]:
        answer, qr = cgi_api.create_qrcode(state, request.query, body)
        return answer | {"url": f"{base}/q/{qr.id}"}

    return _answer(request, "POST", create)


async def user_info(request: web.Request) -> web.Response:
    """GET /cgi-bin/user/info?access_token=&openid=&lang=."""
    state = sim_state(request)
    return _answer(request, "GET", lambda: cgi_api.user_info(state, request.query))


async def showqrcode(request: web.Request) -> web.Response:
    """The QR image of a live ticket (its content is the code's url); 404 for unknown or expired tickets."""
    qr = sim_state(request).qrcodes.by_ticket(request.query.get("ticket", ""))
    if qr is None:
        raise web.HTTPNotFound(text="ticket not found or expired")
    buffer = io.BytesIO()
    segno.make_qr(f"{base_url(request)}/q/{qr.id}").save(buffer, kind="png", scale=6, border=2)
    return web.Response(body=buffer.getvalue(), content_type="image/png", headers=QR_CACHE)
