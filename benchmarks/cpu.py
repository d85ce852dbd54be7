"""CPU seconds by process group during a phase, read from /proc, and what the rest of the machine used."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of a process (plus its reaped children's with `reaped`); 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(v) for v in fields[11:15 if reaped else 13])  # utime, stime[, cutime, cstime]
    return ticks / os.sysconf("SC_CLK_TCK")


CpuSnapshot = dict[str, dict[int, float]]


def cpu_snapshot(groups: dict[str, list[int]]) -> CpuSnapshot:
    """CPU seconds of every pid by named group; a group's first pid counts its reaped children too.

    So the runner's group holds the refresh worker once it has exited, and the postmaster's the backends.
    """
    return {name: {pid: cpu_seconds(pid, reaped=i == 0) for i, pid in enumerate(pids)} for name, pids in groups.items()}


def cpu_delta(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds each group used between two snapshots (a child that exited meanwhile moved to its parent)."""
    delta: dict[str, float] = {}
    for name, pids in after.items():
        old = before.get(name, {})
        delta[name] = round(sum(pids.values()) - sum(old.get(pid, 0.0) for pid in pids)
                            - sum(v for pid, v in old.items() if pid not in pids), 2)
    return delta


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all CPUs), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Measures the CPU seconds each process group spends inside a `with meter.measure() as cpu:` block.

    "other processes" is what the rest of the machine used meanwhile: large, it means the run was disturbed.
    """

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups

    @contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        """Yield a dict that holds, after the block, CPU seconds by group and for other processes."""
        before, busy, spent = cpu_snapshot(self.groups()), machine_busy_seconds(), dict[str, float]()
        yield spent
        spent.update(cpu_delta(before, cpu_snapshot(self.groups())))
        spent["other processes"] = round(max(0.0, machine_busy_seconds() - busy - sum(spent.values())), 2)
