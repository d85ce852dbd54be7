"""One run's shared state: configuration, the database, the children, CPU accounting, and the timed phases."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.config import Config
from benchmarks.cpu import CpuMeter
from benchmarks.database import Database, scans_per_op, table_scans
from benchmarks.load import LoadResult
from benchmarks.processes import Child, children_of, tail
from benchmarks.stack import Secrets

WARMUP_ROUNDS = 32  # untimed logins of other users before the first timed phase: pools, caches, imports


def progress(message: str) -> None:
    """A progress line on stderr, so stdout holds only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Population:
    """Which simulator test users play which part (disjoint ranges of ids)."""

    identities: range  # real grants in due identities, for the refresh worker
    warmup: range  # the site's untimed first logins
    cohort: range  # new users once, then returning users

    @classmethod
    def of(cls, config: Config) -> Population:
        """Refresh grants first, then the warm-up users, then the cohort."""
        first_warmup = config.identities + 1
        first_cohort = first_warmup + WARMUP_ROUNDS
        return cls(range(1, first_warmup), range(first_warmup, first_cohort),
                   range(first_cohort, first_cohort + config.users))

    @property
    def size(self) -> int:
        """How many test users the simulator needs."""
        return self.cohort.stop - 1


@dataclass
class Bench:
    """Everything the phases share."""

    config: Config
    db: Database
    work: Path
    keys: Secrets
    people: Population
    children: list[Child] = field(default_factory=list)
    # (elapsed seconds, CPU seconds by process group) of every timed phase: the run's disturbance.
    timed_phases: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.meter = CpuMeter(self.groups)

    def groups(self) -> dict[str, list[int]]:
        """The pids to charge CPU to, by name, read afresh each time (workers and backends come and go)."""
        named = {"runner": [os.getpid()]} | {c.name: c.tree() for c in self.children if c.process.poll() is None}
        return named | {"postgres": [self.db.pid, *children_of(self.db.pid)]}

    def add(self, child: Child) -> Child:
        """Count `child` in the run (CPU, memory, logs, stopping)."""
        self.children.append(child)
        return child

    async def timed(self, label: str, load: Awaitable[LoadResult], *, server: str = "site",
                    scans: bool = False) -> dict[str, Any]:
        """Run one timed load, charging CPU per process; add the measured server's CPU milliseconds per operation.

        With `scans`, also the site database's sequential scans per operation (where a table's size shows).
        """
        progress(f"{label} ...")
        scans_before = await table_scans(self.db.url) if scans else {}
        with self.meter.measure() as cpu:
            result = await load
        self.timed_phases.append((result.elapsed_s, cpu))
        capacity = result.elapsed_s * (os.cpu_count() or 1)
        summary = result.summary() | {"cpu_s": cpu, "server": server,
                                      "disturbance": round(cpu["other processes"] / capacity, 3) if capacity else None}
        if result.ok and server in cpu:
            summary["server_cpu_ms_per_op"] = round(1000 * cpu[server] / result.ok, 2)
        if scans:
            summary["seq_scans"] = scans_per_op(scans_before, await table_scans(self.db.url), result.ok)
        if result.errors:
            progress(f"  {result.errors} errors, e.g. {result.error_samples[0]}")
        return summary

    def failed(self, phase: str, exc: BaseException) -> dict[str, Any]:
        """Record a phase that could not run, loudly, with the last lines of every log; the run goes on."""
        message = f"{phase} FAILED: {type(exc).__name__}: {exc}"
        self.failures.append(message)
        progress(message)
        for child in self.children:
            progress(f"last lines of the {child.name} log:\n{tail(child.log, 15)}")
        return {"error": message}

    def stop_all(self) -> None:
        """Stop every child still running."""
        for child in self.children:
            child.stop()
