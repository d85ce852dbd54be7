"""The control API's plumbing routes: faults, call log, clock, reset, stats."""

from __future__ import annotations

from aiohttp import web

from webapp.wechat_sim.web_util import json_body, json_error, sim_state

MAX_ADVANCE_S = 100 * 365.25 * 86400


async def add_fault(request: web.Request) -> web.Response:
    """Register a fault for the next matching /sns or /cgi-bin call(s), successful answer(s) or push(es)."""
    try:
        fault = sim_state(request).faults.add(await json_body(request))
    except (TypeError, ValueError) as exc:
        return json_error(400, str(exc))
    return web.json_response(fault.as_json())


async def list_faults(request: web.Request) -> web.Response:
    """List pending faults."""
    return web.json_response(sim_state(request).faults.as_json())


async def clear_faults(request: web.Request) -> web.Response:
    """Drop every pending fault."""
    sim_state(request).faults.clear()
    return web.json_response({"faults": []})


async def calls(request: web.Request) -> web.Response:
    """Return the call log (oldest first), secrets masked."""
    return web.json_response(list(sim_state(request).calls.entries))


async def clear_calls(request: web.Request) -> web.Response:
    """Empty the call log."""
    sim_state(request).calls.entries.clear()
    return web.json_response([])


async def get_clock(request: web.Request) -> web.Response:
    """Return the simulated time."""
    return web.json_response({"now": sim_state(request).now()})


async def advance_clock(request: web.Request) -> web.Response:
    """Move the simulated clock forward by advance_s seconds."""
    data = await json_body(request)
    advance = data.get("advance_s")
    if isinstance(advance, bool) or not isinstance(advance, int | float) or not 0 <= advance <= MAX_ADVANCE_S:
        return json_error(400, f"advance_s must be a number from 0 to {MAX_ADVANCE_S:g} (100 years)")
    return web.json_response({"now": sim_state(request).clock.advance(float(advance))})


async def reset(request: web.Request) -> web.Response:
    """Return to the fixture state."""
    state = sim_state(request)
    state.reset()
    return web.json_response({"reset": True, "now": state.now()})


async def stats(request: web.Request) -> web.Response:
    """Count what is held in memory (purges expired entries first)."""
    state = sim_state(request)
    state.grants.purge()
    state.qr.sessions.purge()
    return web.json_response({"codes": len(state.grants.codes), "access_tokens": len(state.grants.access),
                              "refresh_tokens": len(state.grants.refresh), "qr_sessions": len(state.qr.sessions),
                              "faults": len(state.faults.as_json()), "calls": len(state.calls.entries),
                              "param_qrcodes": len(state.qrcodes.live()),
                              "deliveries": sum(1 for _ in state.deliveries)})
