"""Alembic environment (async): URL from the caller or from Settings, metadata from webapp.models."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import webapp.models  # noqa: F401  (registers every table on Base.metadata)
from webapp.db import Base
from webapp.migrations import record_suited_code
from webapp.settings import Settings, to_asyncpg_url

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """The URL given by the caller (webapp migrate, tests), else DATABASE_URL."""
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env(os.environ).database_url
    if not url:
        raise SystemExit("DATABASE_URL is not set (or run `uv run webapp migrate`, which knows the dev database)")
    return to_asyncpg_url(url)


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
        heads = frozenset(context.get_context().get_current_heads())
        if heads:  # which code suits the schema now, for /readyz of processes older or newer than it
            record_suited_code(connection, context.script, heads)


async def run_async_migrations() -> None:
    engine = create_async_engine(database_url())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())
