"""The refresh figures: N real grants in due identities, refreshed by the worker, beside the simulator's raw rate."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench import Bench, progress
from benchmarks.identities import insert_due_identities, issue_grants, raw_refresh_rate
from benchmarks.memory import RssSamples
from benchmarks.processes import Child, start_python, tail
from benchmarks.sim_log import gap_summary
from benchmarks.stack import Secrets, site_env
from benchmarks.web_phases import loopback_connector
from webapp.crypto import TokenCipher

WORKER_CONCURRENCY = 20  # refresh_due_tokens' default: the raw rate is measured with as many calls in flight
REFRESH_PATH = "/sns/oauth2/refresh_token"


async def run_refresh_worker(db_url: str, sim: Child, keys: Secrets, work: Path) -> dict[str, Any]:
    """Run benchmarks.refresh_worker as its own process, sampling its memory; return its JSON line and the samples."""
    env = site_env(db_url, sim.url, "http://localhost:8080", keys)
    child = start_python("refresh-worker", ["-m", "benchmarks.refresh_worker"], env, work)
    rss = RssSamples(child.pid)
    try:
        exited = asyncio.ensure_future(asyncio.to_thread(child.process.wait))
        await rss.until_exit(exited)
        code = await exited
    except BaseException:  # interrupted: the worker must not outlive the run
        child.stop()
        raise
    lines = [line for line in child.log.read_text(errors="replace").splitlines() if line.startswith("{")]
    if code != 0 or not lines:
        raise RuntimeError(f"the refresh worker exited with {code}:\n{tail(child.log)}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["memory"] = rss.summary(result["started_at"], result["ended_at"])
    return result


async def measure_refresh(b: Bench, sim: Child) -> dict[str, Any]:
    """Build due rows on real grants, time the simulator's raw refresh, then the worker."""
    identities, duration = len(b.people.identities), b.config.duration_s
    async with aiohttp.ClientSession(connector=loopback_connector(b.config.concurrency)) as http:
        progress(f"issuing {identities:,} real grants on the simulator (code + exchange each) ...")
        started = time.perf_counter()
        grants, issued = await issue_grants(http, sim.url, b.people.identities, b.config.concurrency)
        if issued.errors:
            raise RuntimeError(f"{issued.errors} grants failed: {issued.error_samples}")
        grants_s = time.perf_counter() - started
        progress(f"inserting {identities:,} due identities (COPY) ...")
        started = time.perf_counter()
        await insert_due_identities(b.db.url, grants, TokenCipher([b.keys.token_key]))
        insert_s = time.perf_counter() - started
        raw = await b.timed(f"raw {REFRESH_PATH} on the simulator for {duration:g} s", raw_refresh_rate(
            http, sim.url, grants, concurrency=WORKER_CONCURRENCY, duration_s=duration), server="simulator")
    progress(f"the refresh worker on {identities:,} due identities ...")
    window = time.perf_counter()
    with b.meter.measure() as worker_cpu:  # the worker process's whole life: start-up too
        worker = await run_refresh_worker(b.db.url, sim, b.keys, b.work)
    window = time.perf_counter() - window
    worker["cpu_s_others"] = {k: v for k, v in worker_cpu.items() if k != "runner"}  # runner = worker, once reaped
    worker["per_s"] = round(worker["refreshed"] / worker["elapsed_s"], 1) if worker["elapsed_s"] else None
    worker["simulator_idle_gaps"] = gap_summary(sim.log, REFRESH_PATH, worker["started_at"], worker["ended_at"])
    b.timed_phases.append((window, worker["cpu_s_others"]))
    capacity = window * (os.cpu_count() or 1)
    worker["disturbance"] = round(worker["cpu_s_others"]["other processes"] / capacity, 3) if capacity else None
    ratio = worker["per_s"] / raw["per_s"] if worker["per_s"] and raw["per_s"] else None
    return {"identities": identities,
            "setup": {"grants_s": round(grants_s, 2), "grants_per_s": round(identities / grants_s, 1),
                      "insert_s": round(insert_s, 2)},
            "simulator_raw": raw | {"concurrency": WORKER_CONCURRENCY}, "worker": worker,
            "ratio": None if ratio is None else round(ratio, 3),
            "ratio_percent": None if ratio is None else round(100 * ratio, 1)}
