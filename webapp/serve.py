"""`webapp serve --workers N`: N site processes on one port (SO_REUSEPORT), the refresh worker once per host.

The parent supervises: it starts N `webapp serve` children that each bind the port with
SO_REUSEPORT (the kernel spreads connections over them), runs the refresh worker itself (so there
is one per host, not one per process), restarts a child that dies, and on SIGTERM or SIGINT asks
every child to stop (each finishes its in-flight requests) and kills what is left after 15 s.
Prometheus metrics are in multiprocess mode: every process writes to one directory that
/metrics, in any child, reads whole.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import tempfile
from contextlib import suppress
from typing import Any

from webapp import eventloop
from webapp.connguard import Limits, guarded_factory
from webapp.observability import metrics
from webapp.settings import Settings

logger = logging.getLogger("webapp.serve")
STOP_TIMEOUT_S = 15.0
CHILD_SHUTDOWN_S = 10.0  # a child's own grace for in-flight requests, inside STOP_TIMEOUT_S
RESTART_FLOOR_S = 5.0  # a child dying sooner than this after its start, twice in a row, stops everything


async def serve_one(settings: Settings, *, host: str, port: int, reuse_port: bool = False) -> int:
    """One site process until SIGTERM/SIGINT; then requests in flight finish (up to CHILD_SHUTDOWN_S).

    A second signal changes nothing: systemd signals every process of the unit and the supervisor
    forwards its own, so a site process of `--workers` gets SIGTERM twice.
    """
    from aiohttp import web

    from webapp.accesslog import MaskedAccessLogger
    from webapp.accesslog import logger as access_logger
    from webapp.app import create_app

    runner = web.AppRunner(
        create_app(settings), access_log_class=MaskedAccessLogger, access_log=access_logger,
        shutdown_timeout=CHILD_SHUTDOWN_S, keepalive_timeout=settings.keepalive_timeout_s,
    )
    await runner.setup()
    server = None
    try:
        server = await listen(runner, settings, host=host, port=port, reuse_port=reuse_port)
        print(f"======== Running on http://{host}:{port} ========", flush=True)  # start-up line scripts wait for
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        logger.info("stopping: finishing the requests in flight")
    finally:
        if server is not None:
            server.close()  # no new connections; the runner finishes the requests in flight
        await runner.cleanup()
    return 0


async def listen(runner: Any, settings: Settings, *, host: str, port: int, reuse_port: bool = False) -> asyncio.Server:
    """Listen with aiohttp's handler behind the connection cap and the head and body deadlines."""
    limits = Limits(settings.header_timeout_s, settings.body_timeout_s, settings.max_connections)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        guarded_factory(runner.server, limits), host, port, reuse_port=reuse_port or None, backlog=128
    )


def run_supervisor(settings: Settings, *, host: str, port: int, workers: int, run_worker: bool) -> int:
    """Serve with `workers` processes until SIGTERM/SIGINT; the exit status of the whole."""
    with tempfile.TemporaryDirectory(prefix="webapp-metrics-") as metrics_dir:
        metrics.prepare_multiprocess(metrics_dir)
        return eventloop.run(_supervise(settings, host=host, port=port, workers=workers, run_worker=run_worker),
                             loop=settings.event_loop)


def child_command(host: str, port: int) -> list[str]:
    """One site process: binds with SO_REUSEPORT, no in-process worker (the parent runs it)."""
    return [sys.executable, "-m", "webapp", "serve", "--host", host, "--port", str(port), "--no-worker", "--reuse-port"]


async def _supervise(settings: Settings, *, host: str, port: int, workers: int, run_worker: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    children = [await _start(host, port) for _ in range(workers)]
    logger.info("serving on %s:%d with %d processes%s", host, port, workers, " and the refresh worker" if run_worker else "")
    background = asyncio.create_task(_background(settings, stop)) if run_worker else None
    status = await _watch(children, stop, host=host, port=port)
    await _stop_all(children)
    if background is not None:
        stop.set()
        with suppress(asyncio.CancelledError):
            await background
    return status


async def _start(host: str, port: int) -> _Child:
    process = subprocess.Popen(child_command(host, port), preexec_fn=_die_with_parent)  # noqa: ASYNC220, PLW1509
    return _Child(process, asyncio.get_running_loop().time())


def _die_with_parent() -> None:
    """In the child, before exec: if the supervisor is killed outright, the kernel sends us SIGTERM."""
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)


class _Child:
    """A site process and when it started."""

    def __init__(self, process: subprocess.Popen[bytes], started: float) -> None:
        self.process, self.started = process, started

    async def exited(self) -> int:
        """Wait for the process to end; its exit status."""
        return await asyncio.to_thread(self.process.wait)


async def _watch(children: list[_Child], stop: asyncio.Event, *, host: str, port: int) -> int:
    """Restart children that die until `stop`; give up if one keeps dying at once (e.g. the port is taken)."""
    quick_deaths = 0
    stopping = asyncio.create_task(stop.wait())
    waits = {asyncio.create_task(child.exited()): child for child in children}
    try:
        while not stop.is_set():
            done, _pending = await asyncio.wait({stopping, *waits}, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopping}:
                child = waits.pop(task)
                metrics.mark_process_dead(child.process.pid)
                lived = asyncio.get_running_loop().time() - child.started
                quick_deaths = quick_deaths + 1 if lived < RESTART_FLOOR_S else 0
                logger.error("site process %d exited with %s after %.0fs", child.process.pid, task.result(), lived)
                if quick_deaths >= 2:
                    logger.error("site processes keep dying at start-up; stopping")
                    return 1
                replacement = await _start(host, port)
                children[children.index(child)] = replacement
                waits[asyncio.create_task(replacement.exited())] = replacement
        return 0
    finally:
        stopping.cancel()
        for task in waits:
            task.cancel()


async def _stop_all(children: list[_Child]) -> None:
    """SIGTERM every child (each finishes its requests), then SIGKILL what is left after STOP_TIMEOUT_S."""
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = asyncio.get_running_loop().time() + STOP_TIMEOUT_S
    for child in children:
        remaining = max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            await asyncio.wait_for(asyncio.to_thread(child.process.wait), remaining)
        except TimeoutError:
            logger.error("site process %d did not stop in time; killing it", child.process.pid)
            child.process.kill()
            await asyncio.to_thread(child.process.wait)
        metrics.mark_process_dead(child.process.pid)


async def _background(settings: Settings, stop: asyncio.Event) -> None:
    """The refresh worker and clean-up passes, in the supervisor: once per host."""
    from webapp.wechat.worker import run_worker

    os.environ.setdefault("WEBAPP_ROLE", "supervisor")
    await run_worker(settings, once=False, stop=stop)
