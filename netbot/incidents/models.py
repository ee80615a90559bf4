"""The incidents capability's tables (the `incidents` Alembic branch in ./migrations).

Everything about an incident lives here, not only in Discord: the incident itself with its
space and headline ids, who takes part, its timeline (changes, messages, notes, action items)
and the state of every reminder, so a restart neither repeats nor skips one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from netbot.core.models import Base


class IncidentRow(Base):
    """One incident. `declare_key` makes declaring idempotent (unique)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    declare_key: Mapped[str] = mapped_column(String(100), unique=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    impact: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    reporter_id: Mapped[int] = mapped_column(BigInteger)
    lead_id: Mapped[int | None] = mapped_column(BigInteger)
    comms_id: Mapped[int | None] = mapped_column(BigInteger)
    declared_at: Mapped[dt.datetime] = mapped_column(index=True)
    identified_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    resolution: Mapped[str] = mapped_column(Text, default="")
    space_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    space_name: Mapped[str | None] = mapped_column(String(100))
    space_parent_id: Mapped[int | None] = mapped_column(BigInteger)
    headline_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    headline_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Whether the invitees were given access and mentioned once (a retried declare skips it).
    invited: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    postmortem_at: Mapped[dt.datetime | None]


class IncidentParticipant(Base):
    """Someone with access to the incident's space: invited, or joined themselves."""

    __tablename__ = "incident_participants"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    joined_at: Mapped[dt.datetime]
    invited: Mapped[bool] = mapped_column(Boolean, default=False)


class IncidentTimelineRow(Base):
    """A timeline entry: a recorded change, a message (keyed by its message id, once per
    incident), a note or an action item; shown ordered by `at`."""

    __tablename__ = "incident_timeline"
    __table_args__ = (
        UniqueConstraint("incident_id", "message_id"),
        Index("ix_incident_timeline_incident_at", "incident_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str | None] = mapped_column(String(20))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    author_name: Mapped[str | None] = mapped_column(String(100))
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(300))


class IncidentReminder(Base):
    """One reminder of one incident (`kind`: update, lead, close, postmortem, or `x:<handler>`
    for an extension's notification): when it is due next (None: no more), how many went
    out, and until when it is snoozed."""

    __tablename__ = "incident_reminders"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_due: Mapped[dt.datetime | None] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    snoozed_until: Mapped[dt.datetime | None]
    last_sent: Mapped[dt.datetime | None]
