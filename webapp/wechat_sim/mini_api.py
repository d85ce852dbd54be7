"""The semantics of the mini program's /sns/jscode2session and /wxa/business/getuserphonenumber (§11)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.wechat_sim import errors as e
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.mini_codes import CODE_TTL_S, MiniCode
from webapp.wechat_sim.state import SimulatorState

MAINLAND = "86"


def _require(params: Mapping[str, str], name: str, errcode: int) -> str:
    """Return a non-empty query parameter or raise the errcode WeChat uses for its absence."""
    value = params.get(name, "")
    if not value:
        raise SnsError(errcode)
    return value


def _mini_program(state: SimulatorState, appid: str) -> SimApp:
    """The mini program named by appid, or 40013 (unknown, or an app of another kind)."""
    app = state.fixture.app(appid)
    if app is None or app.kind != "mini_program":
        raise SnsError(e.INVALID_APPID)
    return app


def _live(code: MiniCode | None, appid: str, now: float) -> MiniCode:
    """The code if it was issued to this appid and has not expired; 40029 otherwise."""
    if code is None or code.appid != appid or code.expires_at <= now:
        raise SnsError(e.INVALID_CODE)
    return code


def code_to_session(state: SimulatorState, params: Mapping[str, str]) -> dict[str, Any]:
    """jscode2session: appid + secret + js_code → openid, a new session_key, and unionid iff bound."""
    appid = _require(params, "appid", e.APPID_MISSING)
    secret = _require(params, "secret", e.APPSECRET_MISSING)
    value = _require(params, "js_code", e.CODE_MISSING)
    if params.get("grant_type") != "authorization_code":
        raise SnsError(e.INVALID_GRANT_TYPE)
    app = _mini_program(state, appid)
    if secret != app.secret:
        raise SnsError(e.INVALID_APPSECRET)
    book = state.mini
    code = _live(book.login_codes.get(value), appid, state.now())
    if code.used:
        raise SnsError(e.CODE_BEEN_USED)
    if not book.take_minute_budget(appid, code.user_id):
        raise SnsError(e.MINUTE_QUOTA)
    if code.user_id in book.risky:
        raise SnsError(e.CODE_BLOCKED)
    code.used = True
    body = {"session_key": book.new_session_key(appid, code.user_id),
            "openid": state.fixture.openid(app, code.user_id)}
    if app.bound:
        body["unionid"] = state.fixture.unionid(code.user_id)
    return body


def token_app(state: SimulatorState, params: Mapping[str, str]) -> SimApp:
    """The mini program whose live interface token the query carries: 41001, 40001, 42001 or 48001."""
    value = params.get("access_token", "")
    if not value:
        raise SnsError(e.ACCESS_TOKEN_MISSING)
    app = state.fixture.app(state.app_tokens.check(value).appid)
    if app is None or app.kind != "mini_program":
        raise SnsError(e.API_UNAUTHORIZED)
    return app


def phone_number(state: SimulatorState, app: SimApp, body: Any) -> dict[str, Any]:
    """getuserphonenumber: a phone code of this mini program, once, within 5 minutes → phone_info."""
    if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not body["code"]:
        raise SnsError(e.DATA_FORMAT_ERROR)
    code = _live(state.mini.phone_codes.get(body["code"]), app.appid, state.now())
    if code.used:
        raise SnsError(e.INVALID_CODE)  # not 40163: a used phone code is just invalid
    user = state.fixture.user(code.user_id)
    if user is None or user.phone is None:
        raise SnsError(e.INVALID_CODE)
    code.used = True
    country, number = user.phone
    shown = number if country == MAINLAND else f"+{country}{number}"
    return {"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": shown, "purePhoneNumber": number, "countryCode": country,
        "watermark": {"timestamp": int(code.expires_at - CODE_TTL_S), "appid": app.appid}}}
