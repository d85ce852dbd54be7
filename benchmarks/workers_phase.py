"""`webapp serve --workers N`: N processes on one port; returning-user QR logins against all of them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.bench import Bench, progress
from benchmarks.browser import Endpoints, qr_login
from benchmarks.cpu import cpu_seconds
from benchmarks.site_phases import returning_logins
from benchmarks.stack import serve_has_workers_flag, start_site
from benchmarks.web_phases import measure_rounds

NAME = "site --workers"
WARMUP_S = 3.0
WARMUP_ATTEMPTS = 3
BUSY_CPU_S = 0.05


async def warm_up(b: Bench, ends: Endpoints, tree: Callable[[], list[int]], workers: int) -> None:
    """Returning logins until `workers` processes have served some (a late one would get no connection)."""
    for attempt in range(1, WARMUP_ATTEMPTS + 1):
        progress(f"warming up `webapp serve --workers {workers}` for {WARMUP_S:g} s ...")
        before = {pid: cpu_seconds(pid) for pid in tree()}
        await measure_rounds(partial(qr_login, ends=ends, new=False), b.people.cohort,
                             concurrency=b.config.concurrency, duration_s=WARMUP_S)
        busy = sum(cpu_seconds(pid) - before.get(pid, 0.0) >= BUSY_CPU_S for pid in tree())
        if busy >= workers or attempt == WARMUP_ATTEMPTS:
            if busy < workers:
                progress(f"  only {busy} processes of `--workers {workers}` served the warm-up; measuring anyway")
            return


async def workers_figures(b: Bench, sim_url: str) -> dict[str, Any]:
    """Start a second site with --workers N beside the idle first one, warm it up, measure, stop it."""
    workers = b.config.site_workers
    if not serve_has_workers_flag():
        progress("`webapp serve` has no --workers flag in this checkout: the every-core phase is skipped")
        return {"available": False, "reason": "`webapp serve` has no --workers flag in this checkout"}
    site = b.add(await start_site(b.db.url, sim_url, b.keys, b.work, name=NAME, workers=workers))
    try:
        ends = Endpoints(site.url, sim_url)
        await warm_up(b, ends, site.tree, workers)
        pids = site.tree()
        before = {pid: cpu_seconds(pid) for pid in pids}
        returning = await returning_logins(b, ends, f"QR logins of returning users, --workers {workers}",
                                           server=NAME)
        busy = {str(pid): round(cpu_seconds(pid) - before[pid], 2) for pid in pids}
        return {"available": True, "workers": workers, "processes": len(pids), "cpu_s_by_process": busy,
                "qr_login_returning": returning}
    finally:
        site.stop()
