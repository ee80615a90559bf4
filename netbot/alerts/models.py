"""The alerts capability's tables: its saved state as rows, one per thing that changes.

Rows rather than one JSON document, so recording a notification writes one small row and a
poll's end writes the cursor and prunes old rows, whatever the number of events notified in
the last days (see `netbot.alerts.state`). Their history is the `alerts` Alembic branch in
`netbot/alerts/migrations/`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from netbot.core.models import Base, JsonValue


class AlertCursor(Base):
    """The newest updatedAt processed, per feed."""

    __tablename__ = "alert_cursors"

    feed: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[dt.datetime]


class AlertNotification(Base):
    """When each event was last notified (the one-per-day rule), kept KEEP_NOTIFIED_DAYS."""

    __tablename__ = "alert_notifications"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_notified: Mapped[dt.datetime] = mapped_column(index=True)  # pruned by time


class AlertDay(Base):
    """A calendar day (in the configured time zone) that had a notification: no digest then."""

    __tablename__ = "alert_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class AlertMeta(Base):
    """Single values: the last digest day, the quakes each source announced (USGS ids)."""

    __tablename__ = "alert_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[JsonValue] = mapped_column(JSON, nullable=False)
