"""A generic periodic loop that logs and survives the errors of the job it runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger("webapp.background")


async def run_periodically(
    interval: float,
    job: Callable[[], Awaitable[Any]],
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    stop: asyncio.Event | None = None,
) -> None:
    """Run `job` now and then every `interval` seconds until cancelled or `stop` is set."""
    name = getattr(job, "__name__", None) or getattr(getattr(job, "func", None), "__name__", "job")
    while stop is None or not stop.is_set():
        try:
            await job()
        except Exception:
            logger.exception("background job %s failed; next run in %.0fs", name, interval)
        if stop is not None and stop.is_set():
            return
        await sleep(interval)
