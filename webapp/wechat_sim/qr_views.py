"""Handlers of the website-app QR login: the QR page, its image, its long poll, the phone page, wxLogin.js."""

from __future__ import annotations

import io
from typing import Any

import aiohttp_jinja2
import segno
from aiohttp import web

from webapp.wechat_sim import qr as qr_states
from webapp.wechat_sim.page_checks import PageError, check_qrconnect
from webapp.wechat_sim.page_text import CONFIRM, ERROR, ERROR_MESSAGES_EN
from webapp.wechat_sim.pages import EN, ZH, is_en, other_lang_url, page_lang, user_choices
from webapp.wechat_sim.web_util import base_url, sim_state

NO_CACHE = {"Cache-Control": "no-cache, no-store"}


def error_page(request: web.Request, error: PageError, lang: str = ZH) -> web.Response:
    """Render WeChat's error page for a refused link (HTTP 200, no redirect)."""
    text = ERROR[lang]
    return aiohttp_jinja2.render_template("wechat_sim/error.html", request, {
        "error": error, "text": text, "en": lang == EN,
        "message": ERROR_MESSAGES_EN.get(error.message, error.message) if lang == EN else error.message})


def _custom_css(params: dict[str, str]) -> str:
    """Return the `href` stylesheet if WeChat would load it (https or data:text/css, not with stylelite)."""
    href = params.get("href", "")
    if params.get("stylelite") == "1" or not href.startswith(("https://", "data:text/css")):
        return ""
    return href


async def qrconnect(request: web.Request) -> web.StreamResponse:
    """Show the QR page (full page, or compact inside wxLogin.js's iframe), or its XML with f=xml."""
    state, params = sim_state(request), dict(request.query)
    lang = EN if is_en(params.get("lang")) else ZH  # wxLogin.js forwards only lang=en; cn or nothing is Chinese
    try:
        app = check_qrconnect(state.fixture, params)
    except PageError as exc:
        return error_page(request, exc, lang)
    session = state.qr.create(app, params["redirect_uri"], params.get("state", ""), lang)
    if params.get("f") == "xml":
        return web.Response(text=_uuid_xml(session.uuid, app.name), content_type="text/xml")
    context: dict[str, Any] = {
        "app": app, "uuid": session.uuid, "jssdk": params.get("login_type") == "jssdk",
        "en": lang == EN, "white": params.get("style") == "white",
        "stylelite": params.get("stylelite") == "1", "custom_css": _custom_css(params),
        "config": {"uuid": session.uuid, "redirect_uri": session.redirect_uri, "state": session.state,
                   "self_redirect": params.get("self_redirect", "default")},
    }
    response = aiohttp_jinja2.render_template("wechat_sim/qrconnect.html", request, context)
    response.headers.update(NO_CACHE)
    return response


def _uuid_xml(uuid: str, appname: str) -> str:
    """Return the f=xml document carrying the uuid."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<xml><uuid><![CDATA[{uuid}]]></uuid>'
            f"<appname><![CDATA[{appname}]]></appname></xml>")


async def qrcode(request: web.Request) -> web.Response:
    """Return the QR image: a PNG encoding the phone page URL of this uuid."""
    uuid = request.match_info["uuid"]
    if sim_state(request).qr.get(uuid) is None:
        raise web.HTTPNotFound()
    buffer = io.BytesIO()
    segno.make_qr(f"{base_url(request)}/connect/confirm?uuid={uuid}").save(buffer, kind="png", scale=6, border=2)
    return web.Response(body=buffer.getvalue(), content_type="image/png")


async def poll(request: web.Request) -> web.Response:
    """The long poll: `window.wx_errcode=…;window.wx_code='…';`."""
    state = sim_state(request)
    uuid, last = request.query.get("uuid", ""), request.query.get("last", "")
    if not uuid:
        errcode, code = qr_states.ERROR, ""
    else:
        last_status = int(last) if last.isdigit() else qr_states.WAITING
        errcode, code = await state.qr.poll(uuid, last_status, state.poll_hold_s)
    body = f"window.wx_errcode={errcode};window.wx_code='{code}';"
    return web.Response(text=body, content_type="text/javascript", headers=NO_CACHE)


@aiohttp_jinja2.template("wechat_sim/confirm.html")
async def confirm_page(request: web.Request) -> dict[str, Any]:
    """The phone: pick a test user, scan, then allow or cancel (in the language of the QR page)."""
    uuid = request.query.get("uuid", "")
    session = sim_state(request).qr.get(uuid)
    lang = page_lang(request, session.lang if session and "lang" not in request.query else None)
    return {"uuid": uuid, "session": session, "users": user_choices(request), "text": CONFIRM[lang],
            "en": lang == EN, "other_lang_url": other_lang_url(request, lang)}


async def wxlogin_js(request: web.Request) -> web.Response:
    """Serve the wxLogin.js clone, pointing its iframe at this simulator's origin."""
    response = aiohttp_jinja2.render_template(
        "wechat_sim/wxLogin.js", request, {"simbase": base_url(request)})
    response.content_type = "application/javascript"
    return response
