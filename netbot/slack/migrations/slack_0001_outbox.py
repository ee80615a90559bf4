"""Slack bridge: the outbox, the map of mirrored messages, and the per-channel status.

Revision ID: slack_0001
Depends on: 0003 (the core head)
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "slack_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("slack",)
depends_on: str | Sequence[str] | None = "0003"


def upgrade() -> None:
    op.create_table(
        "slack_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lane", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("parent_key", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("in_doubt", sa.Boolean(), nullable=False),
        sa.Column("next_attempt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_slack_outbox_lane_state_id", "slack_outbox", ["lane", "state", "id"], unique=False
    )
    op.create_table(
        "slack_messages",
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("lane", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_key", "lane", name=op.f("pk_slack_messages")),
    )
    op.create_table(
        "slack_lanes",
        sa.Column("lane", sa.String(length=200), nullable=False),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("lane", name=op.f("pk_slack_lanes")),
    )


def downgrade() -> None:
    op.drop_table("slack_lanes")
    op.drop_table("slack_messages")
    op.drop_index("ix_slack_outbox_lane_state_id", table_name="slack_outbox")
    op.drop_table("slack_outbox")
