"""Readiness: the database answers, at this code's migration head or at a newer schema that declares it suits this code.

A newer schema is one the code does not know (a newer release migrated it); migrations/env.py records on
it which code revisions it suits (webapp.migrations). A database behind this code's head is never ready:
migrations run before the new code serves (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.migrations import COMPATIBILITY_SQL, alembic_config, parse_suited_code

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
    if not revisions:
        return False, {"status": "unavailable", "database": "ok", "migrations": "missing"}
    if revisions <= schema.known:
        return False, {"status": "unavailable", "database": "ok", "migrations": "behind"}
    # A revision this code does not know: a newer release migrated the database. Ready if it says it suits us.
    if schema.heads <= await _suited_code(sm):
        return True, {"status": "ready", "database": "ok", "migrations": "compatible"}
    return False, {"status": "unavailable", "database": "ok", "migrations": "ahead"}


async def _suited_code(sm: async_sessionmaker[AsyncSession]) -> frozenset[str]:
    """The code revisions the database's schema declares it suits (empty when it could not be read)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), sm() as session:
            return parse_suited_code(await session.scalar(text(COMPATIBILITY_SQL)))
    except Exception as exc:  # noqa: BLE001  (unreadable: not ready, and the reason is logged)
        logger.warning("readiness: schema compatibility unreadable (%s)", type(exc).__name__)
        return frozenset()
