"""The threader's memory: links (journal <-> message), claims, and each ticket's sync state.

Plain blocking functions over `Database`, each one transaction, taking ids and data. A claim
becomes a link in the same transaction that deletes it (`settle`), so a crash leaves either
the claim (resolved from the remote side at the next start) or the link, never neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from netbot.core.db import Database, upsert
from netbot.core.models import utcnow
from netbot.threader.models import SyncClaim, SyncLink, SyncTicket

STATE_NAMESPACE = "threader"
CURSOR_KEY = "redmine_updated_on"
CYCLES_KEY = "cycles"
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Link:
    journal_id: int
    message_id: int
    ticket_id: int
    thread_id: int
    origin: str
    part: int
    source_hash: str
    tombstone: bool


@dataclass(frozen=True)
class Claim:
    id: int
    ticket_id: int
    thread_id: int
    kind: str
    source_id: int
    part: int
    token: str
    after_id: int | None
    source_hash: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TicketState:
    ticket_id: int
    thread_id: int
    guild_id: int
    parent_id: int
    updated_on: str
    updated_seen_at: dt.datetime | None
    last_message_id: int
    closed: bool
    active: bool
    last_sync_at: dt.datetime | None
    last_error: str | None
    last_error_at: dt.datetime | None


def _as(record: type[Any], row: Any) -> Any:
    return record(**{name: getattr(row, name) for name in record.__dataclass_fields__})


# --- tickets ------------------------------------------------------------------------------


def enrol(db: Database, ticket_id: int, thread_id: int, guild_id: int, parent_id: int) -> None:
    """Start syncing `ticket_id` with `thread_id`; a ticket moved to another thread starts
    over with that thread (its cursors reset), one already on it is left alone."""
    with db.session() as session:
        current = session.get(SyncTicket, ticket_id)
        if current is not None and current.thread_id == thread_id:
            return
        row = {
            "ticket_id": ticket_id, "thread_id": thread_id, "guild_id": guild_id,
            "parent_id": parent_id, "updated_on": "", "updated_seen_at": None,
            "last_message_id": 0, "closed": False, "active": True, "last_sync_at": None,
            "last_error": None, "last_error_at": None,
        }  # fmt: skip
        upsert(session, SyncTicket, row, keys=("ticket_id",))


def ticket(db: Database, ticket_id: int) -> TicketState | None:
    with db.session() as session:
        row = session.get(SyncTicket, ticket_id)
        return None if row is None else _as(TicketState, row)


def tickets(db: Database) -> dict[int, TicketState]:
    """Every enrolled ticket by id."""
    with db.session() as session:
        return {row.ticket_id: _as(TicketState, row) for row in session.scalars(select(SyncTicket))}


def set_ticket(db: Database, ticket_id: int, **fields: Any) -> None:
    """Overwrite some of a ticket's state columns (cursors, closed, active...)."""
    with db.session() as session:
        session.execute(update(SyncTicket).where(SyncTicket.ticket_id == ticket_id).values(fields))


def synced(db: Database, ticket_id: int, **fields: Any) -> None:
    """A sync of the ticket finished without error: record when, clear the error."""
    set_ticket(db, ticket_id, last_sync_at=utcnow(), last_error=None, last_error_at=None, **fields)


def failed(db: Database, ticket_id: int, error: str) -> bool:
    """Record the ticket's error; True when it is new (not the same as the last one), so a
    failure repeating every cycle is logged once."""
    error = error[:MAX_ERROR_CHARS]
    with db.session() as session:
        row = session.get(SyncTicket, ticket_id)
        if row is None:
            return True
        new = row.last_error != error
        row.last_error, row.last_error_at = error, utcnow()
        return new


# --- links --------------------------------------------------------------------------------


def links(db: Database, ticket_id: int) -> list[Link]:
    with db.session() as session:
        rows = session.scalars(
            select(SyncLink)
            .where(SyncLink.ticket_id == ticket_id)
            .order_by(SyncLink.journal_id, SyncLink.part)
        )
        return [_as(Link, row) for row in rows]


def _insert_link(session: Any, link: Link) -> None:
    row = {name: getattr(link, name) for name in Link.__dataclass_fields__}
    upsert(session, SyncLink, row, keys=("journal_id", "message_id"))


def set_link(db: Database, journal_id: int, message_id: int, **fields: Any) -> None:
    with db.session() as session:
        session.execute(
            update(SyncLink)
            .where(SyncLink.journal_id == journal_id, SyncLink.message_id == message_id)
            .values(fields)
        )


def drop_link(db: Database, journal_id: int, message_id: int) -> None:
    with db.session() as session:
        session.execute(
            delete(SyncLink).where(
                SyncLink.journal_id == journal_id, SyncLink.message_id == message_id
            )
        )


# --- claims -------------------------------------------------------------------------------


def claim(
    db: Database,
    ticket_id: int,
    thread_id: int,
    kind: str,
    source_id: int,
    token: str,
    *,
    part: int = 0,
    after_id: int | None = None,
    source_hash: str = "",
) -> Claim:
    """Record a write about to be made (before making it)."""
    with db.session() as session:
        row = SyncClaim(
            ticket_id=ticket_id, thread_id=thread_id, kind=kind, source_id=source_id,
            part=part, token=token, after_id=after_id, source_hash=source_hash,
            created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return _as(Claim, row)


def claims(db: Database, ticket_id: int | None = None) -> list[Claim]:
    """Open claims, oldest first: one ticket's, or every ticket's."""
    query = select(SyncClaim).order_by(SyncClaim.id)
    if ticket_id is not None:
        query = query.where(SyncClaim.ticket_id == ticket_id)
    with db.session() as session:
        return [_as(Claim, row) for row in session.scalars(query)]


def settle(db: Database, claim_id: int, link: Link | None = None, **ticket_fields: Any) -> None:
    """The claimed write is known: drop the claim and record its link (None: nothing to
    record, e.g. the write surely did not happen and will be made again under a new claim),
    and optionally move the ticket's state, all in one transaction."""
    with db.session() as session:
        session.execute(delete(SyncClaim).where(SyncClaim.id == claim_id))
        if link is not None:
            _insert_link(session, link)
        if ticket_fields and link is not None:
            session.execute(
                update(SyncTicket)
                .where(SyncTicket.ticket_id == link.ticket_id)
                .values(ticket_fields)
            )


def pending_count(db: Database, ticket_id: int | None = None) -> int:
    query = select(func.count()).select_from(SyncClaim)
    if ticket_id is not None:
        query = query.where(SyncClaim.ticket_id == ticket_id)
    with db.session() as session:
        return int(session.scalar(query) or 0)


# --- the Redmine cursor -------------------------------------------------------------------


def cursor(db: Database) -> str:
    """The newest `updated_on` of an enrolled ticket fully synced ("" before the first)."""
    value = db.get_state(STATE_NAMESPACE, CURSOR_KEY, "")
    return value if isinstance(value, str) else ""


def set_cursor(db: Database, value: str) -> None:
    db.set_state(STATE_NAMESPACE, CURSOR_KEY, value)


def count_cycle(db: Database) -> int:
    """Count one more cycle; the number of cycles run so far, by any threader process, so
    periodic work (the full recheck) happens also when each run is one cycle (cron)."""
    value = db.get_state(STATE_NAMESPACE, CYCLES_KEY, 0)
    count = (value if isinstance(value, int) else 0) + 1
    db.set_state(STATE_NAMESPACE, CYCLES_KEY, count)
    return count
