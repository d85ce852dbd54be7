"""Child processes on loopback: free ports, start, wait until they answer, peak memory, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """One child process, its log file and the URL it serves (if any)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def peak_rss_kib(self) -> int | None:
        """VmHWM of the child (peak resident set), in KiB; None once it has exited."""
        return peak_rss_kib(self.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_python(name: str, args: list[str], env: dict[str, str], log_dir: Path, url: str = "") -> Child:
    """Run `python <args>` from the repository root with `env`, its output going to a log file."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    return Child(name, process, log, url)


async def wait_until_up(child: Child, path: str = "/", timeout: float = 30.0) -> None:
    """Poll `child.url + path` until it answers any HTTP status; fail with the log if the child dies."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{tail(child.log)}")
            try:
                async with http.get(child.url + path, allow_redirects=False):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} did not answer within {timeout:.0f}s:\n{tail(child.log)}")


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM from /proc/<pid>/status, in KiB; None when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def own_peak_rss_kib() -> int:
    """Peak resident set of this process: VmHWM, not ru_maxrss, which a child inherits across fork and exec."""
    return peak_rss_kib(os.getpid()) or 0


def children_of(pid: int) -> list[int]:
    """Direct children of a process, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def base_env(**extra: str) -> dict[str, str]:
    """The runner's environment without anything that would reconfigure the children, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "DATABASE_URL", "PUBLIC_URL"))}
    env.pop("SECRET_KEY", None)
    env.pop("TOKEN_KEYS", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra
