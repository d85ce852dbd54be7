"""Running `python -m webapp …` as a child process, the way an operator runs it."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Result:
    """Exit status and output of one command."""

    status: int
    out: str
    err: str


def command_env(database_url: str, **extra: str) -> dict[str, str]:
    """The inherited environment minus the site's configuration, plus DATABASE_URL and `extra`."""
    prefixes = ("WECHAT_", "DATABASE_", "TOKEN_KEYS", "SECRET_KEY", "PUBLIC_URL", "TRUSTED_PROXIES")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return env | {"DATABASE_URL": database_url} | extra


async def webapp(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> Result:
    """Run `python -m webapp ARGS` to completion."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webapp", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    return Result(proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
