"""The control API under /_sim: users, apps, QR actions, browser identity, faults, calls, clock, reset."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.wechat_sim import qr as qr_states
from webapp.wechat_sim.fixture import SimApp, SimUser
from webapp.wechat_sim.pages import EN, LANG_COOKIE, ZH, is_en
from webapp.wechat_sim.qr import QrActionError
from webapp.wechat_sim.state import SimulatorState
from webapp.wechat_sim.web_util import (
    SNAPSHOT_COOKIE,
    USER_COOKIE,
    bad_request,
    base_url,
    json_body,
    json_error,
    require_app,
    require_user,
    sim_state,
)

DEFAULT_SCOPE = {"website": "snsapi_login", "official_account": "snsapi_userinfo"}
VALID_SCOPES = {"website": ("snsapi_login",), "official_account": ("snsapi_base", "snsapi_userinfo")}


async def apps(request: web.Request) -> web.Response:
    """List the fixture's apps with their secrets."""
    return web.json_response([a.as_json() for a in sim_state(request).fixture.apps])


def user_json(state: SimulatorState, user: SimUser, base: str) -> dict[str, Any]:
    """Return the control API's view of a test user (nickname and avatar as edited now)."""
    fixture = state.fixture
    return {"id": user.id, "nickname": state.profiles.nickname(user),
            "headimgurl": state.profiles.headimgurl(user, base),
            "unionid": fixture.unionid(user.id),
            "phone": {"country_code": user.phone[0], "number": user.phone[1]} if user.phone else None,
            "openids": {a.appid: fixture.openid(a, user.id) for a in fixture.apps},
            "follows": [a.appid for a in fixture.apps if state.followers.get(a.appid, user.id) is not None]}


async def users(request: web.Request) -> web.Response:
    """List the test users with their unionid and openid per appid."""
    state, base = sim_state(request), base_url(request)
    return web.json_response([user_json(state, u, base) for u in state.fixture.users])


async def patch_user(request: web.Request) -> web.Response:
    """Set what WeChat shows as this user's nickname and avatar URL (any string; reset restores the fixture)."""
    state, data = sim_state(request), await json_body(request)
    raw = request.match_info["user_id"]
    user = state.fixture.user(int(raw)) if raw.isdigit() else None
    if user is None:
        return json_error(404, f"unknown test user: {raw!r}")
    unknown = set(data) - {"nickname", "headimgurl"}
    if unknown:
        return json_error(400, f"only nickname and headimgurl can be set, not {', '.join(sorted(unknown))}")
    if any(not isinstance(v, str) for v in data.values()):
        return json_error(400, "nickname and headimgurl must be strings")
    state.profiles.set(user.id, nickname=data.get("nickname"), headimgurl=data.get("headimgurl"))
    return web.json_response(user_json(state, user, base_url(request)))


def _user_id(state: SimulatorState, value: Any, *, required: bool = True) -> int | None:
    """Return a valid test user id from JSON, or raise 400."""
    if value is None and not required:
        return None
    return require_user(state, value)


def _qr_json(session: qr_states.QrSession) -> dict[str, Any]:
    """Return the control API's view of a QR session."""
    return {"uuid": session.uuid, "status": session.status, "user": session.user_id,
            "appid": session.app.appid, "expires_at": session.expires_at}


async def qr_status(request: web.Request) -> web.Response:
    """Show a QR session's state."""
    session = sim_state(request).qr.get(request.match_info["uuid"])
    if session is None:
        return json_error(404, "unknown or expired uuid", status=qr_states.EXPIRED)
    return web.json_response(_qr_json(session))


async def qr_action(request: web.Request) -> web.Response:
    """Do what the phone does: scan, confirm or cancel, as a test user."""
    state, data = sim_state(request), await json_body(request)
    session = state.qr.get(request.match_info["uuid"])
    if session is None:
        return json_error(404, "unknown or expired uuid", status=qr_states.EXPIRED)
    action = data.get("action")
    user_id = _user_id(state, data.get("user"), required=action == "scan")
    extra: dict[str, Any] = {}
    try:
        if action == "scan":
            state.qr.scan(session, user_id or 0)
        elif action == "cancel":
            state.qr.cancel(session, user_id)
        elif action == "confirm":
            extra = _confirm(state, session, user_id)
        else:
            return json_error(400, "action must be scan, confirm or cancel")
    except QrActionError as exc:
        return json_error(409, str(exc), status=session.status)
    return web.json_response(_qr_json(session) | extra)


def _confirm(state: SimulatorState, session: qr_states.QrSession, user_id: int | None) -> dict[str, Any]:
    """Allow the login: issue the code the browser will carry to redirect_uri."""
    if session.status != qr_states.SCANNED or session.user_id is None:
        raise QrActionError("scan first")
    code = state.grants.issue_code(session.app, session.user_id, "snsapi_login")
    return {"code": code.code, "redirect_url": state.qr.confirm(session, user_id, code.code)}


async def wechat_browser(request: web.Request) -> web.StreamResponse:
    """Make this browser "the WeChat of user ID" (cookie; `lang=en` makes it an English WeChat), then go to `next`."""
    state, query = sim_state(request), request.query
    raw = query.get("user", "")
    if not raw.isdigit() or state.fixture.user(int(raw)) is None:
        raise bad_request(f"unknown test user: {raw!r}")
    response = web.HTTPFound(query.get("next") or "/")
    response.set_cookie(USER_COOKIE, raw, path="/", httponly=True, samesite="Lax")
    if query.get("lang"):
        response.set_cookie(LANG_COOKIE, EN if is_en(query["lang"]) else ZH, path="/", httponly=True, samesite="Lax")
    if query.get("snapshot") == "1":
        response.set_cookie(SNAPSHOT_COOKIE, "1", path="/", httponly=True, samesite="Lax")
    else:
        response.del_cookie(SNAPSHOT_COOKIE, path="/")
    raise response


def _app_or_400(state: SimulatorState, appid: Any) -> SimApp:
    """Return the app or raise 400."""
    return require_app(state, appid)


async def issue_code(request: web.Request) -> web.Response:
    """Issue a code directly, as if the user had just authorized the app."""
    state, data = sim_state(request), await json_body(request)
    app = _app_or_400(state, data.get("appid"))
    user_id = _user_id(state, data.get("user")) or 0
    if app.kind not in DEFAULT_SCOPE:
        return json_error(400, f"{app.appid} is a {app.kind}: use /_sim/api/mini/login-code")
    scope = data.get("scope") or DEFAULT_SCOPE[app.kind]
    if scope not in VALID_SCOPES[app.kind]:
        return json_error(400, f"scope {scope!r} is not valid for a {app.kind} app")
    snapshot = bool(data.get("snapshot", False))
    if scope == "snsapi_userinfo" and not snapshot:
        state.grants.record_consent(app.appid, user_id)
    code = state.grants.issue_code(app, user_id, scope, snapshot=snapshot)
    return web.json_response({"code": code.code, "appid": app.appid, "user": user_id, "scope": scope,
                              "expires_at": code.expires_at})


async def revoke_tokens(request: web.Request) -> web.Response:
    """The user withdrew the app's authorization: its tokens stop working."""
    state, data = sim_state(request), await json_body(request)
    app = _app_or_400(state, data.get("appid"))
    user_id = _user_id(state, data.get("user")) or 0
    state.grants.revoke(app.appid, user_id)
    return web.json_response({"revoked": True, "appid": app.appid, "user": user_id})
