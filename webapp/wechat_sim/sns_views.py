"""Handlers of api.weixin.qq.com's /sns paths, plus the fault and call-log middleware."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from webapp.wechat_sim import sns_api
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.faults import Fault
from webapp.wechat_sim.keys import errcode_key
from webapp.wechat_sim.web_util import base_url, read_params, sim_state, sns_error, sns_json

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    return _answer(lambda: sns_api.userinfo(sim_state(request).grants, params, base_url(request)))


def _answer(operation: Callable[[], dict[str, object]]) -> web.Response:
    """Run an /sns operation and encode its result or its errcode."""
    try:
        return sns_json(operation())
    except SnsError as exc:
        return sns_error(exc)


async def sleep_while_connected(request: web.Request, seconds: float) -> bool:
    """Sleep up to `seconds`; stop early (returning False) when the client hangs up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        await asyncio.sleep(min(left, 0.2))
    return True


async def _apply(request: web.Request, fault: Fault, handler: Handler) -> web.StreamResponse | None:
    """Return the faulty answer, or None when the connection was dropped."""
    if fault.delay_s and not await sleep_while_connected(request, fault.delay_s):
        return None
    if fault.drop:
        if request.transport is not None:
            request.transport.close()
        return None
    if fault.http_status is not None:
        return web.Response(status=fault.http_status, content_type="text/html",
                            text=f"<html><body><h1>{fault.http_status}</h1></body></html>")
    if fault.body is not None:
        return web.Response(body=fault.body.encode("utf-8"), headers={"Content-Type": "text/plain"})
    if fault.errcode is not None:
        return sns_error(SnsError(fault.errcode, fault.errmsg))
    return await handler(request)


@web.middleware
async def sns_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply injected faults and record /sns calls (secrets masked) in the call log."""
    state = sim_state(request)
    fault = state.faults.take(request.path)
    logged = request.path.startswith("/sns/")
    if fault is None and not logged:
        return await handler(request)
    params = await read_params(request) if logged else {}
    response = await _apply(request, fault, handler) if fault else await handler(request)
    if logged:
        status = response.status if response is not None else 0
        errcode = response.get(errcode_key) if response is not None else None
        state.calls.record(state.now(), request.method, request.path, params, status, errcode,
                           fault.id if fault else None)
    if response is None:
        raise asyncio.CancelledError()
    return response
