"""Shared fixtures: a real PostgreSQL (embedded pgserver or TEST_DATABASE_URL), one rolled-back
transaction per test, the site app and an HTTP client for it."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="webapp-xdg-")  # pgserver's platformdirs wants a 0700 dir
# The tests start many Python processes (xdist workers, `webapp` commands and servers, their site processes).
# Without cached bytecode each one compiles SQLAlchemy, alembic, aiohttp… from source: about a second of CPU
# apiece, and an admin command's test then takes twice as long. Where PYTHONDONTWRITEBYTECODE keeps .pyc files
# out of the source trees, the processes the tests start keep them in the user's cache directory instead (not
# in a shared temporary one, where someone else could plant bytecode). Read before any of them starts: this
# file is loaded before xdist starts its workers.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    _cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ["PYTHONPYCACHEPREFIX"] = os.environ.get("PYTHONPYCACHEPREFIX") or os.path.join(
        _cache_home, "webapp-tests", "pycache"
    )
    sys.dont_write_bytecode, sys.pycache_prefix = False, os.environ["PYTHONPYCACHEPREFIX"]  # this process too

import pytest
from aiohttp.test_utils import TestClient
from argon2.profiles import CHEAPEST
from cryptography.fernet import Fernet
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from webapp.app import create_app
from webapp.clock import FrozenClock
from webapp.migrations import upgrade_head
from webapp.security import Argon2
from webapp.settings import Settings, to_asyncpg_url

# Hypothesis: "ci" (the default) tries each property 100 times; `--hypothesis-profile=thorough` tries 600
# (the count the HTTP properties were written with). Modules that scale their own count derive it from the
# loaded profile's max_examples. No deadline: a shared CI machine makes timings meaningless.
hypothesis_settings.register_profile("ci", max_examples=100, deadline=None)
hypothesis_settings.register_profile("thorough", max_examples=600, deadline=None)
hypothesis_settings.load_profile("ci")  # --hypothesis-profile, read after this file, overrides it

# The WeChat harness's fixtures (sim_server, wechat_settings, world, pooled_world) for every test module,
# instead of each module importing them (an import that pytest uses but linters see as unused).
pytest_plugins = ["tests.wechat.harness"]

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN_KEY = Fernet.generate_key().decode()
# argon2id at its cheapest: tests that are not about hashing hash in microseconds, not 64 MiB and ~50 ms each.
# The tests about hashing (tests/test_security.py, tests/hardening's CountingPasswords) keep the real cost.
CHEAP_ARGON2 = Argon2(CHEAPEST)


class Postgres:
    """A PostgreSQL server the tests may create databases on."""

    def __init__(self, url: str, server: object | None = None) -> None:
        self.url = url
        self.server = server

    def database_url(self, name: str) -> str:
        """URL of database `name` on this server, created if missing."""
        import asyncio

        async def create() -> None:
            engine = create_async_engine(to_asyncpg_url(self.url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
            async with engine.connect() as conn:
                from sqlalchemy import text

                exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                if not exists:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
            await engine.dispose()

        asyncio.run(create())
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """TEST_DATABASE_URL's server, or an embedded one in a temporary directory."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield Postgres(url)
        return
    import pgserver

    data_dir = tempfile.mkdtemp(prefix="webapp-test-pg-", dir="/tmp")  # pgserver's OS user can't read /root
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    # A throw-away server: no crash safety needed, so commits need not wait for the disk.
    server.psql("ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
                "ALTER SYSTEM SET full_page_writes = off;")
    server.psql("SELECT pg_reload_conf();")
    yield Postgres(server.get_uri(), server)
    server.cleanup()


@pytest.fixture(scope="session")
def database_url(postgres: Postgres) -> str:
    """A database migrated to head once per test session."""
    url = postgres.database_url("webapp_test")
    upgrade_head(url)
    return url


@pytest.fixture
async def db_connection(database_url: str) -> AsyncIterator[AsyncConnection]:
    """One connection inside a transaction that is rolled back after the test."""
    engine = create_async_engine(to_asyncpg_url(database_url), poolclass=NullPool)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()
    await engine.dispose()


@pytest.fixture
def sessionmaker(db_connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions joined to the test's transaction: their commits become savepoints."""
    return async_sessionmaker(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture(scope="session")
def pooled_database_url(postgres: Postgres) -> str:
    """A second migrated database, for tests that need real concurrent connections and commits."""
    url = postgres.database_url("webapp_pooled")
    upgrade_head(url)
    return url


@pytest.fixture
async def pooled_sessionmaker(pooled_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A pooled sessionmaker whose commits are real; every table is emptied after the test."""
    from sqlalchemy import text

    from webapp.db import Base, make_sessionmaker

    sm = make_sessionmaker(to_asyncpg_url(pooled_database_url))
    yield sm
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with sm.begin() as s:
        await s.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await sm.kw["bind"].dispose()


@pytest.fixture
def clock() -> FrozenClock:
    """The site's clock, frozen at T0 until a test moves it."""
    return FrozenClock(T0)


@pytest.fixture
def settings() -> Settings:
    """Safe test settings; WeChat apps are added by the WeChat fixtures."""
    return Settings(
        database_url=None,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        token_keys=(TOKEN_KEY,),
        public_url="http://localhost:8080",
        run_worker=False,
        password_parameters=CHEAPEST,
    )


@pytest.fixture
async def client(aiohttp_client, settings: Settings, sessionmaker, clock) -> TestClient:  # type: ignore[no-untyped-def]
    """An HTTP client for the site on a real loopback server."""
    app = create_app(settings, sessionmaker=sessionmaker, clock=clock)
    return await aiohttp_client(app)


def pytest_addoption(parser: pytest.Parser) -> None:
    """--screenshots: regenerate docs/screenshots (tests/browser/test_screenshots.py)."""
    parser.addoption("--screenshots", action="store_true", help="rewrite docs/screenshots from a live browser run")
