"""Running the simulator as a process (used by `webapp simulator` and `webapp dev`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from aiohttp import web

from webapp.wechat_sim.access_log import MaskingAccessLogger, logger
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.push_config import PushConfigError
from webapp.wechat_sim.state import SimulatorState

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081


async def start_simulator(state: SimulatorState, host: str = DEFAULT_HOST,
                          port: int = DEFAULT_PORT) -> web.AppRunner:
    """Start the simulator inside a running loop (beside the site); return its runner to clean up."""
    runner = web.AppRunner(create_simulator_app(state), access_log_class=MaskingAccessLogger,
                           access_log=logger, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def run_simulator(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                  environ: Mapping[str, str] | None = None) -> None:
    """Run the simulator alone until interrupted; a bad WECHAT_SIM_* setting exits with its message."""
    try:
        state = SimulatorState.from_env(os.environ if environ is None else environ)
    except PushConfigError as exc:
        raise SystemExit(f"webapp simulator: {exc}") from None
    web.run_app(create_simulator_app(state), host=host, port=port, access_log_class=MaskingAccessLogger,
                access_log=logger, handler_cancellation=True)
