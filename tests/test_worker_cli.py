"""The worker as run by operators: `webapp worker --once`, the maintenance pass, and the in-process task."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from webapp.app import create_app
from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.db import Database
from webapp.models import OAuthState, User, WeChatIdentity
from webapp.settings import Settings, WeChatAppConfig, to_asyncpg_url
from webapp.wechat.client import WeChatClient
from webapp.wechat.worker import maintenance_pass

from .wechat.client_fixtures import *
from .wechat.client_fixtures import SITE, SimRef

TOKEN_KEY = Fernet.generate_key().decode()
CIPHER = TokenCipher([TOKEN_KEY])
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def committed(database_url: str) -> AsyncIterator[Sessions]:
    """Sessions whose commits are real (another process must see them); this test's users are deleted after."""
    engine = create_async_engine(to_asyncpg_url(database_url))
    sm = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield sm
    finally:
        async with sm.begin() as s:
            await s.execute(delete(User).where(User.username.like("worker-cli-%")))
        await engine.dispose()


async def add_due_identity(sm: Sessions, sim: SimRef, client: WeChatClient, *, name: str) -> tuple[int, str]:
    """A website-app identity with real simulator tokens, due now by the wall clock; returns (id, access_token)."""
    token = await client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    now = utcnow()
    async with sm.begin() as s:
        user = User(username=name, username_key=name, display_name=name, created_at=now, updated_at=now)
        s.add(user)
        await s.flush()
        identity = WeChatIdentity(
            user_id=user.id, appid=SITE.appid, app_kind=SITE.kind, openid=token.openid, nickname="", avatar_url="",
            scope=token.scope, status="active", access_token_enc=CIPHER.encrypt(token.access_token),
            refresh_token_enc=CIPHER.encrypt(token.refresh_token), access_expires_at=now + timedelta(minutes=5),
            refresh_expires_at=now + timedelta(days=30), created_at=now, updated_at=now,
            refresh_due_at=now - timedelta(minutes=10),
        )
        s.add(identity)
        await s.flush()
        return identity.id, token.access_token


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `python -m webapp ARGS` in a child process; return its exit status and combined output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webapp", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode("utf-8", "replace")


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    """The inherited environment minus anything configuring the site, plus a safe production configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "DATABASE_URL", "TOKEN_KEYS"))}
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "worker-cli-test-secret-key-0123456789abcdef",
        "TOKEN_KEYS": TOKEN_KEY,
        "PUBLIC_URL": "https://www.example.com",
    }
    return env | extra


async def test_worker_once_refreshes_what_is_due_and_exits_0(
    sim: SimRef, wechat_client: WeChatClient, committed: Sessions, database_url: str, tmp_path: Path
) -> None:
    identity, access_token = await add_due_identity(committed, sim, wechat_client, name="worker-cli-alice")
    env = worker_env(
        database_url, WECHAT_WEB_APPID=SITE.appid, WECHAT_WEB_SECRET=SITE.secret, WECHAT_API_BASE=sim.url
    )

    status, output = await run_cli("worker", "--once", env=env, cwd=tmp_path)

    assert status == 0, output
    assert "claimed=1 refreshed=1 reauth_required=0 failed=0" in output
    assert access_token not in output and TOKEN_KEY not in output
    async with committed() as s:
        row = await s.get(WeChatIdentity, identity)
    assert row is not None and row.refresh_due_at == row.access_expires_at - timedelta(minutes=15)
    assert row.access_expires_at is not None and row.access_expires_at > utcnow() + timedelta(hours=1)
    assert row.nickname == "张伟"
    assert len(await sim.calls("/sns/oauth2/refresh_token")) == 1


async def test_worker_once_without_wechat_apps_still_exits_0(database_url: str, tmp_path: Path) -> None:
    status, output = await run_cli("worker", "--once", env=worker_env(database_url), cwd=tmp_path)
    assert status == 0, output
    assert "no WeChat app is configured" in output


async def test_worker_refuses_an_unsafe_configuration(database_url: str, tmp_path: Path) -> None:
    status, output = await run_cli("worker", "--once", env=worker_env(database_url, TOKEN_KEYS="nope"), cwd=tmp_path)
    assert status == 2
    assert "Refusing to start" in output and "TOKEN_KEYS" in output


async def test_worker_once_exits_1_when_the_database_is_unreachable(tmp_path: Path) -> None:
    env = worker_env("postgresql://webapp:db-password-42@127.0.0.1:1/webapp")
    status, output = await run_cli("worker", "--once", env=env, cwd=tmp_path)
    assert status == 1, output
    assert "the worker pass failed" in output
    assert "db-password-42" not in output


async def started_worker(*args: str, env: dict[str, str], cwd: Path) -> tuple[asyncio.subprocess.Process, list[str]]:
    """`webapp worker ARGS` as a child, returned once it says it started (its lines so far with it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webapp", "worker", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    while not any("worker started" in line for line in seen):
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if not line:
            proc.kill()
            raise AssertionError("".join(seen))
        seen.append(line.decode())
    return proc, seen


async def test_worker_loop_stops_cleanly_on_sigterm(database_url: str, tmp_path: Path) -> None:
    proc, seen = await started_worker(env=worker_env(database_url), cwd=tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, "".join(seen) + rest.decode()
    assert "worker stopped" in rest.decode()


async def test_a_worker_alone_can_be_scraped_for_metrics(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc, _seen = await started_worker("--metrics-port", str(port), env=worker_env(database_url), cwd=tmp_path)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            body = await resp.text()
        assert resp.status == 200 and "webapp_refresh_oldest_overdue_seconds" in body, body[:500]
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0


async def test_maintenance_pass_refreshes_and_purges(
    sim: SimRef, wechat_client: WeChatClient, sessionmaker: Sessions
) -> None:
    now = sim.now()
    async with sessionmaker.begin() as s:
        s.add(OAuthState(
            state="expiredstate1", purpose="login", flow="qr", appid=SITE.appid, next_path="/", browser_hash="0" * 64,
            created_at=now - timedelta(minutes=20), expires_at=now - timedelta(minutes=10),
        ))
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 2, "snsapi_login"))
    async with sessionmaker.begin() as s:
        user = User(username="pass", username_key="pass", display_name="", created_at=now, updated_at=now)
        s.add(user)
        await s.flush()
        s.add(WeChatIdentity(
            user_id=user.id, appid=SITE.appid, app_kind=SITE.kind, openid=token.openid, nickname="", avatar_url="",
            scope=token.scope, status="active", access_token_enc=CIPHER.encrypt(token.access_token),
            refresh_token_enc=CIPHER.encrypt(token.refresh_token), access_expires_at=token.access_expires_at,
            refresh_expires_at=now + timedelta(days=30), created_at=now, updated_at=now,
            refresh_due_at=token.access_expires_at - timedelta(minutes=15),
        ))
    await sim.advance(7000)

    report = await maintenance_pass(
        Database.joined_to(sessionmaker), wechat_client, CIPHER, {SITE.appid: SITE}, clock=sim.now
    )

    assert (report.claimed, report.refreshed) == (1, 1)
    async with sessionmaker() as s:
        assert await s.get(OAuthState, "expiredstate1") is None


async def test_serve_runs_the_background_task_only_with_run_worker(
    aiohttp_client, settings: Settings, committed: Sessions  # type: ignore[no-untyped-def]
) -> None:
    def background_tasks() -> list[asyncio.Task[object]]:
        return [t for t in asyncio.all_tasks() if t.get_name() == "webapp-background"]

    quiet: TestClient = await aiohttp_client(create_app(settings, sessionmaker=committed))
    assert background_tasks() == []
    await quiet.close()

    with_worker = settings.with_(run_worker=True, wechat_web=WeChatAppConfig(SITE.appid, SITE.secret))
    client: TestClient = await aiohttp_client(create_app(with_worker, sessionmaker=committed))
    [task] = background_tasks()
    await client.close()
    assert task.done()
