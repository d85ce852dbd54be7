"""The semantics of /cgi-bin/token, /cgi-bin/stable_token, /cgi-bin/qrcode/create and /cgi-bin/user/info."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from webapp.wechat_sim import errors as e
from webapp.wechat_sim.app_tokens import AppToken
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.mp_qrcodes import CREATES_PER_DAY, ParamQr
from webapp.wechat_sim.state import SimulatorState

GRANT_TYPE = "client_credential"
_SECRET_RE = re.compile(r"[0-9a-f]{32}")


def _credentials(state: SimulatorState, values: Mapping[str, Any]) -> SimApp:
    """Check grant_type, appid and secret as /cgi-bin/token does; return the app."""
    appid, secret = values.get("appid"), values.get("secret")
    if not appid:
        raise SnsError(e.APPID_MISSING)
    if not secret:
        raise SnsError(e.APPSECRET_MISSING)
    if values.get("grant_type") != GRANT_TYPE:
        raise SnsError(e.INVALID_GRANT_TYPE)
    app = state.fixture.app(appid) if isinstance(appid, str) else None
    if app is None:
        raise SnsError(e.INVALID_APPID)
    if secret != app.secret:
        # A malformed secret is "invalid appsecret"; a well-formed wrong one is 40001, as WeChat answers it.
        malformed = not isinstance(secret, str) or not _SECRET_RE.fullmatch(secret)
        raise SnsError(e.INVALID_APPSECRET if malformed else e.INVALID_CREDENTIAL)
    return app


def _token_json(state: SimulatorState, token: AppToken) -> dict[str, Any]:
    """Return {access_token, expires_in}: the token's remaining life in whole seconds."""
    return {"access_token": token.value, "expires_in": int(token.expires_at - state.now())}


def get_token(state: SimulatorState, params: Mapping[str, str]) -> dict[str, Any]:
    """/cgi-bin/token: a new token every call; the previous one keeps working for 5 minutes."""
    app = _credentials(state, params)
    return _token_json(state, state.app_tokens.token(app.appid))


def stable_token(state: SimulatorState, body: Any) -> dict[str, Any]:
    """/cgi-bin/stable_token: JSON body only; the same token until 5 minutes before expiry, or a forced one."""
    if not isinstance(body, dict):
        raise SnsError(e.DATA_FORMAT_ERROR)
    force = body.get("force_refresh", False)
    if force is not None and not isinstance(force, bool):
        raise SnsError(e.DATA_FORMAT_ERROR)
    app = _credentials(state, body)
    return _token_json(state, state.app_tokens.stable(app.appid, force=bool(force)))


def _app_token(state: SimulatorState, params: Mapping[str, str]) -> SimApp:
    """Return the official account whose live access_token the request carries."""
    value = params.get("access_token", "")
    if not value:
        raise SnsError(e.ACCESS_TOKEN_MISSING)
    app = state.fixture.app(state.app_tokens.check(value).appid)
    if app is None or app.kind != "official_account":
        raise SnsError(e.API_UNAUTHORIZED)
    return app


def create_qrcode(state: SimulatorState, params: Mapping[str, str], body: Any) -> tuple[dict[str, Any], ParamQr]:
    """/cgi-bin/qrcode/create: a new ticket per call; permanent codes answer without expire_seconds."""
    app = _app_token(state, params)
    if not isinstance(body, dict):
        raise SnsError(e.DATA_FORMAT_ERROR)
    if not state.app_tokens.daily.take((app.appid, "qrcode"), CREATES_PER_DAY):
        raise SnsError(e.DAILY_QUOTA)
    qr = state.qrcodes.create(app.appid, body)
    answer: dict[str, Any] = {"ticket": qr.ticket}
    if qr.expires_at is not None:
        answer["expire_seconds"] = int(qr.expires_at - qr.created_at)
    return answer, qr


def user_info(state: SimulatorState, params: Mapping[str, str]) -> dict[str, Any]:
    """/cgi-bin/user/info: followers without nickname or avatar (post-2021), non-followers subscribe=0."""
    app = _app_token(state, params)
    openid = params.get("openid", "")
    if not openid:
        raise SnsError(e.OPENID_MISSING)
    user = state.fixture.user_by_openid(app.appid, openid)
    if user is None:
        raise SnsError(e.INVALID_OPENID)
    unionid = {"unionid": state.fixture.unionid(user.id)} if app.bound else {}
    follow = state.followers.get(app.appid, user.id)
    if follow is None:
        return {"subscribe": 0, "openid": openid, "tagid_list": [], **unionid}
    return {"subscribe": 1, "openid": openid, "nickname": "", "sex": 0, "language": "zh_CN", "city": "",
            "province": "", "country": "", "headimgurl": "", "subscribe_time": follow.subscribe_time, **unionid,
            "remark": "", "groupid": 0, "tagid_list": [], "subscribe_scene": follow.scene,
            "qr_scene": follow.qr_scene, "qr_scene_str": follow.qr_scene_str}
