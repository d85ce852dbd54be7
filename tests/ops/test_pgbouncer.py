"""The site, its migrations and the worker behind PgBouncer in transaction pooling mode.

Real pgbouncer (pool_mode = transaction) in front of the test PostgreSQL; everything the product
runs talks to pgbouncer only, with DATABASE_POOL_MODE=transaction. pgbouncer's own admin console
proves the traffic went through it and used more than one server connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.conftest import Postgres
from tests.wechat.harness import Browser, Sim
from webapp.clock import utcnow
from webapp.models import WeChatIdentity
from webapp.settings import to_asyncpg_url

from .cli import webapp
from .pgbouncer import PGBOUNCER, READY, Bouncer, configure
from .processes import free_port, running
from .site import Origin, serving, site_env

pytestmark = pytest.mark.skipif(not PGBOUNCER.exists(), reason="Debian's pgbouncer is not installed (apt-get install pgbouncer)")
DATABASE = "webapp_bouncer"
PASSWORD = "correct horse battery"


async def fresh_database(postgres: Postgres, name: str) -> str:
    """An empty database `name` (dropped first if a previous run left it); returns its direct URL."""
    engine = create_async_engine(to_asyncpg_url(postgres.url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return urlunsplit(urlsplit(postgres.url)._replace(path=f"/{name}"))


@pytest.fixture
async def bouncer(postgres: Postgres) -> AsyncIterator[tuple[Bouncer, str]]:
    """pgbouncer running in front of a fresh database; yields it and the database's direct URL."""
    direct = await fresh_database(postgres, DATABASE)
    config = configure(postgres.url, DATABASE)
    async with running("pgbouncer", config.argv, ready=READY):
        yield config, direct


async def test_migrate_site_and_worker_through_pgbouncer_in_transaction_mode(
    bouncer: tuple[Bouncer, str], sim_server: Sim, tmp_path: Path
) -> None:
    pgb, direct = bouncer
    port = free_port()
    env = site_env(pgb.url, sim_url=sim_server.url, public_url=f"http://localhost:{port}", DATABASE_POOL_MODE="transaction")

    migrated = await webapp("migrate", env=env, cwd=tmp_path)
    assert migrated.status == 0, migrated.out + migrated.err

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serving([port], env, tmp_path))
        http = await stack.enter_async_context(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
        phone = await stack.enter_async_context(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
        site = Origin(f"http://localhost:{port}", http)
        wechat = Browser(site, sim_server, phone)  # type: ignore[arg-type]
        await wechat.qr_login(user=1)
        me = await wechat.me()
        assert me is not None and me["wechat"], "QR login through pgbouncer"

        async with aiohttp.ClientSession() as http2:
            person = Browser(Origin(f"http://localhost:{port}", http2), sim_server, phone)  # type: ignore[arg-type]
            await person.signup("bounced", PASSWORD)
            await person.post("/logout", {})
            assert await person.me() is None
            await person.post("/login", {"username": "bounced", "password": PASSWORD}, csrf_from="/login")
            assert (await person.me() or {}).get("username") == "bounced"

        # A transaction held open through pgbouncer pins one server connection: the site must use others.
        held = await asyncpg.connect(pgb.url.replace("postgresql://", "postgres://"), statement_cache_size=0)
        try:
            pinned = held.transaction()
            await pinned.start()
            await held.execute("SELECT 1")
            answers = await asyncio.gather(*(wechat.get("/api/me") for _ in range(12)))
            assert [r.status for r in answers] == [200] * 12
            await pinned.rollback()
        finally:
            await held.close()

    engine = create_async_engine(to_asyncpg_url(direct), poolclass=NullPool)
    async with engine.begin() as conn:  # make the login's token due (set directly; the worker must find it)
        columns = WeChatIdentity.__table__.c
        due = {"access_expires_at": utcnow() - timedelta(minutes=1)}
        if "refresh_due_at" in columns:
            due["refresh_due_at"] = utcnow() - timedelta(minutes=1)
        await conn.execute(update(WeChatIdentity).values(due))
    await engine.dispose()
    worker = await webapp("worker", "--once", env=env, cwd=tmp_path)
    assert worker.status == 0, worker.out + worker.err
    assert len(await sim_server.calls("/sns/oauth2/refresh_token")) == 1

    [pool] = [p for p in pgb.admin("SHOW POOLS") if p["database"] == DATABASE]
    [stats] = [s for s in pgb.admin("SHOW STATS") if s["database"] == DATABASE]
    assert pool["pool_mode"] == "transaction"
    assert int(stats["total_xact_count"]) > 20  # migrations, logins, /api/me and the worker all went through it
    assert pgb.log().count("new connection to server") >= 2
