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

from tests.test_worker_cli import worker_env

DEADLINE_S = 60.0


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


async def until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    """Re-check `predicate` (which does I/O) until true; fail after the deadline. No sleeping."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0)  # yield only: each check is a real request or a /proc read


@pytest.fixture
async def supervisor(pooled_database_url: str, tmp_path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`webapp serve --workers 2` on a free port; stopped (and checked gone) afterwards."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webapp", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
        env=worker_env(pooled_database_url), cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:

        async def up() -> bool:
            return len(children_of(proc.pid)) == 2 and await _ok(http, f"{base}/healthz")

        await until(up, "two site processes answering")
    try:
        yield proc, base
    finally:
        if proc.returncode is None:
            for child in children_of(proc.pid):
                os.kill(child, signal.SIGKILL)
            proc.kill()
            await proc.wait()


async def test_children_exit_when_the_supervisor_is_killed_outright(supervisor) -> None:  # type: ignore[no-untyped-def]
    proc, _base = supervisor
    children = children_of(proc.pid)
    proc.kill()
    await proc.wait()

    async def orphans_gone() -> bool:
        return all(_state(pid) != "alive" for pid in children)

    await until(orphans_gone, "the site processes to follow their supervisor")


async def _ok(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url) as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


async def test_two_processes_serve_one_port_and_a_dead_one_is_replaced(supervisor) -> None:  # type: ignore[no-untyped-def]
    proc, base = supervisor
    first = children_of(proc.pid)
    assert len(first) == 2
    async with aiohttp.ClientSession() as http:
        assert all(await asyncio.gather(*(_ok(http, f"{base}/healthz") for _ in range(20))))
        victim = min(first)
        os.kill(victim, signal.SIGKILL)

        async def replaced() -> bool:
            now = children_of(proc.pid)
            return len(now) == 2 and victim not in now and await _ok(http, f"{base}/healthz")

        await until(replaced, "the killed process to be replaced")


async def test_sigterm_stops_every_process_and_exits_0(supervisor) -> None:  # type: ignore[no-untyped-def]
    proc, _base = supervisor
    children = children_of(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), timeout=20) == 0
    assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) for pid in children)


def _state(pid: int) -> str:
    try:
        return "zombie" if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z" else "alive"
    except OSError:
        return "gone"
