"""The Slack bridge's tables: the outbox (what is still to be said in Slack, in order) and
the map (which Slack message stands for which source message).

Why rows: a mirror is written in the same transaction as the change that caused it (an
alert notification record, an incident update), so a crash can neither lose it nor send it
for a change that was rolled back; and the map survives restarts, so edits, thread replies
and deletes of old posts still find their Slack message (matterbridge kept it in memory).
Their history is the `slack` Alembic branch in `netbot/slack/migrations/`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from netbot.core.models import Base, JsonValue, utcnow

Kind = Literal["post", "reply", "edit", "delete", "create_channel", "archive_channel"]


class OutboxRow(Base):
    """One thing to do in Slack. Rows of one `lane` (a Slack channel, or "@key" for a
    channel the bridge creates) are delivered strictly in `id` order."""

    __tablename__ = "slack_outbox"
    # AUTOINCREMENT on SQLite too: an id is never reused, since Slack keeps it in metadata.
    __table_args__ = (
        Index("ix_slack_outbox_lane_state_id", "lane", "state", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lane: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[JsonValue] = mapped_column(JSON, nullable=False)
    # The map key this row creates (post, reply, create_channel) or acts on (edit, delete).
    source_key: Mapped[str | None] = mapped_column(String(200))
    parent_key: Mapped[str | None] = mapped_column(String(200))  # a reply's thread parent
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Sent at least once without a clear "not done" answer: Slack may hold it already, so
    # it is looked for (by its outbox id in the message metadata) before sending again.
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt: Mapped[dt.datetime]  # the runtime's clock, as every time here
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class MirroredMessage(Base):
    """Where a source message (or a created channel) lives in Slack, per lane."""

    __tablename__ = "slack_messages"

    source_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    lane: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str] = mapped_column(String(40), default="")  # "" for a created channel
    outbox_id: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LaneStatus(Base):
    """Per lane: the last success and the last error, for `/slack status` after a restart."""

    __tablename__ = "slack_lanes"

    lane: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_success: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None]
