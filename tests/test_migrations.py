"""Migrations upgrade from empty, go down and up one at a time on a populated database, and match the models."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

import webapp.models  # noqa: F401  (registers every table)
from tests.conftest import T0, Postgres
from tests.ops.factories import add_identity, add_session, add_user
from webapp.db import Base
from webapp.migrations import alembic_config, downgrade_base, upgrade_head
from webapp.models import SecurityEvent
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


def _revisions(url: str) -> list[str]:
    """Every revision from the first to the head (one line of history: the merger keeps it linear)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _count(url: str, table: str) -> int:
    return int(run_sync(url, lambda conn: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()))


def _populate(url: str) -> None:
    """At head: accounts with a password, a WeChat identity, a union, a live session and a security event."""

    async def go() -> None:
        engine = create_async_engine(to_asyncpg_url(url), poolclass=NullPool)
        async with async_sessionmaker(engine, expire_on_commit=False).begin() as s:
            alice = await add_user(s, now=T0, username="alice")
            wei = await add_user(s, now=T0, username=None, password=False, display_name="张伟")
            await add_identity(s, wei, now=T0, openid="oWebsiteOpenid00000000000001", unionid="oUnion000000000000000000001")
            await add_session(s, alice, now=T0, name="alice-laptop")
            s.add(SecurityEvent(user_id=alice.id, kind="login", method="password", created_at=T0))
        await engine.dispose()

    asyncio.run(go())


def test_every_migration_goes_down_and_up_one_at_a_time_on_a_populated_database(url: str) -> None:
    config = alembic_config(url)
    downgrade_base(url)
    upgrade_head(url)
    _populate(url)
    revisions = _revisions(url)
    kept = {"users": 2, "wechat_identities": 1, "web_sessions": 1, "security_events": 1}

    for target in reversed(revisions[:-1]):  # down to the first revision, the data still there
        command.downgrade(config, target)
        assert run_sync(url, lambda conn: MigrationContext.configure(conn).get_current_heads()) == (target,)
        assert {table: _count(url, table) for table in kept} == kept
    for target in revisions[1:]:  # and up again, each upgrade on existing rows
        command.upgrade(config, target)
        assert {table: _count(url, table) for table in kept} == kept
    downgrade_base(url)  # the first revision's downgrade, on rows too
    assert tables(url) == {"alembic_version"}
    upgrade_head(url)
    assert set(Base.metadata.tables) | {"alembic_version"} == tables(url)
