"""The incidents' rows: every read and write of the incident tables, as records.

Each write is one transaction that also records the change on the timeline, reschedules the
incident's reminders (`reminders.schedule`) and tells the mirror (if any), so the incident,
its history, its reminders and the mirror's outbox never disagree. Every function blocks:
the service runs them on the database workers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netbot.chat import Post
from netbot.core.db import Database
from netbot.core.errors import NotFound
from netbot.incidents.config import Stage
from netbot.incidents.models import (
    IncidentParticipant,
    IncidentReminder,
    IncidentRow,
    IncidentTimelineRow,
)
from netbot.incidents.ports import IncidentMirror
from netbot.incidents.records import (
    DeclareRequest,
    HeadlineRef,
    Incident,
    IncidentPage,
    Participant,
    SpaceMessage,
    SpaceRef,
    TimelineEntry,
    TimelineKind,
)

# (incident as it now is, its reminder rows by kind, now, whether people just updated it)
Scheduler = Callable[[Incident, dict[str, IncidentReminder], dt.datetime, bool], None]


def to_incident(row: IncidentRow) -> Incident:
    space = None
    if row.space_id is not None:
        space = SpaceRef(row.space_id, row.space_name or "", row.space_parent_id)
    headline = None
    if row.headline_channel_id is not None and row.headline_message_id is not None:
        headline = HeadlineRef(row.headline_channel_id, row.headline_message_id)
    return Incident(
        id=row.id, guild_id=row.guild_id, title=row.title, summary=row.summary,
        impact=row.impact, severity=row.severity, status=cast(Stage, row.status),
        private=row.private, reporter_id=row.reporter_id, lead_id=row.lead_id,
        comms_id=row.comms_id, declared_at=row.declared_at, identified_at=row.identified_at,
        resolved_at=row.resolved_at, closed_at=row.closed_at, resolution=row.resolution,
        space=space, headline=headline, ticket_id=row.ticket_id,
        postmortem_at=row.postmortem_at,
    )  # fmt: skip


def to_entry(row: IncidentTimelineRow) -> TimelineEntry:
    return TimelineEntry(
        id=row.id, incident_id=row.incident_id, kind=cast(TimelineKind, row.kind), at=row.at,
        actor_id=row.actor_id, text=row.text, field=row.field, old=row.old, new=row.new,
        message_id=row.message_id, author_name=row.author_name,
        attachments=tuple(row.attachments or ()), url=row.url,
    )  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One field change to record on the timeline (`text`: a reason or resolution)."""

    field: str
    old: str | None
    new: str | None
    text: str = ""


class IncidentStore:
    """The incident tables of one database."""

    def __init__(
        self,
        database: Database,
        schedule: Scheduler,
        headline: Callable[[Incident, dt.datetime], Post],
        entry_post: Callable[[TimelineEntry], Post],
        mirror: IncidentMirror | None = None,
    ) -> None:
        self.database = database
        self._schedule = schedule
        self._headline = headline
        self._entry_post = entry_post
        self.mirror = mirror

    # ------------------------------------------------------------------ reading
    def get(self, incident_id: int) -> Incident:
        with self.database.session() as session:
            return to_incident(self._row(session, incident_id))

    def by_key(self, key: str) -> Incident | None:
        with self.database.session() as session:
            row = session.scalar(select(IncidentRow).where(IncidentRow.declare_key == key))
            return None if row is None else to_incident(row)

    def by_space(self, space_id: int) -> Incident | None:
        with self.database.session() as session:
            row = session.scalar(select(IncidentRow).where(IncidentRow.space_id == space_id))
            return None if row is None else to_incident(row)

    def find(self, guild_id: int, text: str, limit: int, open_only: bool) -> list[Incident]:
        """Incidents whose number or title matches `text` (newest first), for autocomplete."""
        query = select(IncidentRow).where(IncidentRow.guild_id == guild_id)
        if open_only:
            query = query.where(IncidentRow.status != "closed")
        text = text.strip()
        if text.startswith("#") and text[1:].isdigit() and len(text) < 11:
            query = query.where(IncidentRow.id == int(text[1:]))  # "#12": that one
        elif text:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            conditions: list[ColumnElement[bool]] = [
                func.lower(IncidentRow.title).like(like.lower())
            ]
            if text.isdigit() and len(text) < 10:
                conditions.append(IncidentRow.id == int(text))
            query = query.where(or_(*conditions))
        with self.database.session() as session:
            rows = session.scalars(query.order_by(IncidentRow.id.desc()).limit(limit))
            return [to_incident(row) for row in rows]

    def page(
        self, guild_id: int, closed: bool, since: dt.datetime | None, page: int, per_page: int
    ) -> IncidentPage:
        """Open incidents (or closed ones), newest first, one page of them."""
        where: list[Any] = [IncidentRow.guild_id == guild_id]
        where.append(IncidentRow.status == "closed" if closed else IncidentRow.status != "closed")
        if since is not None:
            where.append(IncidentRow.declared_at >= since)
        with self.database.session() as session:
            total = session.scalar(select(func.count()).select_from(IncidentRow).where(*where))
            pages = max(1, -(-(total or 0) // per_page))
            page = min(max(page, 1), pages)
            rows = session.scalars(
                select(IncidentRow).where(*where).order_by(IncidentRow.id.desc())
                .offset((page - 1) * per_page).limit(per_page)
            )  # fmt: skip
            return IncidentPage(tuple(map(to_incident, rows)), page, pages, total or 0)

    def since(self, guild_id: int, since: dt.datetime | None) -> list[Incident]:
        query = select(IncidentRow).where(IncidentRow.guild_id == guild_id)
        if since is not None:
            query = query.where(IncidentRow.declared_at >= since)
        with self.database.session() as session:
            return [to_incident(row) for row in session.scalars(query)]

    def unfinished(self, need_headline: bool) -> list[Incident]:
        """Open incidents whose space, invitations or headline are not all in place."""
        missing: list[ColumnElement[bool]] = [
            IncidentRow.space_id.is_(None),
            IncidentRow.invited.is_(False),
        ]
        if need_headline:
            missing.append(IncidentRow.headline_message_id.is_(None))
        query = select(IncidentRow).where(IncidentRow.status != "closed", or_(*missing))
        with self.database.session() as session:
            return [to_incident(row) for row in session.scalars(query)]

    def invited(self, incident_id: int) -> bool:
        with self.database.session() as session:
            return self._row(session, incident_id).invited

    def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """Ordered by time (a message's own time; Discord's has milliseconds, so messages of
        one millisecond by their ids, which grow with time), then by when it was recorded."""
        with self.database.session() as session:
            rows = session.scalars(
                select(IncidentTimelineRow)
                .where(IncidentTimelineRow.incident_id == incident_id)
                .order_by(
                    IncidentTimelineRow.at,
                    IncidentTimelineRow.message_id.asc().nulls_first(),
                    IncidentTimelineRow.id,
                )
            )
            return [to_entry(row) for row in rows]

    def participants(self, incident_id: int) -> list[Participant]:
        with self.database.session() as session:
            rows = session.scalars(
                select(IncidentParticipant)
                .where(IncidentParticipant.incident_id == incident_id)
                .order_by(IncidentParticipant.joined_at, IncidentParticipant.user_id)
            )
            return [Participant(r.user_id, r.joined_at, r.invited) for r in rows]

    # ------------------------------------------------------------------ declaring
    def declare(
        self, request: DeclareRequest, severity: str, lead_id: int | None, invitees: Sequence[int],
        now: dt.datetime,
    ) -> tuple[Incident, bool]:  # fmt: skip
        """The incident for `request.key`: a new one (True), or the one an earlier submit
        of the same form created (False)."""
        existing = self.by_key(request.key)
        if existing is not None:
            return existing, False
        try:
            with self.database.session(write=True) as session:
                row = IncidentRow(
                    declare_key=request.key, guild_id=request.guild_id,
                    title=request.title, summary=request.summary, impact=request.impact,
                    severity=severity, status="investigating", private=request.private,
                    reporter_id=request.reporter_id, lead_id=lead_id, comms_id=None,
                    declared_at=now, resolution="", invited=False,
                )  # fmt: skip
                session.add(row)
                session.flush()
                people = dict.fromkeys([request.reporter_id, *([lead_id] if lead_id else [])])
                for user in dict.fromkeys([*people, *invitees]):
                    session.add(
                        IncidentParticipant(
                            incident_id=row.id, user_id=user, joined_at=now,
                            invited=user not in people,
                        )
                    )  # fmt: skip
                change = Change("declared", None, request.severity or severity, "")
                self._record(session, row, request.reporter_id, now, [change], touched=True)
                incident = to_incident(row)
                if self.mirror is not None:
                    self.mirror.headline(session, row.id, self._headline(incident, now))
                return incident, True
        except IntegrityError:  # the same key, committed by a racing submit in between
            raced = self.by_key(request.key)
            if raced is None:
                raise
            return raced, False

    def set_space(self, incident_id: int, space: SpaceRef, topic: str) -> Incident:
        with self.database.session(write=True) as session:
            row = self._row(session, incident_id, lock=True)
            row.space_id, row.space_name, row.space_parent_id = (
                space.space_id, space.name, space.parent_id,
            )  # fmt: skip
            if self.mirror is not None:
                self.mirror.opened(session, incident_id, space.name, topic)
            return to_incident(row)

    def set_invited(self, incident_id: int) -> None:
        with self.database.session(write=True) as session:
            self._row(session, incident_id, lock=True).invited = True

    def set_headline(self, incident_id: int, ref: HeadlineRef) -> Incident:
        with self.database.session(write=True) as session:
            row = self._row(session, incident_id, lock=True)
            row.headline_channel_id, row.headline_message_id = ref.channel_id, ref.message_id
            return to_incident(row)

    def set_ticket(self, incident_id: int, ticket_id: int) -> Incident:
        with self.database.session(write=True) as session:
            row = self._row(session, incident_id, lock=True)
            row.ticket_id = ticket_id
            return to_incident(row)

    # ------------------------------------------------------------------ changing
    def change(
        self,
        incident_id: int,
        actor_id: int | None,
        now: dt.datetime,
        apply: Callable[[IncidentRow], list[Change]],
        check: Callable[[Incident], None] | None = None,
    ) -> tuple[Incident, list[TimelineEntry]]:
        """Apply `apply` to the incident's row (locked) after `check` passes on it as it
        stands (raising UserError leaves everything unchanged), record what it returns
        on the timeline, reschedule reminders and tell the mirror, in one transaction."""
        with self.database.session(write=True) as session:
            row = self._row(session, incident_id, lock=True)
            if check is not None:
                check(to_incident(row))
            changes = apply(row)
            entries = self._record(session, row, actor_id, now, changes, touched=True)
            incident = to_incident(row)
            if self.mirror is not None:
                self.mirror.headline(session, incident_id, self._headline(incident, now))
                if row.status == "closed" and any(c.field == "status" for c in changes):
                    self.mirror.closed(session, incident_id)
            return incident, entries

    def add_participant(self, incident_id: int, user_id: int, now: dt.datetime) -> bool:
        """Whether `user_id` is new to the incident."""
        with self.database.session(write=True) as session:
            self._row(session, incident_id)
            if session.get(IncidentParticipant, (incident_id, user_id)) is not None:
                return False
            session.add(IncidentParticipant(
                incident_id=incident_id, user_id=user_id, joined_at=now, invited=False
            ))  # fmt: skip
            return True

    def add_entry(
        self, incident_id: int, kind: TimelineKind, actor_id: int | None, now: dt.datetime,
        text: str, message: SpaceMessage | None = None,
    ) -> tuple[TimelineEntry, bool]:  # fmt: skip
        """A note, action item or message on the timeline; a message already on it is
        returned as it is (False: nothing added). Counts as an update (reminders)."""
        with self.database.session(write=True) as session:
            row = self._row(session, incident_id, lock=True)
            if message is not None:
                found = session.scalar(
                    select(IncidentTimelineRow).where(
                        IncidentTimelineRow.incident_id == incident_id,
                        IncidentTimelineRow.message_id == message.message_id,
                    )
                )
                if found is not None:
                    return to_entry(found), False
            entry = IncidentTimelineRow(
                incident_id=incident_id, kind=kind, actor_id=actor_id, text=text,
                at=message.at if message else now, attachments=[],
            )  # fmt: skip
            if message is not None:
                entry.message_id, entry.author_name = message.message_id, message.author_name[:100]
                entry.attachments, entry.url = list(message.attachments), message.url
            session.add(entry)
            session.flush()
            self._reschedule(session, row, now, touched=True)
            record = to_entry(entry)
            if self.mirror is not None:
                self.mirror.timeline(
                    session, incident_id, f"entry:{entry.id}", self._entry_post(record)
                )
            return record, True

    def update_message(
        self, message_id: int, text: str, attachments: Sequence[str]
    ) -> list[TimelineEntry]:
        """The entries of `message_id` with its new text (an edited message)."""
        with self.database.session(write=True) as session:
            rows = list(session.scalars(
                select(IncidentTimelineRow).where(IncidentTimelineRow.message_id == message_id)
            ))  # fmt: skip
            for row in rows:
                row.text, row.attachments = text, list(attachments)
                if self.mirror is not None:
                    key = f"entry:{row.id}"
                    self.mirror.timeline(
                        session, row.incident_id, key, self._entry_post(to_entry(row))
                    )
            return [to_entry(row) for row in rows]

    def remove_message(self, message_id: int, incident_id: int | None) -> int:
        """Remove the entries of `message_id` (in one incident, or everywhere)."""
        where = [IncidentTimelineRow.message_id == message_id]
        if incident_id is not None:
            where.append(IncidentTimelineRow.incident_id == incident_id)
        with self.database.session(write=True) as session:
            rows = list(session.scalars(select(IncidentTimelineRow).where(*where)))
            for row in rows:
                if self.mirror is not None:
                    self.mirror.timeline_removed(session, row.incident_id, f"entry:{row.id}")
                session.delete(row)
            return len(rows)

    # ------------------------------------------------------------------ reminders
    def reminder_rows(self, incident_id: int) -> dict[str, tuple[dt.datetime | None, int]]:
        """kind -> (next due, count), for tests."""
        with self.database.session() as session:
            rows = session.scalars(
                select(IncidentReminder).where(IncidentReminder.incident_id == incident_id)
            )
            return {r.kind: (r.next_due, r.count) for r in rows}

    def due(self, now: dt.datetime) -> list[tuple[Incident, str, dt.datetime, int]]:
        """(incident, kind, due moment, count so far) of every reminder due by `now`."""
        with self.database.session() as session:
            rows = session.execute(
                select(IncidentReminder, IncidentRow)
                .join(IncidentRow, IncidentRow.id == IncidentReminder.incident_id)
                .where(IncidentReminder.next_due.is_not(None), IncidentReminder.next_due <= now)
                .order_by(IncidentReminder.next_due, IncidentReminder.incident_id)
            )
            return [
                (
                    to_incident(row),
                    reminder.kind,
                    cast(dt.datetime, reminder.next_due),
                    reminder.count,
                )
                for reminder, row in rows
            ]

    def claim(
        self, incident_id: int, kind: str, due: dt.datetime, following: dt.datetime | None,
        now: dt.datetime,
    ) -> bool:  # fmt: skip
        """Move the reminder from `due` to `following` (count + 1) unless someone else
        already did: whoever claims it sends it, once."""
        with self.database.session(write=True) as session:
            result = session.execute(
                update(IncidentReminder)
                .where(
                    IncidentReminder.incident_id == incident_id,
                    IncidentReminder.kind == kind,
                    IncidentReminder.next_due == due,
                )
                .values(next_due=following, count=IncidentReminder.count + 1, last_sent=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def unclaim(
        self, incident_id: int, kind: str, due: dt.datetime, following: dt.datetime | None
    ) -> None:
        """The claimed reminder could not be sent: due again as it was (unless something
        rescheduled it meanwhile)."""
        with self.database.session(write=True) as session:
            session.execute(
                update(IncidentReminder)
                .where(
                    IncidentReminder.incident_id == incident_id,
                    IncidentReminder.kind == kind,
                    IncidentReminder.next_due.is_(None) if following is None
                    else IncidentReminder.next_due == following,
                )
                .values(next_due=due, count=IncidentReminder.count - 1)
            )  # fmt: skip

    def stop(self, incident_id: int, kind: str) -> None:
        with self.database.session(write=True) as session:
            session.execute(
                update(IncidentReminder)
                .where(IncidentReminder.incident_id == incident_id, IncidentReminder.kind == kind)
                .values(next_due=None)
            )

    def snooze(self, incident_id: int, kind: str, until: dt.datetime) -> bool:
        """Put the reminder off until `until` (whether it exists and is still pending)."""
        with self.database.session(write=True) as session:
            self._row(session, incident_id)
            reminder = session.get(IncidentReminder, (incident_id, kind), with_for_update=True)
            if reminder is None or reminder.next_due is None:
                return False
            reminder.snoozed_until = until
            reminder.next_due = max(reminder.next_due, until)
            return True

    # ------------------------------------------------------------------ inside
    def _row(self, session: Session, incident_id: int, lock: bool = False) -> IncidentRow:
        row = session.get(IncidentRow, incident_id, with_for_update=lock)
        if row is None:
            raise NotFound(f"There is no incident #{incident_id}.")
        return row

    def _record(
        self, session: Session, row: IncidentRow, actor_id: int | None, now: dt.datetime,
        changes: list[Change], touched: bool,
    ) -> list[TimelineEntry]:  # fmt: skip
        entries = []
        for change in changes:
            entry = IncidentTimelineRow(
                incident_id=row.id, kind="change", at=now, actor_id=actor_id, text=change.text,
                field=change.field, old=change.old, new=change.new, attachments=[],
            )  # fmt: skip
            session.add(entry)
            session.flush()
            record = to_entry(entry)
            entries.append(record)
            if self.mirror is not None:
                self.mirror.timeline(
                    session, row.id, f"entry:{entry.id}", self._entry_post(record),
                    status_change=change.field == "status",
                )  # fmt: skip
        self._reschedule(session, row, now, touched)
        return entries

    def _reschedule(
        self, session: Session, row: IncidentRow, now: dt.datetime, touched: bool
    ) -> None:
        rows = {
            r.kind: r
            for r in session.scalars(
                select(IncidentReminder).where(IncidentReminder.incident_id == row.id)
            )
        }
        before = set(rows)
        self._schedule(to_incident(row), rows, now, touched)
        for kind, reminder in rows.items():
            if kind not in before:
                session.add(reminder)
