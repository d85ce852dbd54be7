"""Migrations upgrade from empty, downgrade to base, upgrade again, and match the models exactly."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import webapp.models  # noqa: F401  (registers every table)
from tests.conftest import Postgres
from webapp.db import Base
from webapp.migrations import downgrade_base, upgrade_head
from webapp.settings import to_asyncpg_url

TABLES = {"users", "web_sessions", "login_failures", "security_events", "oauth_states", "rate_limits", "user_avatars"}


@pytest.fixture(scope="module")
def url(postgres: Postgres) -> str:
    """A database of its own: this test drops every table."""
    return postgres.database_url("migrations_test")


def run_sync(url: str, fn):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        engine = create_async_engine(to_asyncpg_url(url), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def tables(url: str) -> set[str]:
    return set(run_sync(url, lambda conn: inspect(conn).get_table_names()))


def test_upgrade_downgrade_upgrade(url: str) -> None:
    upgrade_head(url)
    assert tables(url) >= TABLES
    downgrade_base(url)
    assert tables(url) == {"alembic_version"}
    upgrade_head(url)
    assert set(Base.metadata.tables) | {"alembic_version"} == tables(url)


def test_autogenerate_finds_no_difference(url: str) -> None:
    upgrade_head(url)

    def diff(conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, Base.metadata)

    assert run_sync(url, diff) == []
