"""The async peer: FastAPI + Authlib + SQLAlchemy asyncio, uvicorn with one process, and its QR login round.

It runs on the runner's own interpreter, from the project's `bench` dependency group
(`uv run --group bench python benchmarks/run.py`); without that group the phase is skipped, and says so.
The same simulator, PostgreSQL server (its own database), load driver and round as the site and the Django
peer: /auth/wechat/start → WeChat's QR page → scan and confirm → /auth/wechat/callback → /api/me.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import secrets
from functools import partial
from typing import Any

import aiohttp
from yarl import URL

from benchmarks.bench import Bench
from benchmarks.browser import FlowError, location, read_me, scan_qr
from benchmarks.peer import create_database, verify_peer
from benchmarks.processes import Child, base_env, free_port, start_python
from benchmarks.stack import started
from benchmarks.web_phases import measure_rounds
from webapp.wechat_sim import fixture

GROUP_MODULES = ("fastapi", "authlib", "uvicorn", "itsdangerous", "httpx")
DISTRIBUTIONS = ("fastapi", "starlette", "authlib", "httpx", "sqlalchemy", "asyncpg", "uvicorn", "uvloop",
                 "httptools", "pydantic")
NAME = "async peer"
ME = "/api/me"
NOT_INSTALLED = ("the `bench` dependency group is not installed (missing: {}): run "
                 "`uv run --group bench python benchmarks/run.py` to measure the async peer")


def missing_modules() -> list[str]:
    """The `bench` group's modules this interpreter cannot import."""
    return [name for name in GROUP_MODULES if importlib.util.find_spec(name) is None]


def installed_versions() -> dict[str, str]:
    """Versions of the peer's main distributions, for the JSON."""
    versions = {}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


async def start_async_peer(b: Bench, sim_url: str) -> Child:
    """Its own database on the run's server, then uvicorn (one process, access log on) on a free port."""
    env = base_env(
        PEER_DATABASE_URL=await create_database(b.db.url, "async_peer"), PEER_SECRET_KEY=secrets.token_urlsafe(48),
        PEER_WECHAT_APPID=fixture.WEBSITE_APPID, PEER_WECHAT_SECRET=fixture.WEBSITE_SECRET,
        PEER_WECHAT_OPEN_BASE=sim_url, PEER_WECHAT_API_BASE=sim_url,
    )
    port = free_port()
    args = ["-m", "uvicorn", "benchmarks.fastapi_peer.app:app", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--no-server-header"]
    child = start_python(NAME, args, env, b.work, url=f"http://localhost:{port}")
    return await started(child, ME, timeout=60.0)


async def async_peer_login(browser: aiohttp.ClientSession, user: int, *, peer: str, sim: str) -> None:
    """/auth/wechat/start → qrconnect → scan → confirm → /auth/wechat/callback → /api/me, checked."""
    qrconnect = await location(browser, f"{peer}/auth/wechat/start?next={ME}", "GET /auth/wechat/start")
    callback = await scan_qr(browser, sim, qrconnect, user)
    landing = await location(browser, callback, "GET /auth/wechat/callback")
    if URL(landing).path != ME:
        raise FlowError(f"/auth/wechat/callback sent user {user} to {landing}, wanted {ME}")
    await read_me(browser, peer + ME, appid=fixture.WEBSITE_APPID, user=user, uid_key="openid")


async def async_peer_figures(b: Bench, sim_url: str) -> dict[str, Any]:
    """The peer's first logins of its cohort (new users), then returning-user logins for the phase duration."""
    if missing := missing_modules():
        return {"skipped": NOT_INSTALLED.format(", ".join(missing))}
    peer = b.add(await start_async_peer(b, sim_url))
    try:
        users = b.people.cohort[: b.config.peer_users]
        one_round = partial(async_peer_login, peer=peer.url, sim=sim_url)
        await verify_peer(peer.url, sim_url, users[0], login=async_peer_login)
        conc = b.config.concurrency
        new = await b.timed(f"async peer: QR logins of {len(users) - 1:,} new users", measure_rounds(
            one_round, users[1:], concurrency=conc, duration_s=3600.0, max_ops=len(users) - 1), server=NAME)
        returning = await b.timed("async peer: QR logins of returning users", measure_rounds(
            one_round, users, concurrency=conc, duration_s=b.config.duration_s), server=NAME)
        return {"versions": installed_versions(), "server": "uvicorn, 1 process",
                "qr_login": {"new": new, "returning": returning}}
    finally:
        peer.stop()
