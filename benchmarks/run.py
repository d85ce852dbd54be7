"""Benchmark runner: `uv run python benchmarks/run.py [--quick] [--duration S] [--identities N]`.

Starts an embedded PostgreSQL, the WeChat simulator, the site and a bare aiohttp baseline as separate
processes on loopback, drives them from this process, prints the figures and writes them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks` and `webapp` importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.browser import Endpoints  # noqa: E402
from benchmarks.database import Database, embedded_database  # noqa: E402
from benchmarks.cpu import CpuMeter  # noqa: E402
from benchmarks.processes import Child, children_of, own_peak_rss_kib, peak_rss_kib, tail  # noqa: E402
from benchmarks.refresh_phase import measure_refresh  # noqa: E402
from benchmarks.report import render, write_json  # noqa: E402
from benchmarks.stack import Secrets, start_bare, start_simulator, start_site, write_fixture  # noqa: E402
from benchmarks.web_phases import hammer, logged_in_session, measure_qr_logins  # noqa: E402

DEFAULT_JSON = REPO_ROOT / "benchmarks" / "results" / "latest.json"


@dataclass(frozen=True)
class Config:
    """What to run: seconds per timed phase, load concurrency, how many identities to refresh."""

    duration_s: float
    concurrency: int
    identities: int
    qr_users: int
    quick: bool
    json_path: Path


def parse_args(argv: list[str] | None = None) -> Config:
    """The command line, with --quick lowering every default."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run (4 s phases, 5,000 identities)")
    parser.add_argument("--duration", type=float, help="seconds per timed load phase (default 15, quick 4)")
    parser.add_argument("--identities", type=int, help="due identities to refresh (default 100000, quick 5000)")
    parser.add_argument("--concurrency", type=int, default=32, help="clients in flight per load phase (default 32)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the JSON ({DEFAULT_JSON})")
    args = parser.parse_args(argv)
    duration = args.duration if args.duration is not None else (4.0 if args.quick else 15.0)
    identities = args.identities if args.identities is not None else (5_000 if args.quick else 100_000)
    if duration <= 0 or identities < 1 or args.concurrency < 1:
        parser.error("--duration, --identities and --concurrency must be positive")
    return Config(duration, args.concurrency, identities, qr_users=20_000, quick=args.quick, json_path=args.json)


def progress(message: str) -> None:
    """A progress line on stderr, so stdout holds only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def process_groups(db: Database, children: list[Child]) -> Callable[[], dict[str, list[int]]]:
    """The pids to charge CPU to, by name, read afresh each time (PostgreSQL backends come and go)."""

    def groups() -> dict[str, list[int]]:
        named = {"runner": [os.getpid()]} | {child.name: [child.pid] for child in children}
        return named | {"postgres": [db.pid, *children_of(db.pid)]}

    return groups


async def web_figures(config: Config, ends: Endpoints, work: Path, children: list[Child],
                      meter: CpuMeter) -> dict[str, Any]:
    """QR logins, then /api/me on the site and on the bare baseline (started here, added to `children`)."""
    first_qr_user = config.identities + 1
    qr_users = range(first_qr_user + 1, first_qr_user + config.qr_users)
    progress(f"QR logins for {config.duration_s:g} s ...")
    with meter.measure() as qr_cpu:
        qr = await measure_qr_logins(ends, qr_users, concurrency=config.concurrency, duration_s=config.duration_s)
    cookies, body = await logged_in_session(ends, first_qr_user)
    children.append(bare := await start_bare(body, work))
    progress(f"GET /api/me on the site, then on the bare handler, {config.duration_s:g} s each ...")
    with meter.measure() as site_cpu:
        site_me = await hammer(f"{ends.site}/api/me", cookies, concurrency=config.concurrency,
                               duration_s=config.duration_s)
    with meter.measure() as bare_cpu:
        bare_me = await hammer(f"{bare.url}/api/me", {}, concurrency=config.concurrency, duration_s=config.duration_s)
    ratio = 100 * site_me.rate / bare_me.rate if bare_me.rate else None
    return {"qr_login": qr.summary() | {"cpu_s": qr_cpu},
            "api_me": {"site": site_me.summary() | {"cpu_s": site_cpu},
                       "bare": bare_me.summary() | {"cpu_s": bare_cpu},
                       "ratio_percent": None if ratio is None else round(ratio, 1)}}


def peak_memory(db: Database, children: list[Child], worker_kib: int | None) -> dict[str, int | None]:
    """Peak resident memory of every process of the run, in KiB."""
    memory: dict[str, int | None] = {"runner (load generator)": own_peak_rss_kib()}
    memory |= {child.name: child.peak_rss_kib() for child in children}
    memory["refresh worker"] = worker_kib
    memory["postgres postmaster"] = peak_rss_kib(db.pid)
    backends = [kib for pid in children_of(db.pid) if (kib := peak_rss_kib(pid)) is not None]
    memory["postgres, largest other process"] = max(backends, default=None)
    return memory


async def run(config: Config, db: Database, work: Path) -> dict[str, Any]:
    """Start the simulator and the site, measure everything, stop them; return the figures."""
    fixture_path = write_fixture(work / "fixture.json", config.identities + config.qr_users)
    keys = Secrets.fresh()
    children: list[Child] = []
    meter = CpuMeter(process_groups(db, children))
    try:
        progress("starting the simulator and the site ...")
        children.append(sim := await start_simulator(fixture_path, work))
        children.append(site := await start_site(db.url, sim.url, keys, work))
        figures = await web_figures(config, Endpoints(site.url, sim.url), work, children, meter)
        figures["refresh"] = await measure_refresh(
            db_url=db.url, sim=sim, keys=keys, work=work, identities=config.identities,
            concurrency=config.concurrency, duration_s=config.duration_s, progress=progress, meter=meter)
        worker_kib = figures["refresh"]["worker"].pop("peak_rss_kib", None)
        figures["peak_memory_kib"] = peak_memory(db, children, worker_kib)
        return figures
    except Exception:
        for child in children:
            progress(f"last lines of the {child.name} log:\n{tail(child.log, 15)}")
        raise
    finally:
        for child in children:
            child.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT/SIGTERM: stop at once, unwinding through every cleanup (children, PostgreSQL)."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON."""
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
    results = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - (time.perf_counter() - started))),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": asdict(config) | {"json_path": str(config.json_path)},
        **figures,
        "total_s": round(time.perf_counter() - started, 1),
        "json_path": str(config.json_path),
    }
    write_json(results, config.json_path)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
