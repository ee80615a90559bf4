"""Tickets: `user_links` (Discord user -> Redmine login) and `ticket_threads` (ticket -> thread).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_links",
        sa.Column("discord_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("redmine_login", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved')", name=op.f("ck_user_links_status")),
        sa.PrimaryKeyConstraint("discord_user_id", name=op.f("pk_user_links")),
    )
    op.create_index(
        op.f("ix_user_links_redmine_login"), "user_links", ["redmine_login"], unique=False
    )
    op.create_table(
        "ticket_threads",
        # Redmine's issue id: given, never generated (no SERIAL on PostgreSQL).
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_threads")),
        sa.UniqueConstraint("thread_id", name=op.f("uq_ticket_threads_thread_id")),
    )


def downgrade() -> None:
    op.drop_table("ticket_threads")
    op.drop_index(op.f("ix_user_links_redmine_login"), table_name="user_links")
    op.drop_table("user_links")
