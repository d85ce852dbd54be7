"""privacy consent: when an account agreed to the privacy policy, and which policy (its URL)

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-07 15:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("privacy_consent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("privacy_consent_url", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "privacy_consent_url")
    op.drop_column("users", "privacy_consent_at")
