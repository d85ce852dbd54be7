"""GET /readyz: 200 when the database answers at the migrations' head, or at a newer schema declared to suit this
code (rolling upgrades); 503 saying which part is not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.conftest import Postgres
from tests.observability.helpers import free_port
from webapp.app import create_app
from webapp.migrations import COMPATIBILITY_SQL, alembic_config, parse_suited_code, suited_code
from webapp.observability.readiness import script_schema
from webapp.settings import Settings, to_asyncpg_url


def _database_at(postgres: Postgres, name: str, revision: str | None) -> str:
    """A database of its own at `revision` (None: never migrated), whatever state an earlier run left."""
    url = postgres.database_url(name)
    config = alembic_config(url)
    command.downgrade(config, "base")
    if revision is not None:
        command.upgrade(config, revision)
    return url


@pytest.fixture(scope="module")
def behind_url(postgres: Postgres) -> str:
    """A database one revision behind the head."""
    return _database_at(postgres, "webapp_readyz_behind", "0001")


@pytest.fixture(scope="module")
def unmigrated_url(postgres: Postgres) -> str:
    """A database nobody migrated."""
    return _database_at(postgres, "webapp_readyz_empty", None)


@pytest.fixture
def site_on(aiohttp_client: Any, settings: Settings) -> Any:
    """The site on its own pools against the database at `url`."""

    async def build(url: str) -> TestClient:
        return await aiohttp_client(create_app(settings.with_(database_url=url)))

    return build


async def test_ready_on_a_database_at_head(client: TestClient) -> None:
    response = await client.get("/readyz")

    assert response.status == 200
    assert await response.json() == {"status": "ready", "database": "ok", "migrations": "head"}
    assert response.headers["Cache-Control"] == "no-store"


async def test_not_ready_one_revision_behind_though_healthy(site_on: Any, behind_url: str) -> None:
    site = await site_on(behind_url)

    response = await site.get("/readyz")

    assert response.status == 503
    assert await response.json() == {"status": "unavailable", "database": "ok", "migrations": "behind"}
    assert (await site.get("/healthz")).status == 200  # alive, just not ready for this code


async def test_not_ready_on_a_database_never_migrated(site_on: Any, unmigrated_url: str) -> None:
    response = await (await site_on(unmigrated_url)).get("/readyz")

    assert response.status == 503
    assert await response.json() == {"status": "unavailable", "database": "ok", "migrations": "missing"}


async def test_not_ready_when_the_database_is_unreachable(site_on: Any, caplog: pytest.LogCaptureFixture) -> None:
    site = await site_on(f"postgresql://webapp:pw-7f3a@127.0.0.1:{free_port()}/webapp")

    response = await site.get("/readyz")

    assert response.status == 503
    assert await response.json() == {"status": "unavailable", "database": "down"}
    assert "pw-7f3a" not in caplog.text


def _newer_schema(postgres: Postgres, name: str, comment: str | None) -> str:
    """A database at this code's head, then "migrated by a newer release": an unknown revision, and `comment`."""
    url = postgres.database_url(name)

    async def run(sql: str) -> None:
        engine = create_async_engine(to_asyncpg_url(url), poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run("DROP SCHEMA public CASCADE"))  # an earlier run's unknown revision cannot be downgraded
    asyncio.run(run("CREATE SCHEMA public"))
    url = _database_at(postgres, name, "head")

    async def advance() -> None:
        engine = create_async_engine(to_asyncpg_url(url), poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
            literal = "NULL" if comment is None else "'" + comment.replace("'", "''") + "'"
            await conn.execute(text(f"COMMENT ON TABLE alembic_version IS {literal}"))
        await engine.dispose()

    asyncio.run(advance())
    return url


@pytest.fixture(scope="module")
def newer_suiting_url(postgres: Postgres) -> str:
    """Migrated by a newer release whose migrations only added: it declares it suits this code's head."""
    heads = ",".join(sorted(script_schema().heads))
    return _newer_schema(postgres, "webapp_readyz_newer_ok", f"suits code at: f00dcafe,{heads}")


@pytest.fixture(scope="module")
def newer_breaking_url(postgres: Postgres) -> str:
    """Migrated by a newer release that declares nothing for this code."""
    return _newer_schema(postgres, "webapp_readyz_newer_no", "suits code at: f00dcafe")


async def test_ready_on_a_newer_schema_that_declares_it_suits_this_code(site_on: Any, newer_suiting_url: str) -> None:
    response = await (await site_on(newer_suiting_url)).get("/readyz")

    assert response.status == 200
    assert await response.json() == {"status": "ready", "database": "ok", "migrations": "compatible"}


async def test_not_ready_on_a_newer_schema_that_does_not(site_on: Any, newer_breaking_url: str) -> None:
    response = await (await site_on(newer_breaking_url)).get("/readyz")

    assert response.status == 503
    assert await response.json() == {"status": "unavailable", "database": "ok", "migrations": "ahead"}


def test_every_migration_run_records_which_code_suits_the_schema(postgres: Postgres) -> None:
    url = _database_at(postgres, "webapp_readyz_recorded", "head")
    heads = script_schema().heads

    async def comment() -> str | None:
        engine = create_async_engine(to_asyncpg_url(url), poolclass=NullPool)
        async with engine.connect() as conn:
            value = await conn.scalar(text(COMPATIBILITY_SQL))
        await engine.dispose()
        return value

    recorded = parse_suited_code(asyncio.run(comment()))
    script = ScriptDirectory.from_config(alembic_config(url))
    assert heads <= recorded
    assert recorded == suited_code(script, frozenset(heads))  # the head itself, and what its script declares
