"""Child processes for the deployment tests: started, awaited on a log line with a deadline, always stopped."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

DEADLINE_S = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Child:
    """A running child process whose merged output is collected line by line."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name, self.proc = name, proc
        self.lines: list[str] = []
        self._new_line = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            async with self._new_line:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._new_line.notify_all()
        async with self._new_line:
            self._new_line.notify_all()

    @property
    def output(self) -> str:
        """Everything the child printed so far."""
        return "\n".join(self.lines)

    async def wait_for_line(self, pattern: str, timeout: float = DEADLINE_S, *, count: int = 1) -> str:
        """The `count`th line matching `pattern`; fails if the child exits or the deadline passes first."""
        regex = re.compile(pattern)

        async def seen() -> str:
            async with self._new_line:
                while True:
                    matching = [line for line in self.lines if regex.search(line)]
                    if len(matching) >= count:
                        return matching[count - 1]
                    if self._reader.done():
                        raise AssertionError(f"{self.name} exited ({self.proc.returncode}):\n{self.output}")
                    await self._new_line.wait()

        try:
            return await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name}: no line matching {pattern!r} within {timeout}s:\n{self.output}") from None

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the child and wait for it (killed if it outlives `timeout`)."""
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._reader
        return self.proc.returncode or 0


@asynccontextmanager
async def running(
    name: str, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
    ready: str | None = None, stop_signal: int = signal.SIGTERM,
) -> AsyncIterator[Child]:
    """Start `argv`, wait for a line matching `ready`, stop it on the way out whatever happened."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    child = Child(name, proc)
    try:
        if ready is not None:
            await child.wait_for_line(ready)
        yield child
    except BaseException:
        await child.stop(stop_signal)
        print(f"--- output of {name} ---\n{child.output}")  # shown by pytest with the failure
        raise
    else:
        await child.stop(stop_signal)


async def wait_for_exit(child: Child, timeout: float = DEADLINE_S) -> int:
    """The exit status of a child that is expected to finish on its own."""
    await asyncio.wait_for(child.proc.wait(), timeout)
    await child._reader
    return child.proc.returncode or 0
