"""Running alembic from code (the `migrate` command, `dev`, and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from webapp.settings import RESOURCES


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
