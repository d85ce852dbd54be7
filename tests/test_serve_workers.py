"""`webapp serve --workers N` as a real process tree: N site processes on one port, restarted, stopped together."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.ops.processes import Child
from tests.test_worker_cli import worker_env

DEADLINE_S = 60.0
RUNNING = r"Running on http://127\.0\.0\.1:\d+"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> set[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


async def exited(pid: int) -> None:
    """Return once process `pid` (any process, not only a child of ours) has ended: its pidfd turns readable."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: ended.done() or ended.set_result(None))
    try:
        await asyncio.wait_for(ended, DEADLINE_S)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


@pytest.fixture
async def supervisor(pooled_database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Child, str]]:
    """`webapp serve --workers 2` on a free port, once both site processes said they listen; killed afterwards."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webapp", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
        env=worker_env(pooled_database_url), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    tree = Child("supervisor", proc)  # the site processes inherit its output: each prints "Running on" once bound
    try:
        await tree.wait_for_line(RUNNING, count=2)
        assert len(children_of(proc.pid)) == 2, tree.output
        yield tree, f"http://127.0.0.1:{port}"
    finally:
        if proc.returncode is None:
            for child in children_of(proc.pid):
                os.kill(child, signal.SIGKILL)
            proc.kill()
            await proc.wait()
        await tree.stop()


async def test_children_exit_when_the_supervisor_is_killed_outright(supervisor: tuple[Child, str]) -> None:
    proc = supervisor[0].proc
    children = children_of(proc.pid)
    proc.kill()
    await proc.wait()
    await asyncio.gather(*(exited(pid) for pid in children))  # fails after DEADLINE_S if one lives on
    assert all(_state(pid) != "alive" for pid in children)


async def _ok(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url) as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


async def test_two_processes_serve_one_port_and_a_dead_one_is_replaced(supervisor: tuple[Child, str]) -> None:
    tree, base = supervisor
    first = children_of(tree.proc.pid)
    assert len(first) == 2
    async with aiohttp.ClientSession() as http:
        assert all(await asyncio.gather(*(_ok(http, f"{base}/healthz") for _ in range(20))))
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        await tree.wait_for_line(RUNNING, count=3)  # the replacement bound the port
        now = children_of(tree.proc.pid)
        assert len(now) == 2 and victim not in now
        assert await _ok(http, f"{base}/healthz")


async def test_sigterm_stops_every_process_and_exits_0(supervisor: tuple[Child, str]) -> None:
    proc = supervisor[0].proc
    children = children_of(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), timeout=20) == 0
    assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) for pid in children)


def _state(pid: int) -> str:
    try:
        return "zombie" if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z" else "alive"
    except OSError:
        return "gone"
