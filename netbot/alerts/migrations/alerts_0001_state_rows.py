"""Alerts: the saved state as rows (cursors, notifications, days, meta), moved out of the one
JSON document it used to be (`state` table, namespace "alerts").

Revision ID: alerts_0001
Depends on: 0003 (the core's `state` table, read by the data step)
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "alerts_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("alerts",)
depends_on: str | Sequence[str] | None = "0003"

OLD_STATE = sa.table(
    "state", sa.column("namespace", sa.String), sa.column("key", sa.String),
    sa.column("value", sa.JSON),
)  # fmt: skip


def upgrade() -> None:
    cursors = op.create_table(
        "alert_cursors",
        sa.Column("feed", sa.String(length=200), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_alert_cursors")),
    )
    notifications = op.create_table(
        "alert_notifications",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("last_notified", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_alert_notifications")),
    )
    op.create_index(
        op.f("ix_alert_notifications_last_notified"), "alert_notifications", ["last_notified"]
    )
    days = op.create_table(
        "alert_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_alert_days")),
    )
    meta = op.create_table(
        "alert_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_meta")),
    )
    move_documents(cursors, notifications, days, meta)


def move_documents(
    cursors: sa.Table, notifications: sa.Table, days: sa.Table, meta: sa.Table
) -> None:
    """The data step: the old documents ("alerts"/"state" and "alerts"/"quakes") become rows,
    then are deleted, in the migration's transaction: a bot that upgrades keeps its cursors
    and what it notified, so it neither floods nor repeats."""
    bind = op.get_bind()

    def stored(text: str) -> dt.datetime:  # as netbot.core.models.UtcDateTime stores it
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
        moment = moment.astimezone(dt.UTC)
        return moment.replace(tzinfo=None) if bind.dialect.name == "sqlite" else moment

    alerts = OLD_STATE.c.namespace == "alerts"
    old: dict[str, Any] = {
        key: value
        for key, value in bind.execute(sa.select(OLD_STATE.c.key, OLD_STATE.c.value).where(alerts))
    }
    document = old.get("state")
    if isinstance(document, dict):
        rows = [
            {"feed": feed, "cursor": stored(t)} for feed, t in document.get("cursors", {}).items()
        ]
        if rows:
            bind.execute(cursors.insert(), rows)
        rows = [
            {"event_id": event, "last_notified": stored(t)}
            for event, t in document.get("last_notified", {}).items()
        ]
        if rows:
            bind.execute(notifications.insert(), rows)
        rows = [{"day": dt.date.fromisoformat(d)} for d in document.get("notification_days", [])]
        if rows:
            bind.execute(days.insert(), rows)
        if document.get("last_digest_day"):
            bind.execute(
                meta.insert(), [{"key": "digest_day", "value": document["last_digest_day"]}]
            )
    if isinstance(old.get("quakes"), dict):
        bind.execute(meta.insert(), [{"key": "quakes", "value": old["quakes"]}])
    bind.execute(OLD_STATE.delete().where(alerts, OLD_STATE.c.key.in_(["state", "quakes"])))


def downgrade() -> None:
    for table in ("alert_meta", "alert_days", "alert_notifications", "alert_cursors"):
        op.drop_table(table)
