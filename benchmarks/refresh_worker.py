"""The refresh worker under measurement, as its own process: `python -m benchmarks.refresh_worker`.

It runs the worker's own `refresh_all_due` (batches of 200, 20 WeChat calls in flight) until a pass
claims nothing, then prints one JSON line: passes, elapsed time, the summed RefreshReport, the rows
still due, its CPU time, the time spent in the claim and store transactions, and its own peak memory.
Configuration comes from the environment like `webapp worker`.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.processes import own_peak_rss_kib
from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.db import make_sessionmaker
from webapp.models import WeChatIdentity
from webapp.settings import Settings
from webapp.wechat import refresher
from webapp.wechat.refresher import RefreshReport, configured_apps
from webapp.wechat.worker import refresh_all_due, wechat_client

MAX_PASSES = 20
T = TypeVar("T")
P = ParamSpec("P")


class Stopwatch:
    """Total seconds spent inside the wrapped coroutine functions, by name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, function: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        """`function`, timed under `name`."""

        async def timed(*args: P.args, **kwargs: P.kwargs) -> T:
            began = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began

        return timed


def time_database_steps(watch: Stopwatch) -> None:
    """Time the refresher's claim and store transactions (module attributes, looked up at each call).

    These are private names of a module that may change; whichever is missing is simply not timed.
    """
    for name in ("_claim", "_store"):
        if callable(step := getattr(refresher, name, None)):
            setattr(refresher, name, watch.wrap(f"{name[1:]}_s", step))


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def due_count(sm: async_sessionmaker[AsyncSession]) -> int:
    """Active identities with a refresh token whose access token expires within the refresher's horizon."""
    w = WeChatIdentity
    query = select(func.count()).where(
        w.status == "active", w.refresh_token_enc.is_not(None), w.access_expires_at < utcnow() + timedelta(minutes=15)
    )
    async with sm() as session:
        return int(await session.scalar(query) or 0)


async def measure(settings: Settings) -> dict[str, object]:
    """Refresh everything due, pass after pass, and time it."""
    sm = make_sessionmaker(settings.async_database_url or "")
    apps, cipher = configured_apps(settings), TokenCipher(settings.token_keys)
    try:
        due_before = await due_count(sm)
        total, passes, watch = RefreshReport(), 0, Stopwatch()
        time_database_steps(watch)
        cpu_before = cpu_seconds()
        async with aiohttp.ClientSession() as http:
            client = wechat_client(settings, http)
            started, started_at = time.perf_counter(), time.time()
            while passes < MAX_PASSES:
                report = await refresh_all_due(sm, client, cipher, apps, clock=utcnow)
                total, passes = total + report, passes + 1
                if report.claimed == 0:
                    break
            elapsed = time.perf_counter() - started
        return {"due_before": due_before, "due_after": await due_count(sm), "passes": passes,
                "elapsed_s": round(elapsed, 3), "started_at": started_at, "ended_at": started_at + elapsed,
                "report": asdict(total), "cpu_s": round(cpu_seconds() - cpu_before, 2),
                **{name: round(seconds, 2) for name, seconds in watch.seconds.items()},
                "peak_rss_kib": own_peak_rss_kib()}
    finally:
        await sm.kw["bind"].dispose()


def main() -> None:
    """Print the measurement as one JSON line."""
    print(json.dumps(asyncio.run(measure(Settings.from_env(os.environ)))), flush=True)


if __name__ == "__main__":
    main()
