"""Benchmark runner: `uv run --group bench python benchmarks/run.py [--quick] [--no-peer] [--no-million] [--profile]`.

Starts an embedded PostgreSQL, the WeChat simulator, the site, a bare aiohttp baseline, a Django peer and an
async peer (FastAPI; from the `bench` dependency group, skipped without it) as separate processes on loopback,
drives them from this process, prints the figures and writes them as JSON.
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks` and `webapp` importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.async_peer import async_peer_figures
from benchmarks.bench import Bench, Population, progress
from benchmarks.browser import Endpoints
from benchmarks.config import Config, parse_args
from benchmarks.database import Database, embedded_database
from benchmarks.million import million_figures, seed_users
from benchmarks.mini_phase import mini_figures
from benchmarks.peer import peer_figures
from benchmarks.processes import children_of, own_peak_rss_kib, peak_rss_kib
from benchmarks.pyspy import profile_site
from benchmarks.refresh_phase import measure_refresh
from benchmarks.report import render, write_json
from benchmarks.site_phases import site_figures
from benchmarks.stack import Secrets, start_simulator, start_site, write_fixture
from benchmarks.targets import evaluate
from benchmarks.workers_phase import workers_figures
from webapp.crypto import TokenCipher


async def guarded(b: Bench, phase: str, figures: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """An optional phase: its failure is printed loudly and recorded, and the run goes on."""
    try:
        return await figures
    except Exception as exc:  # noqa: BLE001  (reported in the table, the JSON and the exit status)
        return b.failed(phase, exc)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def _cpu_per_login(section: dict[str, Any], kind: str) -> float | None:
    """The measured server's CPU milliseconds per QR login round of `kind` (new, returning) in a section."""
    value: float | None = section.get("qr_login", {}).get(kind, {}).get("server_cpu_ms_per_op")
    return value


def cpu_per_login(figures: dict[str, Any]) -> dict[str, Any]:
    """Site CPU per QR login round beside each peer's, and their ratios (issue 15: <= 1/10 and <= 1/5)."""
    compared: dict[str, Any] = {}
    for kind in ("returning", "new"):
        site = _cpu_per_login(figures, kind)
        django, fastapi = _cpu_per_login(figures["peer"], kind), _cpu_per_login(figures["async_peer"], kind)
        compared[kind] = {"site_ms": site, "django_peer_ms": django, "async_peer_ms": fastapi,
                          "ratio_site_to_django_peer": _ratio(site, django),
                          "ratio_site_to_async_peer": _ratio(site, fastapi)}
    return compared


def compare(figures: dict[str, Any]) -> None:
    """The ratios between sections: every core against one process, and the site against the peers."""
    single = figures["qr_login"]["returning"]["per_s"]
    workers = figures["workers"].get("qr_login_returning", {}).get("per_s")
    if figures["workers"].get("available"):
        figures["workers"]["ratio_to_one_process"] = _ratio(workers, single)
    peer = figures["peer"].get("qr_login", {}).get("returning", {}).get("per_s")
    if peer:
        figures["peer"] |= {"ratio_site_workers_to_peer": _ratio(workers, peer), "ratio_site_to_peer": _ratio(single, peer),
                            "ratio_site_to_peer_new_users": _ratio(figures["qr_login"]["new"]["per_s"],
                                                                   figures["peer"]["qr_login"]["new"]["per_s"])}
    fastapi = figures["async_peer"].get("qr_login", {}).get("returning", {}).get("per_s")
    if fastapi:
        figures["async_peer"]["ratio_site_to_peer"] = _ratio(single, fastapi)
    figures["qr_login_cpu"] = cpu_per_login(figures)


def peak_memory(b: Bench, worker_kib: int | None) -> dict[str, Any]:
    """Peak resident memory of every process of the run, in KiB (a dict for a multi-process server)."""
    memory: dict[str, Any] = {"runner (load generator)": own_peak_rss_kib()}
    for child in b.children:
        peaks = child.peaks_kib()
        memory[child.name] = (next(iter(peaks.values()), None) if len(peaks) <= 1 else
                              {"largest": max(peaks.values()), "sum": sum(peaks.values()), "processes": len(peaks)})
    memory["refresh worker"] = worker_kib
    memory["postgres postmaster"] = peak_rss_kib(b.db.pid)
    backends = [kib for pid in children_of(b.db.pid) if (kib := peak_rss_kib(pid)) is not None]
    memory["postgres, largest other process"] = max(backends, default=None)
    return memory


def disturbance(b: Bench) -> float:
    """Share of the machine's CPU that processes outside the run used during the timed phases (0..1)."""
    other = sum(cpu.get("other processes", 0.0) for _, cpu in b.timed_phases)
    capacity = sum(elapsed for elapsed, _ in b.timed_phases) * (os.cpu_count() or 1)
    return round(other / capacity, 3) if capacity else 0.0


async def run(config: Config, db: Database, work: Path) -> dict[str, Any]:
    """Start the simulator and the site, measure every phase, stop everything; return the figures."""
    b = Bench(config, db, work, Secrets.fresh(), Population.of(config))
    fixture_path = write_fixture(work / "fixture.json", b.people.size)
    try:
        # A site takes new users beside people it already has: the same number again, seeded and analyzed.
        progress(f"seeding {config.users:,} people already in the database ...")
        background = await seed_users(db.url, config.users, TokenCipher([b.keys.token_key]))
        progress("starting the simulator and the site ...")
        sim = b.add(await start_simulator(fixture_path, work))
        ends = Endpoints(b.add(await start_site(db.url, sim.url, b.keys, work)).url, sim.url)
        if config.profile:
            return await profile_site(b, ends, config.profile)
        figures = {"background": background} | await site_figures(b, ends)
        cookies = figures.pop("cookies")
        figures["mini_program"] = await guarded(b, "mini program", mini_figures(b, ends))
        figures["workers"] = await guarded(b, "site --workers", workers_figures(b, sim.url))
        figures["peer"] = (await guarded(b, "Django peer", peer_figures(b, sim.url)) if config.peer
                           else {"skipped": "off (--no-peer)"})
        figures["async_peer"] = (await guarded(b, "async peer", async_peer_figures(b, sim.url)) if config.peer
                                 else {"skipped": "off (--no-peer)"})
        figures["million"] = (await guarded(b, "1M users", million_figures(b, ends, cookies))
                              if config.million else {"skipped": "off (--no-million, or --quick without --million)"})
        figures["refresh"] = await guarded(b, "token refresh", measure_refresh(b, sim))
        compare(figures)
        figures["peak_memory_kib"] = peak_memory(b, figures["refresh"].get("worker", {}).pop("peak_rss_kib", None))
        return figures | {"failures": b.failures, "disturbance": disturbance(b)}
    except Exception:
        b.failed("the run", sys.exc_info()[1] or RuntimeError())
        raise
    finally:
        b.stop_all()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT/SIGTERM: stop at once, unwinding through every cleanup (children, PostgreSQL)."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; 1 when a phase failed (never for a missed target)."""
    config = parse_args(argv)
    # Not asyncio.run's own SIGINT handling: it only cancels the main task, and aiohttp may absorb that
    # cancellation while connecting, leaving the run going.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        return _run_and_report(config)
    except KeyboardInterrupt:
        progress("interrupted: every process of the run is stopped")
        return 130


def _run_and_report(config: Config) -> int:
    """Start PostgreSQL, run the phases, print and write the figures."""
    started = time.perf_counter()
    progress("starting an embedded PostgreSQL in /tmp and migrating it ...")
    with embedded_database() as db, tempfile.TemporaryDirectory(prefix="webapp-bench-") as work:
        figures = asyncio.run(run(config, db, Path(work)))
    if config.profile:
        return 0
    results = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - (time.perf_counter() - started))),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": asdict(config) | {"json_path": str(config.json_path)},
        **figures,
        "total_s": round(time.perf_counter() - started, 1),
        "json_path": str(config.json_path),
    }
    results["targets"] = evaluate(results)
    write_json(results, config.json_path)
    print(render(results))
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
