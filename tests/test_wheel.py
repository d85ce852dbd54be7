"""The built wheel stands on its own: installed into a fresh venv, it migrates a PostgreSQL and serves /login.

Nothing of the checkout is reachable from the installed site (it runs in an empty directory), so every
template, static file, migration and catalogue it uses came out of the wheel. The venv gets exactly the
locked versions of the dependencies, from uv's cache when they are there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import TOKEN_KEY, Postgres
from tests.ops.processes import free_port, running

REPO = Path(__file__).resolve().parents[1]
UV = shutil.which("uv") or "uv"  # the README's commands need it: `uv run pytest` found it


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to completion; its output, or a failure that shows it."""
    done = subprocess.run([str(a) for a in argv], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the wheel `uv build` makes of this checkout (and the locked dependencies); its bin/."""
    root = tmp_path_factory.mktemp("wheel")
    run(UV, "build", "--wheel", "--out-dir", root / "dist", REPO, cwd=root)
    wheel = next((root / "dist").glob("webapp-*.whl"))
    requirements = root / "requirements.txt"
    requirements.write_text(run(UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", cwd=REPO))
    run(UV, "venv", "--python", sys.executable, root / "venv", cwd=root)
    python = root / "venv" / "bin" / "python"
    run(UV, "pip", "install", "--python", python, "--no-deps", "-r", requirements, cwd=root)
    run(UV, "pip", "install", "--python", python, "--no-deps", wheel, cwd=root)
    return root / "venv" / "bin"


@pytest.fixture(scope="module")
def empty_database_url(postgres: Postgres) -> str:
    """A database of its own, never migrated: the installed wheel's `webapp migrate` does it."""
    return postgres.database_url("webapp_wheel")


async def test_the_installed_wheel_migrates_and_serves_login(
    installed: Path, empty_database_url: str, tmp_path: Path
) -> None:
    database_url = empty_database_url
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {
        "DATABASE_URL": database_url, "SECRET_KEY": "wheel-test-secret-key-0123456789-abcdefghijkl",
        "TOKEN_KEYS": TOKEN_KEY, "PUBLIC_URL": "http://localhost:8080",
    }
    await asyncio.to_thread(run, installed / "webapp", "migrate", cwd=tmp_path, env=env)
    where = await asyncio.to_thread(
        run, installed / "python", "-c", "import webapp.settings as s; print(s.RESOURCES)", cwd=tmp_path, env=env
    )
    assert Path(where.strip()).is_relative_to(installed.parent)  # inside the venv, not this checkout

    port = free_port()
    argv = [str(installed / "webapp"), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
    ready = rf"127\.0\.0\.1:{port}"
    async with running("installed site", argv, env=env, cwd=tmp_path, ready=ready), aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/login") as resp:
            page = await resp.text()
            assert resp.status == 200, page
        assert 'name="password"' in page and "/static/css/site.css" in page
        async with http.get(f"http://127.0.0.1:{port}/static/css/site.css") as resp:
            assert resp.status == 200
            assert await resp.read() == (REPO / "static" / "css" / "site.css").read_bytes()


def test_without_pgserver_webapp_dev_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from webapp import devserver

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "pgserver", None)  # what a production install without the extra has
    with pytest.raises(SystemExit) as exit_:
        devserver.embedded_database_url()
    assert exit_.value.code == devserver.NO_PGSERVER
    assert "uv sync" in devserver.NO_PGSERVER and "webapp[embedded-db]" in devserver.NO_PGSERVER
