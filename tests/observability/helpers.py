"""Reading /metrics like Prometheus does, and running `webapp serve` as a real child process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SERVE_KEY = Fernet.generate_key().decode()


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent, as for a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: TestClient, **headers: str) -> Samples:
    """GET /metrics on the site and parse it."""
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    return parse(await response.text())


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(database_url: str, **extra: str) -> dict[str, str]:
    """The inherited environment minus the site's own variables, plus a safe production configuration."""
    ours = (
        "WECHAT_",
        "DATABASE_URL",
        "TOKEN_KEYS",
        "SECRET_KEY",
        "PROMETHEUS_MULTIPROC_DIR",
        "LOG_FORMAT",
        "TRUSTED_PROXIES",
        "METRICS_ALLOW",
        "PUBLIC_URL",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "observability-test-secret-key-0123456789abcdef",
        "TOKEN_KEYS": SERVE_KEY,
        "PUBLIC_URL": "http://localhost:8080",
        "LOG_FORMAT": "json",
    }
    return env | extra


@dataclass
class Served:
    """A `webapp serve` child process; `lines` is what it wrote on stderr so far."""

    proc: asyncio.subprocess.Process
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL of the child's site."""
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> tuple[list[str], str]:
        """SIGTERM, then every stderr line and the stdout it wrote."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(self.proc.communicate(), timeout=60)
        self.lines += err.decode("utf-8", "replace").splitlines()
        return self.lines, out.decode("utf-8", "replace")


async def start_serve(env: dict[str, str], cwd: Path, *args: str) -> Served:
    """`python -m webapp serve` on a free loopback port, returned once it says it is listening."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "webapp",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-worker",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    served = Served(proc, port)
    assert proc.stderr is not None
    while True:  # the banner is the readiness signal: each readline waits for the child's next line
        line = await asyncio.wait_for(proc.stderr.readline(), timeout=60)
        if not line:
            lines, out = await served.stop()
            raise AssertionError("webapp serve exited early:\n" + "\n".join(lines) + out)
        served.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
        if b"Running on" in line:
            return served


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """Each line parsed as one JSON object (fails on the first line that is not)."""
    import json

    parsed = []
    for line in lines:
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        parsed.append(entry)
    return parsed
