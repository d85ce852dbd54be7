"""A process's resident memory sampled from /proc while it runs: start, peak, end and the trend."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.processes import rss_kib

INTERVAL_S = 0.5


@dataclass
class RssSamples:
    """(epoch seconds, VmRSS KiB) pairs of one process."""

    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)

    def take(self) -> None:
        """Read VmRSS now (nothing once the process is gone)."""
        kib = rss_kib(self.pid)
        if kib is not None:
            self.samples.append((time.time(), kib))

    async def until_exit(self, done: asyncio.Future[Any] | asyncio.Task[Any]) -> None:
        """Sample every INTERVAL_S until `done` completes."""
        while not done.done():
            self.take()
            await asyncio.wait({done}, timeout=INTERVAL_S)

    def summary(self, since: float, until: float) -> dict[str, Any]:
        """Start, peak and end RSS between two instants, and the least-squares slope in MiB per minute."""
        window = [(t, kib) for t, kib in self.samples if since <= t <= until]
        if len(window) < 2:
            return {"samples": len(window), "interval_s": INTERVAL_S}
        peak_t, peak = max(window, key=lambda s: s[1])
        return {"samples": len(window), "interval_s": INTERVAL_S, "start_kib": window[0][1], "peak_kib": peak,
                "peak_at_s": round(peak_t - window[0][0], 1), "end_kib": window[-1][1],
                "slope_mib_per_min": round(_slope(window) * 60 / 1024, 3)}


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope of y over x (KiB per second)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0
