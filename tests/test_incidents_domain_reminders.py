"""Incident reminders on real SQLite and PostgreSQL, on a ManualClock: due when they should
be, persisted so a restart (a new service on the same database) neither repeats nor skips
one, snoozable, sent once however many ticks or processes race, and retried after a
platform failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from netbot.core.db import Database
from netbot.core.errors import UserError
from netbot.core.tasks import ManualClock
from netbot.incidents import DeclareRequest, IncidentService
from netbot.incidents.extensions import Extension
from tests.incidents_domain_kit import GUILD, START, RecordingSpaces, make_service, settings

MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
LEAD = 102


def request(key: str = "k", severity: str = "critical", lead: int | None = LEAD) -> DeclareRequest:
    return DeclareRequest(key, GUILD, 101, "Disk full", severity=severity, lead_id=lead)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def reminders(spaces: RecordingSpaces, incident_id: int) -> list[str]:
    """The reminder kinds posted so far (from their snooze buttons), in order."""
    return [
        s.buttons[0].action_id.split(":", 2)[2] for s in spaces.posts_of(incident_id) if s.buttons
    ]


async def at(clock: ManualClock, moment: dt.datetime, service: IncidentService) -> None:
    await clock.set(moment)
    await service.tick()


async def test_update_reminders_survive_a_restart_without_repeating_or_skipping(
    db_url: str, clock: ManualClock
) -> None:
    spaces = RecordingSpaces()
    from netbot import capabilities

    first_db = Database.open(db_url, capabilities.migration_dirs())
    service = make_service(first_db, clock, spaces)
    incident = await service.declare(request())
    await at(clock, START + 29 * MIN, service)
    assert reminders(spaces, incident.id) == []
    await at(clock, START + 30 * MIN, service)
    assert reminders(spaces, incident.id) == ["update"]
    await service.tick()  # the same moment again: nothing new
    first_db.close()

    # restart: a new process, a new service, the same database, the same moment
    second_db = Database.open(db_url, capabilities.migration_dirs())
    restarted = make_service(second_db, clock, spaces)
    await restarted.tick()
    assert reminders(spaces, incident.id) == ["update"]  # not repeated
    await at(clock, START + 60 * MIN, restarted)
    assert reminders(spaces, incident.id) == ["update"] * 2  # not skipped
    # down for 95 minutes: the overdue reminder goes out once, then the rhythm restarts
    await at(clock, START + 155 * MIN, restarted)
    assert reminders(spaces, incident.id) == ["update"] * 3
    await at(clock, START + 184 * MIN, restarted)
    assert reminders(spaces, incident.id) == ["update"] * 3
    await at(clock, START + 185 * MIN, restarted)
    assert reminders(spaces, incident.id) == ["update"] * 4
    second_db.close()


async def test_people_updating_push_the_update_reminder_back(
    db: Database, clock: ManualClock
) -> None:
    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces)
    incident = await service.declare(request(severity="major"))  # every 60 minutes
    await clock.set(START + 50 * MIN)
    await service.note(incident.id, LEAD, "Still digging")
    await at(clock, START + 100 * MIN, service)
    assert reminders(spaces, incident.id) == []
    await at(clock, START + 110 * MIN, service)
    assert reminders(spaces, incident.id) == ["update"]
    await service.set_status(incident.id, LEAD, "resolved")
    await at(clock, START + 10 * HOUR, service)
    assert reminders(spaces, incident.id) == ["update"]  # resolved: no more update reminders
    minor = await service.declare(request(key="m", severity="minor"))  # no update reminder
    await at(clock, START + 30 * HOUR, service)
    assert reminders(spaces, minor.id) == []


async def test_snooze_puts_a_reminder_off(db: Database, clock: ManualClock) -> None:
    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces)
    incident = await service.declare(request())
    await at(clock, START + 30 * MIN, service)
    [posted] = [s for s in spaces.posts_of(incident.id) if s.buttons]
    assert [b.label for b in posted.buttons] == ["Snooze 30 min", "Snooze 1 h", "Snooze 2 h"]
    reply = await service.act(incident.id, LEAD, posted.buttons[2].action_id)
    assert reply == "Snoozed until 12:30 CET."
    await at(clock, START + 149 * MIN, service)
    assert reminders(spaces, incident.id) == ["update"]
    await at(clock, START + 150 * MIN, service)
    assert reminders(spaces, incident.id) == ["update"] * 2
    with pytest.raises(UserError, match="Snooze for"):
        await service.act(incident.id, LEAD, "snooze:45:update")
    with pytest.raises(UserError, match="no longer pending"):
        await service.act(incident.id, LEAD, "snooze:30:close")
    with pytest.raises(UserError, match="Snooze for"):
        await service.act(incident.id, LEAD, "snooze:x:update")


async def test_a_reminder_is_sent_once_however_many_ticks_race(
    db: Database, clock: ManualClock
) -> None:
    spaces = RecordingSpaces()
    one, two = make_service(db, clock, spaces), make_service(db, clock, spaces)
    incident = await one.declare(request())
    await clock.set(START + 30 * MIN)
    await asyncio.gather(one.tick(), two.tick(), one.tick())
    assert reminders(spaces, incident.id) == ["update"]


async def test_a_failed_send_is_retried_next_tick(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces)
    incident = await service.declare(request())
    spaces.failing = {"post": 3}
    for minutes in (30, 31, 32):
        await at(clock, START + minutes * MIN, service)
    assert reminders(spaces, incident.id) == []
    assert caplog.text.count("retried next time") == 1  # once per failure streak
    await at(clock, START + 33 * MIN, service)
    assert reminders(spaces, incident.id) == ["update"] and "sent again" in caplog.text
    await at(clock, START + 60 * MIN, service)  # the rhythm is kept from the due time
    assert reminders(spaces, incident.id) == ["update"] * 2


async def test_lead_close_and_postmortem_reminders(db: Database, clock: ManualClock) -> None:
    config = settings(
        lead_unclaimed_minutes=10, close_reminder_hours=24, postmortem_reminder_hours=72
    )
    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces, config)
    incident = await service.declare(request(severity="minor"))
    await service.set_status(incident.id, LEAD, "identified")
    await at(clock, START + 3 * HOUR, service)
    assert reminders(spaces, incident.id) == []  # led: no lead reminder
    # the lead hands the incident back: reminded every 10 minutes, at most 5 times
    await clock.set(START + 3 * HOUR)
    await service.set_lead(incident.id, LEAD, None)
    for minutes in range(0, 70, 5):
        await at(clock, START + 3 * HOUR + minutes * MIN, service)
    assert reminders(spaces, incident.id) == ["lead"] * 5
    await service.set_lead(incident.id, LEAD, LEAD)
    spaces.sent.clear()

    await clock.set(START + 5 * HOUR)
    await service.set_status(incident.id, LEAD, "resolved")
    await at(clock, START + 29 * HOUR - MIN, service)
    assert reminders(spaces, incident.id) == []
    await at(clock, START + 29 * HOUR, service)
    assert reminders(spaces, incident.id) == ["close"]
    await at(clock, START + 53 * HOUR, service)
    assert reminders(spaces, incident.id) == ["close"] * 2
    await service.close(incident.id, LEAD, "cleaned up")
    await at(clock, START + 53 * HOUR + 72 * HOUR - MIN, service)
    assert reminders(spaces, incident.id) == ["close"] * 2
    await at(clock, START + 53 * HOUR + 72 * HOUR, service)
    assert reminders(spaces, incident.id) == ["close"] * 2 + ["postmortem"]
    await service.postmortem(incident.id, LEAD)
    await at(clock, START + 400 * HOUR, service)
    assert reminders(spaces, incident.id) == ["close"] * 2 + ["postmortem"]  # written: stops


async def test_office_hours_defer_reminders_that_keep_them(
    db: Database, clock: ManualClock
) -> None:
    config = settings(
        office_hours={"start": "09:00", "end": "17:00"},  # Monday to Friday by default
        severities=[{"name": "critical", "update_reminder_minutes": 30},
                    {"name": "minor", "update_reminder_minutes": 60, "office_hours_only": True}],
    )  # fmt: skip
    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces, config)
    friday_evening = dt.datetime(2026, 12, 4, 15, 30, tzinfo=dt.UTC)  # 16:30 in Berlin
    await clock.set(friday_evening)
    minor = await service.declare(request(key="minor", severity="minor"))
    critical = await service.declare(request(key="crit", severity="critical"))
    await at(clock, friday_evening + 30 * MIN, service)
    assert reminders(spaces, critical.id) == ["update"]  # critical ignores office hours
    monday_opening = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)  # 09:00 in Berlin
    await at(clock, monday_opening - MIN, service)
    assert reminders(spaces, minor.id) == []
    await at(clock, monday_opening, service)
    assert reminders(spaces, minor.id) == ["update"]


async def test_extension_notifications_and_take_a_break(db: Database, clock: ManualClock) -> None:
    ext = Extension("test")
    seen: list[tuple[str, int]] = []

    @ext.recurring_notification(interval_mins=30, max_notifications=3)
    async def nag(ctx) -> None:  # type: ignore[no-untyped-def]
        seen.append(("nag", ctx.incident.id))

    @ext.single_notification(initial_delay_mins=5)
    def once(ctx) -> None:  # type: ignore[no-untyped-def]
        seen.append(("once", ctx.incident.id))

    @ext.recurring_notification(interval_mins=10)
    def broken(ctx) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("handler bug")

    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces, settings(take_a_break_minutes=90), [ext])
    incident = await service.declare(request(severity="minor"))
    for minutes in range(0, 200, 5):
        await at(clock, START + minutes * MIN, service)
    assert seen == [
        ("once", incident.id),
        ("nag", incident.id),
        ("nag", incident.id),
        ("nag", incident.id),
    ]
    breaks = [s for s in spaces.posts_of(incident.id) if "Take a break" in str(s.post.body)]
    assert len(breaks) == 2  # at 90 and 180 minutes
    assert f"<@{LEAD}>" in str(breaks[0].post.body) and not breaks[0].post.mentions.users
    # the broken handler ran every 10 minutes, logged each time, and broke nothing
    assert sum("handler bug" in f for f in service.registry.failures) == 19
    await service.set_status(incident.id, LEAD, "resolved")
    before = len(seen), len(breaks)
    await at(clock, START + 10 * HOUR, service)
    assert (
        len(seen),
        len([s for s in spaces.posts_of(incident.id) if "Take a break" in str(s.post.body)]),
    ) == before


async def test_a_notification_whose_handler_left_the_configuration_stops(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    ext = Extension("gone")

    @ext.recurring_notification(interval_mins=30)
    def nag(ctx) -> None:  # type: ignore[no-untyped-def]
        pass

    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces, settings(), [ext])
    incident = await service.declare(request(severity="minor"))
    restarted = make_service(db, clock, spaces, settings())  # the module was removed
    await at(clock, START + HOUR, restarted)
    assert "no handler x:gone.nag any more" in caplog.text
    assert restarted.store.reminder_rows(incident.id)["x:gone.nag"][0] is None


async def test_changes_and_the_reminder_job_write_at_the_same_time(
    db: Database, clock: ManualClock
) -> None:
    """Many writers at once (people's changes on worker threads while the job claims
    reminders): on SQLite a read-then-write transaction must not fail with "database is
    locked"; every change and every reminder lands once."""
    spaces = RecordingSpaces()
    one, two = make_service(db, clock, spaces), make_service(db, clock, spaces)
    incidents = [await one.declare(request(key=f"k{n}")) for n in range(8)]
    await clock.set(START + 30 * MIN)
    work = [one.note(i.id, LEAD, f"note {n}") for n in range(5) for i in incidents]
    work += [two.tick(), one.tick(), two.tick()]
    await asyncio.gather(*work)
    for incident in incidents:
        notes = [e for e in await one.timeline(incident.id) if e.kind == "note"]
        assert len(notes) == 5
        assert reminders(spaces, incident.id) in ([], ["update"])  # a note may push it back
