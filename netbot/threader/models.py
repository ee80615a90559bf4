"""The threader's tables: what was copied where, the writes in flight, and each ticket's state.

Their history is the `threader` Alembic branch in `netbot/threader/migrations/`. Use
`netbot.threader.store` rather than these models.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from netbot.core.models import Base, utcnow

ORIGIN_DISCORD = "discord"  # a Discord message copied into a Redmine note
ORIGIN_REDMINE = "redmine"  # a Redmine journal copied into a Discord message


class SyncLink(Base):
    """One journal <-> one message. A long note becomes several messages (`part` 0..n-1); a
    Discord message edited where Redmine refused the edit gets follow-up notes (`part` 1..)."""

    __tablename__ = "threader_links"
    __table_args__ = (Index("ix_threader_links_message", "message_id"),)

    journal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket_id: Mapped[int] = mapped_column(Integer, index=True)
    thread_id: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(String(16))
    part: Mapped[int] = mapped_column(Integer, default=0)
    # A hash of the source text last copied: a different one is an edit to carry over.
    source_hash: Mapped[str] = mapped_column(String(64))
    tombstone: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncClaim(Base):
    """A remote write about to be made. Written before the write and deleted once its result
    is recorded; one left behind (a crash, a lost answer) is resolved by looking for `token`
    on the remote side before anything is written again."""

    __tablename__ = "threader_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, index=True)
    thread_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # "note", "post", "thread"
    source_id: Mapped[int] = mapped_column(BigInteger)  # message id, journal id, ticket id
    part: Mapped[int] = mapped_column(Integer, default=0)
    token: Mapped[str] = mapped_column(String(300))  # the text that proves the write landed
    # For a post: the newest message id of the thread before the write (search after it).
    after_id: Mapped[int | None] = mapped_column(BigInteger)
    source_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncTicket(Base):
    """An enrolled ticket: its thread, both cursors and what `/ticket sync` shows."""

    __tablename__ = "threader_tickets"

    ticket_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    thread_id: Mapped[int] = mapped_column(BigInteger, index=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    parent_id: Mapped[int] = mapped_column(BigInteger)
    # Redmine's updated_on last synced ("2026-01-02T08:12:32Z"), and when (our clock) it was
    # first seen: a second read after that second has ended catches same-second writes.
    updated_on: Mapped[str] = mapped_column(String(32), default="")
    updated_seen_at: Mapped[dt.datetime | None]
    # The newest Discord message id already copied or skipped.
    last_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # in the active-threads list
    last_sync_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None]
