"""Small helpers shared by the simulator's handlers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from webapp.wechat_sim import ids
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.keys import body_key, errcode_key, sender_key, state_key
from webapp.wechat_sim.push_sender import PushSender
from webapp.wechat_sim.state import SimulatorState

USER_COOKIE = "wechat_sim_user"
SNAPSHOT_COOKIE = "wechat_sim_snapshot"
SNS_CONTENT_TYPE = "text/plain"
CGI_CONTENT_TYPE = "application/json; encoding=utf-8"


def sim_state(request: web.Request) -> SimulatorState:
    """Return the simulator state of this app."""
    return request.app[state_key]


def push_sender(request: web.Request) -> PushSender:
    """Return the app's push sender."""
    return request.app[sender_key]


def base_url(request: web.Request) -> str:
    """Return scheme://host of the request, so self-links work on any address the client used."""
    return f"{request.scheme}://{request.host}"


def encode_json(body: Mapping[str, Any]) -> bytes:
    """Return WeChat-style JSON: raw UTF-8, `\\/` escaped; a lone surrogate goes out as a `\\ud800` escape."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
    # Only surrogates cannot be UTF-8 encoded; backslashreplace writes them as \udXXX, still valid JSON.
    return text.encode("utf-8", "backslashreplace")


def sns_json(body: Mapping[str, Any], content_type: str = SNS_CONTENT_TYPE, errcode: int | None = None
             ) -> web.Response:
    """Answer like api.weixin.qq.com: HTTP 200, text/plain without charset (/sns), WeChat-style JSON."""
    response = web.Response(body=encode_json(body), headers={"Content-Type": content_type})
    response[errcode_key] = errcode if errcode is not None else int(body.get("errcode", 0))
    response[body_key] = body if isinstance(body, dict) else dict(body)
    return response


def cgi_json(body: Mapping[str, Any]) -> web.Response:
    """Answer like a /cgi-bin API (`application/json; encoding=utf-8`)."""
    return sns_json(body, CGI_CONTENT_TYPE)


def sns_error(error: SnsError, content_type: str = SNS_CONTENT_TYPE) -> web.Response:
    """Answer an error with WeChat's `, rid: …` suffix."""
    return sns_json({"errcode": error.errcode, "errmsg": f"{error.errmsg}, rid: {ids.new_rid()}"}, content_type)


async def read_params(request: web.Request) -> dict[str, str]:
    """Return query parameters merged with a form body (WeChat accepts GET and POST)."""
    params = dict(request.query)
    if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except ValueError:  # a body that is not UTF-8 (or a broken multipart) carries no parameters
            return params
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def json_error(http_status: int, message: str, /, **extra: Any) -> web.Response:
    """Return a control-API error."""
    return web.json_response({"error": message, **extra}, status=http_status)


def bad_request(message: str) -> web.HTTPBadRequest:
    """Return a 400 to raise, with a JSON body like every control-API error."""
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def json_body(request: web.Request) -> dict[str, Any]:
    """Return the JSON object in the request body, or raise 400."""
    try:
        data = await request.json() if request.can_read_body else {}
    except ValueError as exc:
        raise bad_request(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise bad_request("expected a JSON object")
    return data


def browser_user(request: web.Request) -> int | None:
    """Return the test user this browser is 'the WeChat of', from the cookie."""
    raw = request.cookies.get(USER_COOKIE, "")
    user_id = int(raw) if raw.isdigit() else None
    if user_id is None or sim_state(request).fixture.user(user_id) is None:
        return None
    return user_id


def require_user(state: SimulatorState, value: Any) -> int:
    """Return a valid test user id from JSON, or raise 400."""
    if isinstance(value, bool) or not isinstance(value, int) or state.fixture.user(value) is None:
        raise bad_request(f"unknown test user: {value!r}")
    return value


def require_app(state: SimulatorState, appid: Any, *, default_official: bool = False) -> SimApp:
    """Return the app named by appid (or, when allowed and absent, the official account), or raise 400."""
    if appid is None and default_official:
        app = state.fixture.official_account()
        if app is None:
            raise bad_request("the fixture has no official account")
        return app
    app = state.fixture.app(appid) if isinstance(appid, str) else None
    if app is None:
        raise bad_request(f"unknown appid: {appid!r}")
    return app
