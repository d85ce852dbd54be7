"""Small helpers shared by the simulator's handlers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from webapp.wechat_sim import ids
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.keys import errcode_key, state_key
from webapp.wechat_sim.state import SimulatorState

USER_COOKIE = "wechat_sim_user"
SNAPSHOT_COOKIE = "wechat_sim_snapshot"


def sim_state(request: web.Request) -> SimulatorState:
    """Return the simulator state of this app."""
    return request.app[state_key]


def base_url(request: web.Request) -> str:
    """Return scheme://host of the request, so self-links work on any address the client used."""
    return f"{request.scheme}://{request.host}"


def sns_json(body: Mapping[str, Any]) -> web.Response:
    """Answer like api.weixin.qq.com: HTTP 200, text/plain without charset, raw UTF-8, `\\/` escaped."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
    response = web.Response(body=text.encode("utf-8"), headers={"Content-Type": "text/plain"})
    response[errcode_key] = int(body.get("errcode", 0))
    return response


def sns_error(error: SnsError) -> web.Response:
    """Answer an /sns error with WeChat's `, rid: …` suffix."""
    return sns_json({"errcode": error.errcode, "errmsg": f"{error.errmsg}, rid: {ids.new_rid()}"})


async def read_params(request: web.Request) -> dict[str, str]:
    """Return query parameters merged with a form body (WeChat accepts GET and POST)."""
    params = dict(request.query)
    if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
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
