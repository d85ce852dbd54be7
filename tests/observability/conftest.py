"""Fixtures for the observability tests: a database of their own for `webapp serve` children."""

from __future__ import annotations

import pytest

from tests.conftest import Postgres
from webapp.migrations import upgrade_head


@pytest.fixture(scope="session")
def serve_database_url(postgres: Postgres) -> str:
    """A migrated database that child `webapp serve` processes may write to (sessions) without disturbing others."""
    url = postgres.database_url("webapp_observe")
    upgrade_head(url)
    return url
