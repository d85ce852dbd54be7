"""Any logger.exception of a database error, anywhere, keeps PostgreSQL's quoted row values out of the log."""

from __future__ import annotations

import io
import logging

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.observability.logs import JsonFormatter, TextFormatter


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
async def test_a_logged_unique_violation_names_its_class_not_its_values(
    sessionmaker: async_sessionmaker[AsyncSession], formatter: logging.Formatter
) -> None:
    bind = sessionmaker.kw["bind"]
    await bind.exec_driver_sql("SELECT 1")
    conn = (await bind.get_raw_connection()).driver_connection
    await conn.execute("CREATE TEMP TABLE t (v text UNIQUE)")
    await conn.execute("INSERT INTO t VALUES ('oSECRET-OPENID-1234')")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO t VALUES ('oSECRET-OPENID-1234')")
    except asyncpg.UniqueViolationError as exc:
        assert "oSECRET-OPENID-1234" in str(exc.detail)  # PostgreSQL does quote it
        try:
            raise RuntimeError("while storing") from exc
        except RuntimeError:
            log.exception("storing failed")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "UniqueViolationError" in written and "23505" in written
    assert "oSECRET-OPENID-1234" not in written
