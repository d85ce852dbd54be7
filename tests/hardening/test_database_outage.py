"""PostgreSQL stops and comes back while the site runs: a clear 503 meanwhile, and recovery without a restart.

The site is built as in production (create_app with DATABASE_URL, its own pools, no injected
sessionmaker) on an embedded PostgreSQL of this test's own, which the test stops and starts with pg_ctl.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from tests.accounts.helpers import AuthActions, prefer_english
from tests.hardening.conftest import PASSWORD
from webapp.app import create_app
from webapp.migrations import upgrade_head
from webapp.settings import Settings


@dataclass
class OwnPostgres:
    """An embedded PostgreSQL in a temporary directory, which the test may stop and start."""

    server: Any
    url: str

    async def pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        await asyncio.to_thread(pg_ctl, list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    async def stop(self) -> None:
        await self.pg_ctl("-w", "-m", "fast", "stop")

    async def start(self) -> None:
        socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]  # the same socket as before: the same URL
        await self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.server.log), "start")


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    import pgserver

    data_dir = tempfile.mkdtemp(prefix="webapp-outage-pg-", dir="/tmp")  # pgserver's OS user can't read /root
    server = await asyncio.to_thread(pgserver.get_server, data_dir, cleanup_mode="delete")
    url = server.get_uri()
    await asyncio.to_thread(upgrade_head, url)
    yield OwnPostgres(server, url)
    await asyncio.to_thread(server.cleanup)


@pytest.fixture
async def site(aiohttp_client: Any, settings: Settings, own_postgres: OwnPostgres) -> TestClient:
    """The site as production builds it, on that PostgreSQL (a browser that prefers English)."""
    client = await aiohttp_client(create_app(settings.with_(database_url=own_postgres.url)))
    prefer_english(client)
    return client


@pytest.fixture
async def stranger(site: TestClient) -> AsyncIterator[AuthActions]:
    """A second browser on the same site."""
    client = TestClient(site.server)
    prefer_english(client)
    yield AuthActions(client)
    await client.close()


async def test_the_site_says_503_while_postgresql_is_down_and_recovers_when_it_is_back(
    site: TestClient, stranger: AuthActions, own_postgres: OwnPostgres
) -> None:
    person = AuthActions(site)
    assert (await person.signup("alice", PASSWORD)).status == 302
    me = await (await site.get("/api/me")).json()
    token = await stranger.token("/login")

    await own_postgres.stop()
    try:
        page = await site.get("/login")  # loading the session needs the database
        text = await page.text()
        assert page.status == 503 and "Temporarily unavailable" in text and "Traceback" not in text
        api = await site.get("/api/me")
        assert api.status == 503 and api.content_type == "application/json"
        assert (await api.json())["error"] == "Temporarily unavailable"
        failed = await stranger.client.post("/login", data={"csrf_token": token, "username": "alice",
                                                            "password": PASSWORD}, allow_redirects=False)
        assert failed.status == 503 and "Traceback" not in await failed.text()
        health = await site.get("/healthz")
        assert health.status == 503
    finally:
        await own_postgres.start()

    assert (await site.get("/api/me")).status == 200
    assert await (await site.get("/api/me")).json() == me
    assert (await site.get("/login", allow_redirects=False)).headers["Location"] == "/"  # logged in: on to `next`
    settings_page = await site.get("/settings")  # a SQLAlchemy path too
    assert settings_page.status == 200
    logged_in = await stranger.client.post("/login", data={"csrf_token": token, "username": "alice",
                                                           "password": PASSWORD}, allow_redirects=False)
    assert logged_in.status == 302
