"""GET /readyz: 200 only when the database answers at the migrations' head; 503 saying which part is not."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from alembic import command

from tests.conftest import Postgres
from tests.observability.helpers import free_port
from webapp.app import create_app
from webapp.migrations import alembic_config
from webapp.settings import Settings


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
