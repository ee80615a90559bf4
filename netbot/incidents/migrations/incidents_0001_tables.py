"""Incidents: incidents, participants, timeline entries and reminder state.

Revision ID: incidents_0001
Depends on: 0003 (the core head)
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "incidents_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("incidents",)
depends_on: str | Sequence[str] | None = "0003"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("declare_key", sa.String(length=100), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("impact", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("reporter_id", sa.BigInteger(), nullable=False),
        sa.Column("lead_id", sa.BigInteger(), nullable=True),
        sa.Column("comms_id", sa.BigInteger(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("identified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("space_id", sa.BigInteger(), nullable=True),
        sa.Column("space_name", sa.String(length=100), nullable=True),
        sa.Column("space_parent_id", sa.BigInteger(), nullable=True),
        sa.Column("headline_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("headline_message_id", sa.BigInteger(), nullable=True),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("postmortem_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("declare_key", name=op.f("uq_incidents_declare_key")),
        sa.UniqueConstraint("space_id", name=op.f("uq_incidents_space_id")),
    )
    op.create_index(op.f("ix_incidents_guild_id"), "incidents", ["guild_id"])
    op.create_index(op.f("ix_incidents_status"), "incidents", ["status"])
    op.create_index(op.f("ix_incidents_declared_at"), "incidents", ["declared_at"])
    op.create_table(
        "incident_participants",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], ondelete="CASCADE",
            name=op.f("fk_incident_participants_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "user_id", name=op.f("pk_incident_participants")),
    )  # fmt: skip
    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], ondelete="CASCADE",
            name=op.f("fk_incident_timeline_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_timeline")),
        sa.UniqueConstraint(
            "incident_id", "message_id", name=op.f("uq_incident_timeline_incident_id_message_id")
        ),
    )  # fmt: skip
    op.create_index("ix_incident_timeline_incident_at", "incident_timeline", ["incident_id", "at"])
    op.create_index(op.f("ix_incident_timeline_message_id"), "incident_timeline", ["message_id"])
    op.create_table(
        "incident_reminders",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], ondelete="CASCADE",
            name=op.f("fk_incident_reminders_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "kind", name=op.f("pk_incident_reminders")),
    )  # fmt: skip
    op.create_index(op.f("ix_incident_reminders_next_due"), "incident_reminders", ["next_due"])


def downgrade() -> None:
    for table in ("incident_reminders", "incident_timeline", "incident_participants", "incidents"):
        op.drop_table(table)
