"""Child processes on loopback: free ports, start, wait until they answer, their process tree, memory, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
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
    """One child process (the root of its own process group), its log file and the URL it serves (if any)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""
    # VmHWM of every process of the tree, read just before it was stopped (the runner reports it later).
    final_peaks_kib: dict[int, int] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def tree(self) -> list[int]:
        """The child and all its descendants (a multi-process server's workers)."""
        return [self.pid, *descendants(self.pid)]

    def peaks_kib(self) -> dict[int, int]:
        """VmHWM of every live process of the tree; once stopped, what was read just before."""
        live = {pid: kib for pid in self.tree() if (kib := peak_rss_kib(pid)) is not None}
        return live or self.final_peaks_kib

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL to the whole process group if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.final_peaks_kib = self.peaks_kib()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(self.pid)
            self.process.wait()
        _kill_group(self.pid)  # a worker that outlived its parent


def _kill_group(pgid: int) -> None:
    """SIGKILL what is left of the process group the child leads."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def start_python(name: str, args: list[str], env: dict[str, str], log_dir: Path, url: str = "",
                 *, python: str = sys.executable, cwd: Path = REPO_ROOT) -> Child:
    """Run `python <args>` in its own process group with `env`, its output going to a log file.

    `python` is an interpreter, never a wrapper such as `uv run`: the child's pid is the measured process.
    """
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([python, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=out, start_new_session=True)
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


def _status_kib(pid: int, key: str) -> int | None:
    """A `kB` line of /proc/<pid>/status; None when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return None


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM (peak resident set) from /proc/<pid>/status, in KiB."""
    return _status_kib(pid, "VmHWM:")


def rss_kib(pid: int) -> int | None:
    """VmRSS (resident set now) from /proc/<pid>/status, in KiB."""
    return _status_kib(pid, "VmRSS:")


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


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, breadth first."""
    found, queue = [], children_of(pid)
    while queue:
        found.append(queue.pop(0))
        queue += children_of(found[-1])
    return found


def base_env(**extra: str) -> dict[str, str]:
    """The runner's environment without anything that would reconfigure the children, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "DATABASE_URL", "PUBLIC_URL"))}
    for name in ("SECRET_KEY", "TOKEN_KEYS", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"):
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra
