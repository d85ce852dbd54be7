"""The simulator's own pages: home, avatars, and two demo pages to try the QR flows."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from webapp.wechat_sim import avatar, sns_api
from webapp.wechat_sim.control import user_json
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.web_util import base_url, sim_state


@aiohttp_jinja2.template("wechat_sim/home.html")
async def home(request: web.Request) -> dict[str, Any]:
    """List apps, users and how to try each flow."""
    state, base = sim_state(request), base_url(request)
    account = state.fixture.official_account()
    return {"base": base, "apps": state.fixture.apps,
            "users": [user_json(state, u, base) for u in state.fixture.users],
            "demo_callback": f"{base}/_sim/demo/callback", "account": account,
            "push": state.push_configs.get(account.appid) if account else None,
            "qrcodes": [q.as_json(base) for q in state.qrcodes.live()][-10:]}


@lru_cache(maxsize=64)
def _png(user_id: int, size: int) -> bytes:
    """Return a cached avatar PNG."""
    return avatar.avatar_png(user_id, size)


async def avatar_image(request: web.Request) -> web.Response:
    """Serve /mmopen/{user_id}/{size} like thirdwx.qlogo.cn (size 0 = 640 px)."""
    raw, size = request.match_info["user_id"], avatar.AVATAR_SIZES.get(request.match_info["size"])
    user_id = int(raw) if raw.isdigit() else -1
    if size is None or (user_id != 0 and sim_state(request).fixture.user(user_id) is None):
        raise web.HTTPNotFound()
    return web.Response(body=_png(user_id, size), content_type="image/png",
                        headers={"Cache-Control": "max-age=86400"})


@aiohttp_jinja2.template("wechat_sim/demo_callback.html")
async def demo_callback(request: web.Request) -> dict[str, Any]:
    """A stand-in site callback: exchange the code (state carries the appid) and show what WeChat returns."""
    state, query = sim_state(request), request.query
    app = state.fixture.app(query.get("state", ""))
    result: dict[str, Any] = {"query": dict(query), "token": None, "userinfo": None}
    if app is None or "code" not in query:
        return result
    params = {"appid": app.appid, "secret": app.secret, "code": query["code"],
              "grant_type": "authorization_code"}
    try:
        result["token"] = token = sns_api.exchange_code(state.grants, params)
        if token["scope"] != "snsapi_base":
            result["userinfo"] = sns_api.userinfo(
                state.grants, {"access_token": token["access_token"], "openid": token["openid"]},
                base_url(request), state.profiles)
    except SnsError as exc:
        result["error"] = {"errcode": exc.errcode, "errmsg": exc.errmsg}
    return {k: _pretty(v) if k in ("query", "token", "userinfo") else v for k, v in result.items()}


def _pretty(value: Any) -> str | None:
    """Return readable JSON (raw UTF-8, as WeChat sends it) for the demo page."""
    return None if value is None else json.dumps(value, ensure_ascii=False, indent=2)


@aiohttp_jinja2.template("wechat_sim/demo_embedded.html")
async def demo_embedded(request: web.Request) -> dict[str, Any]:
    """A stand-in site login page embedding the QR with wxLogin.js."""
    apps = [a for a in sim_state(request).fixture.apps if a.kind == "website"]
    self_redirect = request.query.get("self_redirect", "true")
    return {"app": apps[0], "callback": f"{base_url(request)}/_sim/demo/callback",
            "self_redirect": self_redirect}
