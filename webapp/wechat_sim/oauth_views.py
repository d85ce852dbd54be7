"""Handlers of the official account's in-WeChat web authorization (/connect/oauth2/authorize)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from yarl import URL

from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.page_checks import PageError, check_authorize, insert_before_fragment
from webapp.wechat_sim.page_text import CONSENT, PICKER, SNAPSHOT
from webapp.wechat_sim.pages import EN, page_lang, user_choices
from webapp.wechat_sim.qr_views import error_page
from webapp.wechat_sim.web_util import SNAPSHOT_COOKIE, base_url, browser_user, sim_state

FULL_SERVICE_PARAM = "_sim_full"


def _code_redirect(request: web.Request, app: SimApp, user_id: int, params: Mapping[str, str],
                   *, snapshot: bool = False) -> str:
    """Issue a code and return redirect_uri with code and state placed before any #fragment."""
    code = sim_state(request).grants.issue_code(app, user_id, params["scope"], snapshot=snapshot)
    return insert_before_fragment(params["redirect_uri"], f"code={code.code}&state={params.get('state', '')}")


def _wants_snapshot(request: web.Request, params: Mapping[str, str]) -> bool:
    """Return True if this snsapi_userinfo request opens as a snapshot page."""
    if params.get(FULL_SERVICE_PARAM) == "1":
        return False
    return params.get("forceSnapShot") == "true" or request.cookies.get(SNAPSHOT_COOKIE) == "1"


async def authorize(request: web.Request) -> web.StreamResponse:
    """Silent 302 for snsapi_base; consent, snapshot or silent for snsapi_userinfo."""
    state, params, lang = sim_state(request), dict(request.query), page_lang(request)
    try:
        app = check_authorize(state.fixture, params)
    except PageError as exc:
        return error_page(request, exc, lang)
    user_id = browser_user(request)
    if user_id is None:
        return _picker(request, lang)
    silent = params["scope"] == "snsapi_base" or (
        state.grants.recently_authorized(app.appid, user_id) and params.get("forcePopup") != "true")
    if silent:
        raise web.HTTPFound(_code_redirect(request, app, user_id, params))
    if _wants_snapshot(request, params):
        return _snapshot_page(request, app, user_id, params, lang)
    return _consent_page(request, app, user_id, params, lang)


def _picker(request: web.Request, lang: str) -> web.Response:
    """Ask which test user's WeChat this browser is, then come back here."""
    return aiohttp_jinja2.render_template("wechat_sim/picker.html", request, {
        "users": user_choices(request), "next": str(request.rel_url), "text": PICKER[lang], "en": lang == EN})


def _consent_page(request: web.Request, app: SimApp, user_id: int, params: Mapping[str, str],
                  lang: str) -> web.Response:
    """Render the snsapi_userinfo consent popup (nickname and avatar as edited now)."""
    state = sim_state(request)
    user = state.fixture.user(user_id)
    hidden = {k: params.get(k, "") for k in ("appid", "redirect_uri", "scope", "state")} | {"lang": lang}
    context: dict[str, Any] = {
        "app": app, "hidden": hidden, "text": CONSENT[lang], "en": lang == EN,
        "nickname": state.profiles.nickname(user) if user else "",
        "avatar": state.profiles.headimgurl(user, base_url(request)) if user else ""}
    return aiohttp_jinja2.render_template("wechat_sim/consent.html", request, context)


def _snapshot_page(request: web.Request, app: SimApp, user_id: int, params: Mapping[str, str],
                   lang: str) -> web.Response:
    """Render the snapshot page: browse with a virtual identity, or 使用完整服务 for real consent."""
    snapshot_url = _code_redirect(request, app, user_id, params, snapshot=True)
    full = {k: v for k, v in params.items() if k != "forceSnapShot"} | {FULL_SERVICE_PARAM: "1"}
    full_url = str(URL("/connect/oauth2/authorize").with_query(full))
    return aiohttp_jinja2.render_template("wechat_sim/snapshot.html", request, {
        "app": app, "snapshot_url": snapshot_url, "full_url": full_url, "text": SNAPSHOT[lang], "en": lang == EN})


async def decide(request: web.Request) -> web.StreamResponse:
    """The consent popup's answer: allow → code, deny → state only (no code)."""
    state, form = sim_state(request), dict(await request.post())
    params = {k: v for k, v in form.items() if isinstance(v, str)} | {"response_type": "code"}
    try:
        app = check_authorize(state.fixture, params)
    except PageError as exc:
        return error_page(request, exc, page_lang(request, params.get("lang")))
    user_id = browser_user(request)
    if user_id is None:
        raise web.HTTPBadRequest(text="this browser is not a WeChat (no test user chosen)")
    if params.get("decision") != "allow":
        raise web.HTTPFound(insert_before_fragment(params["redirect_uri"], f"state={params.get('state', '')}"))
    state.grants.record_consent(app.appid, user_id)
    raise web.HTTPFound(_code_redirect(request, app, user_id, params))
