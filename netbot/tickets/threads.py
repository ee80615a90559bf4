"""Which Discord thread discusses which Redmine ticket: at most one thread per ticket.

Plain blocking functions over `Database` taking ids, never Discord objects; each call is one
transaction. From asyncio code run them in a worker thread.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from netbot.core.db import Database, upsert
from netbot.core.models import snowflake, utcnow
from netbot.tickets.models import TicketThread

_MAX_INT = 2**31 - 1  # Redmine issue ids are 32-bit


def record_thread(
    db: Database, ticket_id: int, thread_id: int, guild_id: int, channel_id: int, created_by: int
) -> None:
    """Remember `thread_id` as the thread of `ticket_id`, replacing the ticket's old thread.

    A thread belongs to one ticket only, so if `thread_id` was recorded for another ticket,
    that ticket loses it.
    """
    row = {
        "ticket_id": _ticket_id(ticket_id),
        "thread_id": snowflake(thread_id),
        "guild_id": snowflake(guild_id),
        "channel_id": snowflake(channel_id),
        "created_by": snowflake(created_by),
        "created_at": utcnow(),
    }
    with db.session() as session:
        session.execute(
            delete(TicketThread).where(
                TicketThread.thread_id == row["thread_id"],
                TicketThread.ticket_id != row["ticket_id"],
            )
        )
        upsert(session, TicketThread, row, keys=("ticket_id",))


def forget_thread(db: Database, ticket_id: int, thread_id: int) -> None:
    """Drop the record of `thread_id` as the thread of `ticket_id` (if it is still that one),
    for a thread removed again because Redmine refused to record it."""
    with db.session() as session:
        session.execute(
            delete(TicketThread).where(
                TicketThread.ticket_id == _ticket_id(ticket_id),
                TicketThread.thread_id == snowflake(thread_id),
            )
        )


def thread_for_ticket(db: Database, ticket_id: int) -> int | None:
    """The id of the ticket's Discord thread, or None."""
    ticket_id = _ticket_id(ticket_id)
    with db.session() as session:
        return session.scalar(
            select(TicketThread.thread_id).where(TicketThread.ticket_id == ticket_id)
        )


def ticket_for_thread(db: Database, thread_id: int) -> int | None:
    """The id of the ticket discussed in Discord thread `thread_id`, or None."""
    thread_id = snowflake(thread_id)
    with db.session() as session:
        return session.scalar(
            select(TicketThread.ticket_id).where(TicketThread.thread_id == thread_id)
        )


def all_threads(db: Database) -> dict[int, int]:
    """Every recorded thread as {thread_id: ticket_id}, to rebuild the bot's in-memory map."""
    with db.session() as session:
        rows = session.execute(select(TicketThread.thread_id, TicketThread.ticket_id))
        return {thread_id: ticket_id for thread_id, ticket_id in rows}


def _ticket_id(value: int) -> int:
    """Check a Redmine issue id: a positive int that fits an INTEGER column."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_INT:
        raise ValueError(f"not a ticket id: {value!r}")
    return value
