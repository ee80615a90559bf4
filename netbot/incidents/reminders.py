"""Reminders: when each one of an incident is due, and the supervisor job that sends them.

Every reminder is a row (`IncidentReminder`: next due, count sent, snoozed until), so the
schedule survives a restart: the job sends what is due by the clock, whatever happened
before. It claims a reminder (moving it to its next due moment) in the database before
sending it, so two processes or two ticks never send it twice; a send that fails is handed
back and tried on the next tick. A restart after downtime sends each overdue reminder once
(not once per missed period), then keeps its rhythm from then on.

Kinds: `update` (per severity, while investigating/identified/monitoring; any change by
people pushes it back), `lead` (no lead), `close` (resolved but not closed), `postmortem`
(closed without a post-mortem), and `x:<handler>` for extensions' notifications (the built-in
take-a-break among them), while the incident is active.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

from netbot.core.errors import new_error_id
from netbot.core.runtime import Workers
from netbot.core.tasks import Clock
from netbot.incidents.config import IncidentsConfig
from netbot.incidents.extensions import Registry
from netbot.incidents.models import IncidentReminder
from netbot.incidents.records import Incident, Reminder
from netbot.incidents.store import IncidentStore

log = logging.getLogger(__name__)

T = TypeVar("T")
JOB = "incidents.reminders"
SNOOZE_MINUTES = (30, 60, 120)
OWN_KINDS = ("update", "lead", "close", "postmortem")
# How many times each of the service's own recurring reminders is sent at most.
MOST = {"lead": 5, "close": 5, "postmortem": 3}

Deliver = Callable[[Incident, str, int], Awaitable[bool]]


class Schedule:
    """When each reminder of an incident is due, from the incident's state."""

    def __init__(self, settings: IncidentsConfig, registry: Registry, tz: ZoneInfo) -> None:
        self.settings = settings
        self.registry = registry
        self.tz = tz

    def __call__(
        self, incident: Incident, rows: dict[str, IncidentReminder], now: dt.datetime,
        touched: bool,
    ) -> None:  # fmt: skip
        """Bring `rows` (kind -> row; new rows are added to it) in line with `incident`
        as it now stands; `touched`: people just changed it (the update reminder restarts)."""
        settings = self.settings

        def row(kind: str) -> IncidentReminder:
            if kind not in rows:
                rows[kind] = IncidentReminder(incident_id=incident.id, kind=kind, count=0)
            return rows[kind]

        def stop(kind: str) -> None:
            if kind in rows:
                rows[kind].next_due = None

        def start(kind: str, moment: dt.datetime, restart: bool = False) -> None:
            reminder = row(kind)
            if reminder.next_due is None or restart:
                if reminder.snoozed_until is not None:
                    moment = max(moment, reminder.snoozed_until)
                reminder.next_due = self.opening(incident, kind, moment)

        interval = self.update_interval(incident)
        if incident.is_active and interval is not None:
            start("update", now + interval, restart=touched)
        else:
            stop("update")
        lead = dt.timedelta(minutes=settings.lead_unclaimed_minutes)
        if (
            incident.is_active
            and incident.lead_id is None
            and lead
            and row("lead").count < MOST["lead"]
        ):
            start("lead", now + lead)
        else:
            stop("lead")
        close = dt.timedelta(hours=settings.close_reminder_hours)
        if incident.status == "resolved" and close and incident.resolved_at is not None:
            start("close", max(incident.resolved_at + close, now))
        else:
            stop("close")
            if "close" in rows and incident.status != "closed":
                rows["close"].count = 0  # resolved again later: the count starts over
        postmortem = dt.timedelta(hours=settings.postmortem_reminder_hours)
        wanted = incident.status == "closed" and incident.postmortem_at is None
        if wanted and postmortem and incident.closed_at is not None:
            if row("postmortem").count < MOST["postmortem"]:
                start("postmortem", max(incident.closed_at + postmortem, now))
        else:
            stop("postmortem")
        for note in self.registry.notifications():
            reminder = row(note.key)
            most = note.max_notifications
            if not incident.is_active or (most is not None and reminder.count >= most):
                stop(note.key)
            elif reminder.count == 0:
                start(note.key, max(incident.declared_at + note.initial_delay, now))
            else:
                start(note.key, now + (note.interval or note.initial_delay))

    def update_interval(self, incident: Incident) -> dt.timedelta | None:
        try:
            minutes = self.settings.severity(incident.severity).update_reminder_minutes
        except KeyError:  # a severity since removed from the configuration
            return None
        return None if minutes is None else dt.timedelta(minutes=minutes)

    def opening(self, incident: Incident, kind: str, moment: dt.datetime) -> dt.datetime:
        """`moment`, or the next office-hours opening for reminders that keep to them."""
        hours = self.settings.office_hours
        if hours is None:
            return moment
        if kind in ("close", "postmortem"):
            return hours.next_open(moment, self.tz)
        if kind == "update":
            try:
                if self.settings.severity(incident.severity).office_hours_only:
                    return hours.next_open(moment, self.tz)
            except KeyError:
                pass
        return moment

    def following(
        self, incident: Incident, kind: str, due: dt.datetime, count: int, now: dt.datetime
    ) -> dt.datetime | None:
        """When the reminder is due after the one due at `due` (the `count`-th, from 1)."""
        period: dt.timedelta | None
        most: int | None
        if kind == "update":
            period, most = self.update_interval(incident), None
        elif kind == "lead":
            period, most = dt.timedelta(minutes=self.settings.lead_unclaimed_minutes), MOST["lead"]
        elif kind == "close":
            period, most = dt.timedelta(hours=self.settings.close_reminder_hours), MOST["close"]
        elif kind == "postmortem":
            hours = self.settings.postmortem_reminder_hours
            period, most = dt.timedelta(hours=hours), MOST["postmortem"]
        else:
            note = self.registry.notification(kind)
            if note is None:
                return None
            period, most = note.interval, note.max_notifications
        if not period or (most is not None and count >= most):
            return None
        moment = due + period
        if moment <= now:  # it was overdue (downtime): keep the rhythm from now
            moment = now + period
        return self.opening(incident, kind, moment)


class ReminderEngine:
    """The `incidents.reminders` job: sends every reminder that is due, once."""

    def __init__(
        self, store: IncidentStore, schedule: Schedule, clock: Clock, deliver: Deliver,
        workers: Workers,
    ) -> None:  # fmt: skip
        self.store = store
        self.schedule = schedule
        self.clock = clock
        self.deliver = deliver
        self.workers = workers
        self._failing: set[tuple[int, str]] = set()  # (incident, kind) whose sending fails

    async def _db(self, call: Callable[..., T], *args: object) -> T:
        return await self.workers.run("database", call, *args)

    async def tick(self) -> list[Reminder]:
        """Send each reminder due now (oldest first); what was sent."""
        now = self.clock.now()
        sent: list[Reminder] = []
        for incident, kind, due, count in await self._db(self.store.due, now):
            if kind.startswith("x:") and self.schedule.registry.notification(kind) is None:
                log.warning(
                    "incident %s: no handler %s any more; its reminder stops", incident.id, kind
                )
                await self._db(self.store.stop, incident.id, kind)
                continue
            following = self.schedule.following(incident, kind, due, count + 1, now)
            if not await self._db(self.store.claim, incident.id, kind, due, following, now):
                continue  # another process or tick has sent it
            try:
                await self.deliver(incident, kind, count + 1)
            except Exception as exc:
                if (incident.id, kind) not in self._failing:  # once per failure streak
                    log.warning(
                        "incident %s: reminder %s not sent, retried next time (error %s): %s: %s",
                        incident.id, kind, new_error_id(), type(exc).__name__, exc,
                    )  # fmt: skip
                self._failing.add((incident.id, kind))
                await self._db(self.store.unclaim, incident.id, kind, due, following)
                continue
            if (incident.id, kind) in self._failing:
                self._failing.discard((incident.id, kind))
                log.info("incident %s: reminder %s sent again", incident.id, kind)
            reminder = Reminder(incident.id, kind, count + 1, now)
            sent.append(reminder)
        return sent
