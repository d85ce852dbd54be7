"""Running alembic from code (the `migrate` command, `dev`, and the tests), and which code a schema suits.

Rolling upgrades migrate first, then restart: for a while the old processes run on a newer schema. A
migration that only adds (expand, no contract) says so in its script with `compatible_code`, the earlier
revisions whose code keeps working on the schema it leaves. Every migration run records, as the comment
of the `alembic_version` table, the revisions whose code suits the database now; `/readyz` of an older
process reads it (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import re

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from webapp.settings import RESOURCES

_REVISION = re.compile(r"[A-Za-z0-9_]{1,64}")
COMPATIBILITY_SQL = "SELECT obj_description('alembic_version'::regclass, 'pg_class')"


def alembic_config(database_url: str) -> Config:
    """alembic.ini of the repository (or of the installed wheel), pointed at `database_url`."""
    config = Config(str(RESOURCES / "alembic.ini"))
    config.set_main_option("script_location", str(RESOURCES / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_head(database_url: str) -> None:
    """Bring the database to the latest migration."""
    command.upgrade(alembic_config(database_url), "head")


def downgrade_base(database_url: str) -> None:
    """Undo every migration."""
    command.downgrade(alembic_config(database_url), "base")


def suited_code(script: ScriptDirectory, revisions: frozenset[str]) -> frozenset[str]:
    """The revisions whose code works on a database at `revisions`: those, and what their scripts declare."""
    suited = set(revisions)
    for revision in revisions:
        module = script.get_revision(revision).module
        suited |= set(getattr(module, "compatible_code", ()))
    return frozenset(r for r in suited if _REVISION.fullmatch(r))


def record_suited_code(connection: Connection, script: ScriptDirectory, revisions: frozenset[str]) -> None:
    """Write suited_code() as the comment of alembic_version (run by migrations/env.py after each migration run)."""
    listed = ",".join(sorted(suited_code(script, revisions)))
    connection.execute(text(f"COMMENT ON TABLE alembic_version IS 'suits code at: {listed}'"))


def parse_suited_code(comment: str | None) -> frozenset[str]:
    """The revisions listed by record_suited_code's comment (none when the comment is missing or foreign)."""
    prefix = "suits code at: "
    if not comment or not comment.startswith(prefix):
        return frozenset()
    return frozenset(r for r in comment.removeprefix(prefix).split(",") if _REVISION.fullmatch(r))
