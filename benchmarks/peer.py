"""The Django peer: its own virtualenv, its own database, gunicorn sync workers, and its QR login round trip.

The same simulator, the same load driver and the same round as the site: start (/login/weixin/) → WeChat's
QR page → scan and confirm → callback (/complete/weixin/: code exchange and /sns/userinfo) → a JSON "me".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from yarl import URL

from benchmarks.bench import Bench, progress
from benchmarks.browser import FlowError, expect, location, read_me, scan_qr
from benchmarks.database import asyncpg_dsn
from benchmarks.processes import Child, base_env, free_port, start_python
from benchmarks.stack import started
from benchmarks.web_phases import measure_rounds
from webapp.wechat_sim import fixture, ids

REQUIREMENTS = ("django==5.2.*", "social-auth-app-django", "gunicorn", "psycopg[binary]")
DISTRIBUTIONS = ("django", "social-auth-app-django", "social-auth-core", "gunicorn", "psycopg")
GUNICORN_WORKERS = 5
PEER_DIR = Path(__file__).resolve().parent / "peer"
ME = "/me/"
CSRF_SECRET_LENGTH = 32  # django.middleware.csrf.CSRF_SECRET_LENGTH


class PeerLogin(Protocol):
    """One QR login round of a peer, checked."""

    def __call__(self, browser: aiohttp.ClientSession, user: int, *, peer: str, sim: str) -> Awaitable[None]: ...


def cache_dir() -> Path:
    """Where the peer's virtualenv is kept between runs."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "webapp-benchmarks"


def peer_python() -> Path:
    """The interpreter of the peer's virtualenv, created (with `uv`) and filled on first use."""
    key = hashlib.sha256(f"{sys.version}|{'|'.join(REQUIREMENTS)}".encode()).hexdigest()[:12]
    venv = cache_dir() / f"peer-venv-{key}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("`uv` is not on PATH: it creates the peer's virtualenv")
    progress(f"creating the peer's virtualenv in {venv} ({', '.join(REQUIREMENTS)}) ...")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *REQUIREMENTS], check=True)
    (venv / ".complete").write_text("\n".join(REQUIREMENTS) + "\n")
    return python


def installed_versions(python: Path) -> dict[str, str]:
    """Versions of the peer's main distributions, for the JSON."""
    code = f"import importlib.metadata as m, json; print(json.dumps({{d: m.version(d) for d in {DISTRIBUTIONS!r}}}))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


async def create_database(url: str, name: str) -> str:
    """CREATE DATABASE `name` on the run's server; return its URL."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(asyncpg_dsn(url))._replace(path=f"/{name}"))


def peer_env(database_url: str, sim_url: str) -> dict[str, str]:
    """The peer's configuration: its database, a fresh secret, the website app on the simulator."""
    return base_env(
        DJANGO_SETTINGS_MODULE="peersite.settings", PYTHONPATH=str(PEER_DIR), PEER_DATABASE_URL=database_url,
        PEER_SECRET_KEY=secrets.token_urlsafe(48), PEER_WECHAT_APPID=fixture.WEBSITE_APPID,
        PEER_WECHAT_SECRET=fixture.WEBSITE_SECRET, PEER_WECHAT_OPEN_BASE=sim_url, PEER_WECHAT_API_BASE=sim_url,
    )


async def start_peer(b: Bench, python: Path, sim_url: str) -> Child:
    """Migrate the peer's database, then gunicorn with sync workers on a free loopback port."""
    env = peer_env(await create_database(b.db.url, "peer"), sim_url)
    progress("migrating the peer's database ...")
    migrate = await asyncio.create_subprocess_exec(str(python), "-m", "django", "migrate", "--noinput", cwd=PEER_DIR,
                                                   env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await migrate.communicate()
    finally:
        if migrate.returncode is None:  # interrupted
            migrate.kill()
    if migrate.returncode:
        raise RuntimeError(f"the peer's migrate failed:\n{output.decode(errors='replace')[-3000:]}")
    port = free_port()
    args = ["-m", "gunicorn", "--workers", str(GUNICORN_WORKERS), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "peersite.wsgi:application"]
    child = start_python("peer", args, env, b.work, url=f"http://localhost:{port}", python=str(python), cwd=PEER_DIR)
    return await started(child, ME, timeout=60.0)


async def begin(browser: aiohttp.ClientSession, peer: str) -> str:
    """POST /login/weixin/ as the login page's form does (social-auth-app-django 8 begins on POST with CSRF).

    The browser is taken to have loaded the login page before (the site's round does not load one either),
    so it holds a CSRF cookie: we make its secret up, since Django only checks that the form's token matches it.
    """
    token = ids.alnum(CSRF_SECRET_LENGTH)
    browser.cookie_jar.update_cookies({"csrftoken": token}, response_url=URL(peer))
    form = {"csrfmiddlewaretoken": token, "next": ME}
    async with browser.post(f"{peer}/login/weixin/", data=form, allow_redirects=False) as resp:
        await expect(resp, 302, "POST /login/weixin/")
        return resp.headers["Location"]


async def peer_login(browser: aiohttp.ClientSession, user: int, *, peer: str, sim: str) -> None:
    """/login/weixin/ → qrconnect → scan → confirm → /complete/weixin/ → /me/, checked like the site's round."""
    qrconnect = await begin(browser, peer)
    callback = await scan_qr(browser, sim, qrconnect, user)
    landing = await location(browser, callback, "GET /complete/weixin/")
    if URL(landing).path != ME:
        raise FlowError(f"/complete/weixin/ sent user {user} to {landing}, wanted {ME}")
    await read_me(browser, peer + ME, appid=fixture.WEBSITE_APPID, user=user, uid_key="openid")


async def verify_peer(peer: str, sim: str, user: int, *, login: PeerLogin | None = None) -> None:
    """One login (`login`, the Django peer's by default), and proof that it went through the simulator.

    The simulator's call log must show a successful code exchange and a /sns/userinfo call.
    """
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.delete(f"{sim}/_sim/api/calls") as resp:
            await expect(resp, 200, "DELETE /_sim/api/calls")
        await (login or peer_login)(http, user, peer=peer, sim=sim)
        async with http.get(f"{sim}/_sim/api/calls") as resp:
            calls = [(c["path"], c.get("errcode")) for c in await resp.json()]
    for path in ("/sns/oauth2/access_token", "/sns/userinfo"):
        if (path, None) not in calls and (path, 0) not in calls:
            raise FlowError(f"the peer logged in without a successful {path} call on the simulator: {calls}")


async def peer_figures(b: Bench, sim_url: str) -> dict[str, Any]:
    """The peer's first logins of its cohort (new users), then returning-user logins for the phase duration."""
    python = peer_python()
    peer = b.add(await start_peer(b, python, sim_url))
    try:
        users = b.people.cohort[: b.config.peer_users]
        await verify_peer(peer.url, sim_url, users[0])
        one_round = partial(peer_login, peer=peer.url, sim=sim_url)
        conc = b.config.concurrency
        new = await b.timed(f"peer: QR logins of {len(users) - 1:,} new users", measure_rounds(
            one_round, users[1:], concurrency=conc, duration_s=3600.0, max_ops=len(users) - 1), server="peer")
        returning = await b.timed("peer: QR logins of returning users", measure_rounds(
            one_round, users, concurrency=conc, duration_s=b.config.duration_s), server="peer")
        return {"versions": installed_versions(python), "gunicorn_workers": GUNICORN_WORKERS,
                "qr_login": {"new": new, "returning": returning}}
    finally:
        peer.stop()
