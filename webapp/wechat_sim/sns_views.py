"""Handlers of api.weixin.qq.com's /sns paths."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from webapp.wechat_sim import sns_api
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.web_util import base_url, read_params, sim_state, sns_error, sns_json


async def access_token(request: web.Request) -> web.Response:
    """Exchange a code for tokens."""
    params = await read_params(request)
    return _answer(lambda: sns_api.exchange_code(sim_state(request).grants, params))


async def refresh_token(request: web.Request) -> web.Response:
    """Refresh an access_token."""
    params = await read_params(request)
    return _answer(lambda: sns_api.refresh_token(sim_state(request).grants, params))


async def auth(request: web.Request) -> web.Response:
    """Check an access_token against an openid."""
    params = await read_params(request)
    return _answer(lambda: sns_api.check_auth(sim_state(request).grants, params))


async def userinfo(request: web.Request) -> web.Response:
    """Return the user's profile."""
    params = await read_params(request)
    state = sim_state(request)
    return _answer(lambda: sns_api.userinfo(state.grants, params, base_url(request), state.profiles))


def _answer(operation: Callable[[], dict[str, object]]) -> web.Response:
    """Run an /sns operation and encode its result or its errcode."""
    try:
        return sns_json(operation())
    except SnsError as exc:
        return sns_error(exc)
