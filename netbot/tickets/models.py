"""The tickets table: which Discord thread discusses which Redmine ticket."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from netbot.core.models import Base, utcnow


class TicketThread(Base):
    """The Discord thread where a Redmine ticket is discussed: at most one per ticket.

    The bot keeps `thread_id -> ticket_id` in memory to route messages, and rebuilds that map
    from this table at start-up; use `netbot.tickets.threads` rather than this model.
    """

    __tablename__ = "ticket_threads"

    # Redmine's own issue id, so it is given, never generated here.
    ticket_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    thread_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    # The channel the thread hangs off, so a lost thread can be recreated in the same place.
    channel_id: Mapped[int] = mapped_column(BigInteger)
    # The Discord id of whoever opened the thread.
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
