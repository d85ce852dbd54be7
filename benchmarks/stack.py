"""The processes under measurement: the simulator, the site (`webapp serve --no-worker`), the bare baseline."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.database import asyncpg_dsn
from benchmarks.processes import REPO_ROOT, Child, base_env, free_port, start_python, wait_until_up
from webapp.wechat_sim import fixture


@dataclass(frozen=True)
class Secrets:
    """The site's secrets for this run only."""

    secret_key: str
    token_key: str

    @classmethod
    def fresh(cls) -> Secrets:
        """New random secrets."""
        return cls(secrets.token_urlsafe(48), Fernet.generate_key().decode())


async def started(child: Child, path: str, timeout: float = 30.0) -> Child:
    """Wait until `child` answers on `path`; stop it if that fails or is interrupted, so it never outlives us."""
    try:
        await wait_until_up(child, path, timeout)
    except BaseException:
        child.stop()
        raise
    return child


def write_fixture(path: Path, users: int) -> Path:
    """The simulator's default apps with `users` test users (ids 1..users), as WECHAT_SIM_FIXTURE JSON."""
    apps = [{"appid": a.appid, "secret": a.secret, "kind": a.kind, "name": a.name, "bound": a.bound,
             "callback_hosts": list(a.callback_hosts)} for a in fixture.default_fixture().apps]
    data = {"apps": apps, "users": [{"id": i, "nickname": f"bench{i}"} for i in range(1, users + 1)]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def site_env(database_url: str, sim_url: str, site_url: str, keys: Secrets) -> dict[str, str]:
    """The environment `webapp serve` and `webapp worker` need, pointed at the simulator.

    Anything else set in the runner's environment (DATABASE_POOL_SIZE, LOG_FORMAT, ...) reaches the site as is.
    """
    return base_env(
        DATABASE_URL=database_url, SECRET_KEY=keys.secret_key, TOKEN_KEYS=keys.token_key, PUBLIC_URL=site_url,
        WECHAT_WEB_APPID=fixture.WEBSITE_APPID, WECHAT_WEB_SECRET=fixture.WEBSITE_SECRET,
        WECHAT_MP_APPID=fixture.MP_APPID, WECHAT_MP_SECRET=fixture.MP_SECRET,
        WECHAT_MINI_APPID=fixture.MINI_APPID, WECHAT_MINI_SECRET=fixture.MINI_SECRET,
        WECHAT_OPEN_BASE=sim_url, WECHAT_API_BASE=sim_url,
        WECHAT_JS_URL=f"{sim_url}/connect/zh_CN/htmledition/js/wxLogin.js",
    )


async def start_simulator(fixture_path: Path, log_dir: Path) -> Child:
    """`webapp simulator` on a free loopback port, with the benchmark's fixture."""
    port = free_port()
    env = base_env(WECHAT_SIM_FIXTURE=str(fixture_path))
    child = start_python("simulator", ["-m", "webapp", "simulator", "--host", "127.0.0.1", "--port", str(port)],
                         env, log_dir, url=f"http://127.0.0.1:{port}")
    return await started(child, "/_sim/api/stats", timeout=60.0)


async def start_site(database_url: str, sim_url: str, keys: Secrets, log_dir: Path, *, name: str = "site",
                     workers: int | None = None) -> Child:
    """`webapp serve --no-worker [--workers N]` on a free loopback port, reached as http://localhost:<port>."""
    port = free_port()
    site_url = f"http://localhost:{port}"
    env = site_env(database_url, sim_url, site_url, keys)
    args = ["-m", "webapp", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
    child = start_python(name, args + (["--workers", str(workers)] if workers else []), env, log_dir, url=site_url)
    return await started(child, "/healthz", timeout=60.0)


def serve_has_workers_flag() -> bool:
    """Whether this checkout's `webapp serve` accepts --workers (the contract has it; a checkout may not yet)."""
    out = subprocess.run([sys.executable, "-m", "webapp", "serve", "--help"], capture_output=True, text=True,
                         env=base_env(), timeout=60, check=False, cwd=REPO_ROOT)
    return "--workers" in out.stdout


async def start_bare(body: object, log_dir: Path, *, database_url: str | None = None) -> Child:
    """The bare aiohttp baseline answering `body` on GET /api/me; with `database_url`, after the session query."""
    port = free_port()
    env = base_env(BENCH_BODY=json.dumps(body)) | ({"BENCH_DATABASE_URL": asyncpg_dsn(database_url)} if database_url else {})
    name = "bare+query" if database_url else "bare"
    child = start_python(name, ["-m", "benchmarks.bare_server", str(port)], env, log_dir, url=f"http://127.0.0.1:{port}")
    return await started(child, "/api/me")
