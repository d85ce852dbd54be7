"""run_periodically with a recording fake sleep: no wall-clock waits."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest

from webapp.background import run_periodically


@dataclass
class StopAfter:
    """A fake sleep: records each delay and sets `stop` after `limit` sleeps."""

    stop: asyncio.Event
    limit: int
    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) >= self.limit:
            self.stop.set()


async def test_runs_the_job_then_sleeps_the_interval_between_runs() -> None:
    stop = asyncio.Event()
    sleep = StopAfter(stop, limit=3)
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(sleep.delays))

    await run_periodically(30.0, job, sleep=sleep, stop=stop)
    assert runs == [0, 1, 2]  # first run at once, then one run after each sleep
    assert sleep.delays == [30.0, 30.0, 30.0]


async def test_survives_a_failing_job_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    sleep = StopAfter(stop, limit=3)
    runs: list[str] = []

    async def flaky() -> None:
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("database went away")

    with caplog.at_level(logging.ERROR, logger="webapp.background"):
        await run_periodically(5.0, flaky, sleep=sleep, stop=stop)
    assert runs == ["run", "run", "run"]
    assert "background job flaky failed" in caplog.text
    assert "database went away" in caplog.text


async def test_a_stop_set_by_the_job_ends_the_loop_without_sleeping() -> None:
    stop = asyncio.Event()
    sleep = StopAfter(stop, limit=100)

    async def job() -> None:
        stop.set()

    await run_periodically(5.0, job, sleep=sleep, stop=stop)
    assert sleep.delays == []


async def test_cancellation_is_not_swallowed() -> None:
    started = asyncio.Event()

    async def forever(delay: float) -> None:
        started.set()
        await asyncio.Event().wait()

    async def job() -> None:
        return None

    task = asyncio.create_task(run_periodically(5.0, job, sleep=forever))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
