"""A failing statement never puts its parameters (tokens, openids, codes) into an exception or a log line."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from webapp.db import make_sessionmaker
from webapp.settings import to_asyncpg_url


async def test_the_site_engine_hides_sql_parameters(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    sm = make_sessionmaker(to_asyncpg_url(database_url))
    try:
        with pytest.raises(DBAPIError) as raised:
            async with sm() as session:
                await session.execute(text("SELECT length(:token) / 0"), {"token": "TOKEN-7f3a9c"})
    finally:
        await sm.kw["bind"].dispose()

    assert "division by zero" in str(raised.value)
    assert "TOKEN-7f3a9c" not in str(raised.value)
    assert "TOKEN-7f3a9c" not in caplog.text
