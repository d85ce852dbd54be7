"""The mini program's side: WeChat's two APIs, the control routes that hand out codes, and a page to try them."""

from __future__ import annotations

import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from webapp.wechat_sim import errors as e
from webapp.wechat_sim import ids, mini_api
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.mini_codes import MiniCode
from webapp.wechat_sim.state import SimulatorState
from webapp.wechat_sim.web_util import (
    CGI_CONTENT_TYPE,
    bad_request,
    base_url,
    json_body,
    json_error,
    require_user,
    sim_state,
    sns_error,
    sns_json,
)


async def jscode2session(request: web.Request) -> web.Response:
    """GET /sns/jscode2session: reads the query only (a POST body is never looked at, as WeChat)."""
    try:
        return sns_json(mini_api.code_to_session(sim_state(request), request.query))
    except SnsError as exc:
        return sns_error(exc)


async def getuserphonenumber(request: web.Request) -> web.Response:
    """POST /wxa/business/getuserphonenumber?access_token=: JSON body {"code"}; errmsg with `hint: […] rid:`."""
    state = sim_state(request)
    try:
        if request.method != "POST":
            raise SnsError(e.REQUIRE_POST)
        app = mini_api.token_app(state, request.query)
        return sns_json(mini_api.phone_number(state, app, await _json(request)), CGI_CONTENT_TYPE)
    except SnsError as exc:
        errmsg = f"{exc.errmsg} hint: [{ids.alnum(4)}] rid: {ids.new_rid()}"
        return sns_json({"errcode": exc.errcode, "errmsg": errmsg}, CGI_CONTENT_TYPE)


async def _json(request: web.Request) -> Any:
    """The body parsed as JSON whatever its Content-Type, or None."""
    try:
        return json.loads((await request.read()).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _mini_app(state: SimulatorState, appid: Any) -> SimApp:
    """The mini program named by appid (default: the bound one), or 400."""
    apps = state.fixture.mini_programs()
    app = apps[0] if appid is None and apps else state.fixture.app(appid) if isinstance(appid, str) else None
    if app is None or app.kind != "mini_program":
        raise bad_request(f"not a mini program: {appid!r}")
    return app


def _code_json(code: MiniCode) -> dict[str, Any]:
    return {"code": code.code, "appid": code.appid, "user": code.user_id, "expires_at": code.expires_at}


async def login_code(request: web.Request) -> web.Response:
    """POST /_sim/api/mini/login-code {"user": ID, "appid"?}: what wx.login() returns to the front end."""
    state, data = sim_state(request), await json_body(request)
    app, user_id = _mini_app(state, data.get("appid")), require_user(state, data.get("user"))
    return web.json_response(_code_json(state.mini.issue_login_code(app.appid, user_id)))


async def phone_code(request: web.Request) -> web.Response:
    """POST /_sim/api/mini/phone-code {"user": ID, "appid"?}: what the getPhoneNumber button returns; 409 without a number."""
    state, data = sim_state(request), await json_body(request)
    app, user_id = _mini_app(state, data.get("appid")), require_user(state, data.get("user"))
    user = state.fixture.user(user_id)
    if user is None or user.phone is None:
        return json_error(409, f"test user {user_id} has no phone number")
    return web.json_response(_code_json(state.mini.issue_phone_code(app.appid, user_id)))


async def risky(request: web.Request) -> web.Response:
    """POST /_sim/api/mini/risky {"user": ID, "risky": bool}: WeChat's risk control blocks (40226) or frees a user."""
    state, data = sim_state(request), await json_body(request)
    user_id, flag = require_user(state, data.get("user")), data.get("risky", True)
    if not isinstance(flag, bool):
        return json_error(400, "risky must be true or false")
    (state.mini.risky.add if flag else state.mini.risky.discard)(user_id)
    return web.json_response({"user": user_id, "risky": flag})


@aiohttp_jinja2.template("wechat_sim/mini.html")
async def page(request: web.Request) -> dict[str, Any]:
    """GET/POST /_sim/mini: pick a mini program and a test user; get a login code or a phone code."""
    state, base = sim_state(request), base_url(request)
    result: dict[str, Any] = {}
    if request.method == "POST":
        form = await request.post()
        app = _mini_app(state, form.get("appid"))
        raw = form.get("user")
        user = state.fixture.user(int(raw)) if isinstance(raw, str) and raw.isdigit() else None
        if user is None:
            raise bad_request("pick a test user")
        result = {"app": app, "user": user, "kind": form.get("kind")}
        if form.get("kind") == "phone" and user.phone is None:
            result["error"] = "这个用户没有绑定手机号 (this test user has no phone number)"
        elif form.get("kind") == "phone":
            result["code"] = state.mini.issue_phone_code(app.appid, user.id).code
        else:
            result["code"] = state.mini.issue_login_code(app.appid, user.id).code
    return {"base": base, "apps": state.fixture.mini_programs(), "users": state.fixture.users, "result": result}
