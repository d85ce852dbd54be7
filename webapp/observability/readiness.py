"""Readiness: the database answers and its alembic revision is the head of this code's migrations."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.migrations import alembic_config

logger = logging.getLogger("webapp.readiness")
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Schema:
    """The migration heads of this code, and every revision it knows."""

    heads: frozenset[str]
    known: frozenset[str]


@lru_cache(maxsize=1)
def script_schema() -> Schema:
    """Read the migration scripts once per process."""
    script = ScriptDirectory.from_config(alembic_config(""))
    known = frozenset(rev.revision for rev in script.walk_revisions())
    return Schema(heads=frozenset(script.get_heads()), known=known)


async def check(sm: async_sessionmaker[AsyncSession], schema: Schema) -> tuple[bool, dict[str, str]]:
    """(ready, a small report): database up or down, migrations at head, behind, unknown or missing."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), sm() as session:
            revisions = frozenset((await session.scalars(text("SELECT version_num FROM alembic_version"))).all())
    except ProgrammingError:  # no alembic_version table: never migrated
        return False, {"status": "unavailable", "database": "ok", "migrations": "missing"}
    except Exception as exc:  # noqa: BLE001  (any failure to answer is "down"; the reason is logged, not shown)
        logger.warning("readiness: database unavailable (%s)", type(exc).__name__)
        return False, {"status": "unavailable", "database": "down"}
    if revisions == schema.heads:
        return True, {"status": "ready", "database": "ok", "migrations": "head"}
    # A revision this code does not know means the database is ahead of it (a newer release migrated it).
    state = "behind" if revisions and revisions <= schema.known else "unknown" if revisions else "missing"
    return False, {"status": "unavailable", "database": "ok", "migrations": state}
