"""Typed application, request and response keys of the simulator app."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.wechat_sim.push_sender import PushSender
from webapp.wechat_sim.state import SimulatorState

state_key = web.AppKey("wechat_sim_state", SimulatorState)
sender_key = web.AppKey("wechat_sim_sender", PushSender)
errcode_key = web.ResponseKey("wechat_sim_errcode", int)
body_key = web.ResponseKey("wechat_sim_body", dict[str, Any])
