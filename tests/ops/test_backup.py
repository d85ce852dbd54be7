"""docs/operations.md's backup recipe, run: pg_dump (custom format) of a live database, pg_restore into a new one."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pgserver
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from tests.conftest import TOKEN_KEY, Postgres
from webapp.clock import utcnow
from webapp.crypto import TokenCipher
from webapp.migrations import alembic_config
from webapp.models import WeChatIdentity
from webapp.settings import to_asyncpg_url

from .factories import add_identity, add_user


def client_tool(name: str) -> str | None:
    """pg_dump / pg_restore of the PostgreSQL that pgserver ships (same major version as the server)."""
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
    return str(bundled) if bundled.exists() else shutil.which(name)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.mark.skipif(client_tool("pg_dump") is None, reason="no pg_dump (pgserver ships one)")
async def test_a_dump_restores_into_a_new_database_at_head_with_tokens_readable(
    postgres: Postgres, pooled_database_url: str, pooled_sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with pooled_sessionmaker.begin() as s:
        user = await add_user(s, now=utcnow(), username="backed-up")
        await add_identity(s, user, now=utcnow(), openid="oBackup", unionid="uBackup", cipher=TokenCipher([TOKEN_KEY]))
    dump = tmp_path / "webapp.dump"

    await asyncio.to_thread(subprocess.run, [client_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}",
                    f"--dbname={pooled_database_url}"], check=True, capture_output=True, timeout=300)  # type: ignore[list-item]
    admin = create_async_engine(to_asyncpg_url(postgres.url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as conn:
        await conn.execute(text('DROP DATABASE IF EXISTS "webapp_restored" WITH (FORCE)'))
        await conn.execute(text('CREATE DATABASE "webapp_restored"'))
    restored_url = with_database(postgres.url, "webapp_restored")
    await asyncio.to_thread(subprocess.run, [client_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                    f"--dbname={restored_url}", str(dump)], check=True, capture_output=True, timeout=300)  # type: ignore[list-item]

    from alembic.script import ScriptDirectory

    restored = create_async_engine(to_asyncpg_url(restored_url), poolclass=NullPool)
    try:
        async with restored.connect() as conn:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            token = await conn.scalar(select(WeChatIdentity.access_token_enc).where(WeChatIdentity.openid == "oBackup"))
    finally:
        await restored.dispose()
        async with admin.connect() as conn:
            await conn.execute(text('DROP DATABASE IF EXISTS "webapp_restored" WITH (FORCE)'))
        await admin.dispose()
    assert version == ScriptDirectory.from_config(alembic_config(restored_url)).get_current_head()
    assert TokenCipher([TOKEN_KEY]).decrypt(token) == "ACCESS-oBackup"  # the dump plus TOKEN_KEYS is the whole state
