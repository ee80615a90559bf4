"""What `/ticket sync N` (and the thread's status button) shows: read from the threader's
tables, so the bot answers without asking Redmine or Discord anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netbot.core.db import Database
from netbot.core.text import outside
from netbot.threader import store

if TYPE_CHECKING:
    from netbot.core.runtime import Runtime

STATUS_PREFIX = "threader:status:"  # the thread's status button: custom id + ticket id


@dataclass(frozen=True)
class SyncStatus:
    ticket_id: int
    enrolled: bool
    thread_id: int | None = None
    last_sync_at: dt.datetime | None = None
    pending: int = 0  # writes claimed but not yet confirmed
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


def sync_status(database: Database, ticket_id: int) -> SyncStatus:
    """The ticket's sync state; blocking (run it on a worker thread)."""
    state = store.ticket(database, ticket_id)
    if state is None:
        return SyncStatus(
            ticket_id, enrolled=False, pending=store.pending_count(database, ticket_id)
        )
    return SyncStatus(
        ticket_id,
        enrolled=True,
        thread_id=state.thread_id,
        last_sync_at=state.last_sync_at,
        pending=store.pending_count(database, ticket_id),
        last_error=state.last_error,
        last_error_at=state.last_error_at,
    )


def status_text(status: SyncStatus) -> str:
    """The status as a short reply; the error is outside text (Redmine's, Discord's)."""
    if not status.enrolled:
        lines = [
            f"Ticket #{status.ticket_id} is not synced yet: open its thread with "
            f"`/ticket thread {status.ticket_id}`, or set its discord-thread field; the "
            "threader picks it up at its next cycle."
        ]
    else:
        when = f"<t:{int(status.last_sync_at.timestamp())}:R>" if status.last_sync_at else "never"
        lines = [
            f"Ticket #{status.ticket_id} syncs with <#{status.thread_id}>.",
            f"Last sync: {when}.",
        ]
    if status.pending:
        lines.append(f"Pending: {status.pending} write(s) waiting to be confirmed.")
    elif status.enrolled:
        lines.append("Pending: nothing.")
    if status.last_error:
        at = f" (<t:{int(status.last_error_at.timestamp())}:R>)" if status.last_error_at else ""
        lines.append(f"Last error{at}: {outside(status.last_error, 300)}")
    return "\n".join(lines)


async def sync_report(runtime: Runtime, ticket_id: int) -> str:
    """The ticket's last sync, pending writes and last error, as a reply (read on a database
    worker thread)."""
    status = await runtime.workers.run("database", sync_status, runtime.database, ticket_id)
    return status_text(status)
