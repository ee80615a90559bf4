"""Threader: journal <-> message links, claims (writes in flight), enrolled tickets.

Revision ID: threader_0001
Depends on: 0003 (the core head)
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "threader_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("threader",)
depends_on: str | Sequence[str] | None = "0003"


def upgrade() -> None:
    op.create_table(
        "threader_links",
        sa.Column("journal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("tombstone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("journal_id", "message_id", name=op.f("pk_threader_links")),
    )
    op.create_index("ix_threader_links_message", "threader_links", ["message_id"])
    op.create_index(op.f("ix_threader_links_ticket_id"), "threader_links", ["ticket_id"])
    op.create_table(
        "threader_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=300), nullable=False),
        sa.Column("after_id", sa.BigInteger(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threader_claims")),
    )
    op.create_index(op.f("ix_threader_claims_ticket_id"), "threader_claims", ["ticket_id"])
    op.create_table(
        "threader_tickets",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_on", sa.String(length=32), nullable=False),
        sa.Column("updated_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_id", sa.BigInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_threader_tickets")),
    )
    op.create_index(op.f("ix_threader_tickets_thread_id"), "threader_tickets", ["thread_id"])


def downgrade() -> None:
    for table in ("threader_tickets", "threader_claims", "threader_links"):
        op.drop_table(table)
