"""The refresh worker under measurement, as its own process: `python -m benchmarks.refresh_worker`.

It runs exactly what `webapp worker --once` runs (`webapp.wechat.worker.run_worker(settings, once=True)`:
one maintenance pass, which refreshes everything due and purges expired rows), again while identities are
still due (at most MAX_PASSES), and prints one JSON line: passes, elapsed time, the summed RefreshReport
(when the worker module still has `refresh_all_due` to listen to), the rows due before and after, its CPU
time, its wall-clock start and end (for the runner's memory samples and the simulator's log), and its own
peak memory. Configuration comes from the environment like `webapp worker`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from benchmarks.database import asyncpg_dsn
from benchmarks.processes import own_peak_rss_kib
from webapp.settings import Settings
from webapp.wechat import worker

MAX_PASSES = 20
DUE = """SELECT count(*) FROM wechat_identities
         WHERE status = 'active' AND refresh_token_enc IS NOT NULL AND {due} <= now() + interval '1 minute'"""


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def due_count(url: str) -> int:
    """Active identities with a live grant whose refresh is due (refresh_due_at, else access_expires_at)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        has_due_at = await conn.fetchval("SELECT 1 FROM information_schema.columns WHERE table_name = "
                                         "'wechat_identities' AND column_name = 'refresh_due_at'")
        return int(await conn.fetchval(DUE.format(due="refresh_due_at" if has_due_at else "access_expires_at")))
    finally:
        await conn.close()


def listen_to_reports(reports: list[Any]) -> None:
    """Keep every RefreshReport that run_worker's pass gets from worker.refresh_all_due (if that still exists)."""
    original: Callable[..., Awaitable[Any]] | None = getattr(worker, "refresh_all_due", None)
    if original is None:
        return

    async def recording(*args: Any, **kwargs: Any) -> Any:
        report = await original(*args, **kwargs)
        reports.append(report)
        return report

    worker.refresh_all_due = recording  # type: ignore[assignment]


def summed(reports: list[Any]) -> dict[str, int] | None:
    """The reports' fields added up."""
    if not reports:
        return None
    total: Counter[str] = Counter()
    for report in reports:
        total.update(dataclasses.asdict(report))
    return dict(total)


async def measure(settings: Settings) -> dict[str, object]:
    """Run `webapp worker --once`'s pass until nothing is due, and time it."""
    url = settings.async_database_url or ""
    due_before, reports, elapsed, passes = await due_count(url), [], 0.0, 0
    listen_to_reports(reports)
    cpu_before, started_at = cpu_seconds(), time.time()
    while passes < MAX_PASSES:
        began = time.perf_counter()
        code = await worker.run_worker(settings, once=True)
        elapsed, passes = elapsed + time.perf_counter() - began, passes + 1
        if code != 0:
            raise SystemExit(f"the worker pass exited with {code}")
        if (due_after := await due_count(url)) == 0:
            break
    report = summed(reports)
    refreshed = report["refreshed"] if report else due_before - due_after
    return {"due_before": due_before, "due_after": due_after, "passes": passes, "elapsed_s": round(elapsed, 3),
            "started_at": started_at, "ended_at": time.time(), "refreshed": refreshed, "report": report,
            "cpu_s": round(cpu_seconds() - cpu_before, 2), "peak_rss_kib": own_peak_rss_kib()}


def main() -> None:
    """Print the measurement as one JSON line."""
    print(json.dumps(asyncio.run(measure(Settings.from_env(os.environ)))), flush=True)


if __name__ == "__main__":
    main()
