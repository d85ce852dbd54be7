"""The refresh figures: N real grants in due identities, refreshed by the worker, beside the simulator's raw rate."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.identities import insert_due_identities, issue_grants, raw_refresh_rate
from benchmarks.cpu import CpuMeter
from benchmarks.processes import Child, start_python, tail
from benchmarks.stack import Secrets, site_env
from benchmarks.web_phases import loopback_connector
from webapp.crypto import TokenCipher

WORKER_CONCURRENCY = 20  # refresh_due_tokens' default: the raw rate is measured with as many calls in flight


async def run_refresh_worker(db_url: str, sim: Child, keys: Secrets, work: Path) -> dict[str, Any]:
    """Run benchmarks.refresh_worker as its own process and return the JSON line it prints."""
    env = site_env(db_url, sim.url, "http://localhost:8080", keys)
    child = start_python("refresh-worker", ["-m", "benchmarks.refresh_worker"], env, work)
    try:
        code = await asyncio.to_thread(child.process.wait)
    except BaseException:  # interrupted: the worker must not outlive the run
        child.stop()
        raise
    lines = [line for line in child.log.read_text(errors="replace").splitlines() if line.startswith("{")]
    if code != 0 or not lines:
        raise RuntimeError(f"the refresh worker exited with {code}:\n{tail(child.log)}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def measure_refresh(*, db_url: str, sim: Child, keys: Secrets, work: Path, identities: int, concurrency: int,
                          duration_s: float, progress: Callable[[str], None], meter: CpuMeter) -> dict[str, Any]:
    """Build `identities` due rows on real grants, time the simulator's raw refresh, then the worker."""
    async with aiohttp.ClientSession(connector=loopback_connector(concurrency)) as http:
        progress(f"issuing {identities:,} real grants on the simulator (code + exchange each) ...")
        started = time.perf_counter()
        grants, issued = await issue_grants(http, sim.url, range(1, identities + 1), concurrency)
        if issued.errors:
            raise RuntimeError(f"{issued.errors} grants failed: {issued.error_samples}")
        grants_s = time.perf_counter() - started
        progress(f"inserting {identities:,} due identities (COPY) ...")
        started = time.perf_counter()
        await insert_due_identities(db_url, grants, TokenCipher([keys.token_key]))
        insert_s = time.perf_counter() - started
        progress(f"raw /sns/oauth2/refresh_token on the simulator for {duration_s:g} s ...")
        with meter.measure() as raw_cpu:
            raw = await raw_refresh_rate(http, sim.url, grants, concurrency=WORKER_CONCURRENCY, duration_s=duration_s)
    progress(f"the refresh worker on {identities:,} due identities ...")
    with meter.measure() as worker_cpu:
        worker = await run_refresh_worker(db_url, sim, keys, work)
    worker["cpu_s_others"] = {k: v for k, v in worker_cpu.items() if k != "runner"}  # runner = worker, once reaped
    worker["per_s"] = round(worker["report"]["refreshed"] / worker["elapsed_s"], 1) if worker["elapsed_s"] else None
    ratio = 100 * worker["per_s"] / raw.rate if worker["per_s"] and raw.rate else None
    return {"identities": identities,
            "setup": {"grants_s": round(grants_s, 2), "grants_per_s": round(identities / grants_s, 1),
                      "insert_s": round(insert_s, 2)},
            "simulator_raw": raw.summary() | {"concurrency": WORKER_CONCURRENCY, "cpu_s": raw_cpu},
            "worker": worker,
            "ratio_percent": None if ratio is None else round(ratio, 1)}
