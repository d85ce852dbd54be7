"""A closed-loop load generator: N workers repeat one operation until a deadline or a count."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """What one load run did: successes with their latencies, failures with a sample of the reasons."""

    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        """Operations that succeeded."""
        return len(self.latencies_s)

    @property
    def rate(self) -> float:
        """Successful operations per second of wall time."""
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, q: float) -> float | None:
        """The q-th percentile latency (nearest rank) in milliseconds, None without samples."""
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000

    def summary(self) -> dict[str, object]:
        """The figures as plain JSON values."""
        return {
            "ok": self.ok,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "per_s": round(self.rate, 1),
            "p50_ms": _round(self.percentile_ms(50)),
            "p99_ms": _round(self.percentile_ms(99)),
            "error_samples": self.error_samples,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def run_load(
    operation: Callable[[int], Awaitable[None]], *, concurrency: int, duration_s: float, max_ops: int | None = None
) -> LoadResult:
    """Run `operation(i)` from `concurrency` workers for `duration_s` (or `max_ops` calls) and time each call."""
    result = LoadResult()
    counter = iter(range(max_ops if max_ops is not None else 1 << 62))
    start = time.perf_counter()
    deadline = start + duration_s

    async def worker() -> None:
        while time.perf_counter() < deadline and (index := next(counter, None)) is not None:
            began = time.perf_counter()
            try:
                await operation(index)
            except Exception as exc:  # noqa: BLE001  (counted and sampled, the run goes on)
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])
            else:
                result.latencies_s.append(time.perf_counter() - began)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - start
    return result
