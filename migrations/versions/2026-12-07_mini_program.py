"""mini program: verified phone numbers on accounts, the encrypted session_key on identities

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # E.164, verified by WeChat; one number belongs to at most one account.
    op.add_column("users", sa.Column("phone", sa.String(length=20), nullable=True))
    op.create_unique_constraint(op.f("uq_users_phone"), "users", ["phone"])
    # The mini program's session_key (TokenCipher), replaced at each login; NULL for the other kinds of app.
    op.add_column("wechat_identities", sa.Column("session_key_enc", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("wechat_identities", "session_key_enc")
    op.drop_constraint(op.f("uq_users_phone"), "users", type_="unique")
    op.drop_column("users", "phone")
