"""The middleware that applies injected faults to WeChat's API paths and records them in the call log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.faults import LOGGED_PREFIXES, Fault, merge_fields
from webapp.wechat_sim.keys import body_key, errcode_key
from webapp.wechat_sim.web_util import CGI_CONTENT_TYPE, SNS_CONTENT_TYPE, read_params, sim_state, sns_error, sns_json

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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


def _content_type(path: str) -> str:
    """/cgi-bin and /wxa answer JSON as application/json; /sns as text/plain."""
    return CGI_CONTENT_TYPE if path.startswith(("/cgi-bin/", "/wxa/")) else SNS_CONTENT_TYPE


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
        # surrogatepass: a lone surrogate in a fault body goes out as the (invalid UTF-8) bytes it stands for
        return web.Response(body=fault.body.encode("utf-8", "surrogatepass"), headers={"Content-Type": "text/plain"})
    if fault.errcode is not None:
        return sns_error(SnsError(fault.errcode, fault.errmsg), _content_type(request.path))
    return await handler(request)


def _merge(request: web.Request, response: web.StreamResponse) -> tuple[web.StreamResponse, Fault | None]:
    """Merge a pending fields fault into a successful JSON answer."""
    body = response.get(body_key)
    if body is None or response.get(errcode_key) != 0:
        return response, None
    fault = sim_state(request).faults.take_fields(request.path)
    if fault is None or fault.fields is None:
        return response, None
    return sns_json(merge_fields(body, fault.fields), response.headers["Content-Type"], errcode=0), fault


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply injected faults and record /sns and /cgi-bin calls (secrets masked) in the call log."""
    state = sim_state(request)
    fault = state.faults.take(request.path)
    logged = request.path.startswith(LOGGED_PREFIXES)
    if fault is None and not logged:
        return await handler(request)
    params = await read_params(request) if logged else {}
    response = await _apply(request, fault, handler) if fault else await handler(request)
    if response is not None and state.faults.has_fields:
        response, fields_fault = _merge(request, response)
        fault = fault or fields_fault
    if logged:
        status = response.status if response is not None else 0
        errcode = response.get(errcode_key) if response is not None else None
        state.calls.record(state.now(), request.method, request.path, params, status, errcode,
                           fault.id if fault else None)
    if response is None:
        raise asyncio.CancelledError()
    return response
