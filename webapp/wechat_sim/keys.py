"""Typed application keys of the simulator app."""

from __future__ import annotations

from aiohttp import web

from webapp.wechat_sim.state import SimulatorState

state_key = web.AppKey("wechat_sim_state", SimulatorState)
errcode_key = web.ResponseKey("wechat_sim_errcode", int)
