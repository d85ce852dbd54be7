"""production hardening: rate limits, admin, avatars, refresh backoff, official-account events

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:50:27.940949+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limits")),
    )
    op.create_table(
        "wechat_app_tokens",
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("token_enc", sa.Text(), nullable=True),
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("appid", name=op.f("pk_wechat_app_tokens")),
    )
    op.create_table(
        "wechat_mp_messages",
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("dedup_key", name=op.f("pk_wechat_mp_messages")),
    )
    op.create_index(op.f("ix_wechat_mp_messages_received_at"), "wechat_mp_messages", ["received_at"])
    op.create_table(
        "user_avatars",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("fetched_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_avatars_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_avatars")),
    )

    op.add_column("oauth_states", sa.Column("ticket", sa.Text(), nullable=True))
    op.add_column("oauth_states", sa.Column("scanned_openid", sa.String(length=64), nullable=True))
    op.add_column("oauth_states", sa.Column("scanned_at", TZ, nullable=True))
    op.drop_constraint(op.f("ck_oauth_states_purpose"), "oauth_states", type_="check")
    op.create_check_constraint(op.f("ck_oauth_states_purpose"), "oauth_states", "purpose IN ('login', 'bind', 'reauth')")

    op.add_column("security_events", sa.Column("actor", sa.String(length=16), server_default="user", nullable=False))
    op.create_check_constraint(op.f("ck_security_events_actor"), "security_events", "actor IN ('user', 'admin', 'wechat')")

    # users.avatar_url held WeChat's avatar URL: it becomes the source the worker copies from.
    op.alter_column("users", "avatar_url", new_column_name="avatar_source")
    op.execute("UPDATE users SET avatar_source = '' WHERE avatar_source IS NULL")
    op.alter_column("users", "avatar_source", nullable=False, server_default="")
    op.add_column("users", sa.Column("avatar_fetch_due_at", TZ, nullable=True))
    op.add_column("users", sa.Column("avatar_fetch_failures", sa.SmallInteger(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("disabled_at", TZ, nullable=True))
    op.add_column("users", sa.Column("last_seen_at", TZ, server_default=sa.text("now()"), nullable=False))
    op.execute("UPDATE users SET avatar_fetch_due_at = now() WHERE avatar_source <> ''")
    op.create_index(
        "ix_users_avatar_fetch_due_at",
        "users",
        ["avatar_fetch_due_at"],
        postgresql_where=sa.text("avatar_fetch_due_at IS NOT NULL"),
    )

    op.add_column("web_sessions", sa.Column("last_seen_at", TZ, server_default=sa.text("now()"), nullable=False))

    op.add_column("wechat_identities", sa.Column("profile_sync_requested_at", TZ, nullable=True))
    op.add_column(
        "wechat_identities", sa.Column("refresh_failures", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.add_column("wechat_identities", sa.Column("refresh_error", sa.String(length=64), server_default="", nullable=False))
    op.add_column("wechat_identities", sa.Column("revoked_at", TZ, nullable=True))
    op.drop_constraint(op.f("ck_wechat_identities_status"), "wechat_identities", type_="check")
    op.create_check_constraint(
        op.f("ck_wechat_identities_status"), "wechat_identities", "status IN ('active', 'reauth_required', 'revoked')"
    )
    # A due time beside the lease: it is also the backoff after a failure, and NULL takes a row out of the
    # refresher's index (dead grants, inactive users) instead of scanning past it on every pass.
    op.add_column("wechat_identities", sa.Column("refresh_due_at", TZ, nullable=True))
    op.execute(
        "UPDATE wechat_identities SET refresh_due_at = access_expires_at - interval '15 minutes' "
        "WHERE status = 'active' AND refresh_token_enc IS NOT NULL"
    )
    op.drop_index("ix_wechat_identities_refresh_due", table_name="wechat_identities")
    op.create_index(
        "ix_wechat_identities_refresh_due",
        "wechat_identities",
        ["refresh_due_at"],
        postgresql_where=sa.text("refresh_due_at IS NOT NULL"),
    )
    op.create_index("ix_wechat_identities_unionid", "wechat_identities", ["unionid"])


def downgrade() -> None:
    op.drop_index("ix_wechat_identities_unionid", table_name="wechat_identities")
    op.drop_index("ix_wechat_identities_refresh_due", table_name="wechat_identities")
    op.drop_column("wechat_identities", "refresh_due_at")
    op.create_index("ix_wechat_identities_refresh_due", "wechat_identities", ["access_expires_at"])
    op.execute("DELETE FROM wechat_identities WHERE status = 'revoked'")
    op.drop_constraint(op.f("ck_wechat_identities_status"), "wechat_identities", type_="check")
    op.create_check_constraint(
        op.f("ck_wechat_identities_status"), "wechat_identities", "status IN ('active', 'reauth_required')"
    )
    op.drop_column("wechat_identities", "revoked_at")
    op.drop_column("wechat_identities", "refresh_error")
    op.drop_column("wechat_identities", "refresh_failures")
    op.drop_column("wechat_identities", "profile_sync_requested_at")

    op.drop_column("web_sessions", "last_seen_at")

    op.drop_index("ix_users_avatar_fetch_due_at", table_name="users")
    op.drop_column("users", "last_seen_at")
    op.drop_column("users", "disabled_at")
    op.drop_column("users", "avatar_fetch_failures")
    op.drop_column("users", "avatar_fetch_due_at")
    op.alter_column("users", "avatar_source", new_column_name="avatar_url", nullable=True, server_default=None)
    op.execute("UPDATE users SET avatar_url = NULL WHERE avatar_url = ''")

    op.drop_constraint(op.f("ck_security_events_actor"), "security_events", type_="check")
    op.drop_column("security_events", "actor")

    op.execute("DELETE FROM oauth_states WHERE purpose = 'reauth'")
    op.drop_constraint(op.f("ck_oauth_states_purpose"), "oauth_states", type_="check")
    op.create_check_constraint(op.f("ck_oauth_states_purpose"), "oauth_states", "purpose IN ('login', 'bind')")
    op.drop_column("oauth_states", "scanned_at")
    op.drop_column("oauth_states", "scanned_openid")
    op.drop_column("oauth_states", "ticket")

    op.drop_table("user_avatars")
    op.drop_index(op.f("ix_wechat_mp_messages_received_at"), table_name="wechat_mp_messages")
    op.drop_table("wechat_mp_messages")
    op.drop_table("wechat_app_tokens")
    op.drop_table("rate_limits")
