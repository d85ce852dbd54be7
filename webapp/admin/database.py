"""The database for operator commands: DATABASE_URL (or the embedded dev database), PgBouncer-safe."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from webapp.settings import Settings, to_asyncpg_url


def database_url(settings: Settings) -> str:
    """DATABASE_URL, else (like `webapp migrate`) the embedded development database under ./var."""
    if settings.database_url:
        return settings.database_url
    from webapp.devserver import embedded_database_url

    print("DATABASE_URL is not set: using the embedded development database in ./var/pgdata", file=sys.stderr)
    return embedded_database_url()


def connect_args(pool_mode: str) -> Mapping[str, object]:
    """asyncpg options: behind PgBouncer's transaction pooling no prepared statement may outlive its transaction."""
    if pool_mode != "transaction":
        return {}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__admin_{uuid4().hex}__",
    }


@asynccontextmanager
async def open_sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A small engine for one command, disposed of when it is done."""
    engine = create_async_engine(
        to_asyncpg_url(database_url(settings)),
        pool_size=1,
        max_overflow=0,
        hide_parameters=True,  # an error must not print ciphertexts or openids
        connect_args=dict(connect_args(settings.database_pool_mode)),
    )
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()
