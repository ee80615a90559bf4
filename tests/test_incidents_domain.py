"""The incident domain on real SQLite and PostgreSQL: lifecycle, idempotent declare,
resuming after a platform failure, timeline, stats, post-mortem, names, configuration.

The chat side is `RecordingSpaces` (tests/incidents_domain_kit.py); the Discord adapter is
tested through the real py-cord client elsewhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from netbot.chat import Post
from netbot.chat.markdown import render
from netbot.core.db import Database
from netbot.core.errors import NotFound, UserError
from netbot.core.tasks import ManualClock
from netbot.incidents import (
    DeclareRequest,
    IncidentsConfig,
    SpaceMessage,
    space_name,
    unknown_invitees,
)
from netbot.incidents.models import IncidentRow, IncidentTimelineRow
from tests.incidents_domain_kit import (
    GUILD,
    START,
    PlatformDown,
    RecordingSpaces,
    make_service,
    settings,
)

MIN = dt.timedelta(minutes=1)
REPORTER, LEAD, OTHER = 101, 102, 103


def declare(key: str = "form-1", **kwargs: Any) -> DeclareRequest:
    values: dict[str, Any] = {"guild_id": GUILD, "reporter_id": REPORTER, "title": "Database down",
                              "summary": "Primary DB is not answering", "impact": "Logins fail",
                              "severity": "critical"}  # fmt: skip
    values.update(kwargs)
    return DeclareRequest(key=key, **values)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def spaces() -> RecordingSpaces:
    return RecordingSpaces()


def all_text(post: Post) -> str:
    parts = [render(post.title), render(post.body)]
    parts += [render(f.name) + "=" + render(f.value) for f in post.fields]
    return " ".join(parts)


async def test_full_lifecycle(db: Database, clock: ManualClock, spaces: RecordingSpaces) -> None:
    service = make_service(db, clock, spaces)
    incident = await service.declare(declare())
    assert incident.space is not None and incident.headline is not None
    plan = spaces.spaces[incident.space.space_id]
    assert plan.name == f"inc-20261203-{incident.id}-database-down"
    assert set(plan.users) == {REPORTER, 501, 502} and set(plan.roles) == {601, 602}
    [welcome] = spaces.posts_of(incident.id)
    # one deliberate mention: the invitees (not the reporter, who declared it)
    assert set(welcome.post.mentions.users) == {501, 502}
    assert set(welcome.post.mentions.roles) == {601, 602}
    assert incident.lead_id == REPORTER  # the reporter leads by default

    clock_steps = [("identified", 10), ("monitoring", 20), ("resolved", 30)]
    for status, minutes in clock_steps:
        await clock.set(START + minutes * MIN)
        incident = await service.set_status(incident.id, LEAD, status)
    assert incident.identified_at == START + 10 * MIN
    assert incident.resolved_at == START + 30 * MIN
    with pytest.raises(UserError, match="already"):
        await service.set_status(incident.id, LEAD, "Resolved")
    with pytest.raises(UserError, match="resolution"):
        await service.set_status(incident.id, LEAD, "closed")
    with pytest.raises(UserError, match="resolution"):
        await service.close(incident.id, LEAD, "  ")
    assert (await service.get(incident.id)).status == "resolved"  # the refusal changed nothing

    incident = await service.close(incident.id, LEAD, "Failed over to the replica")
    assert incident.status == "closed" and incident.space.space_id in spaces.archived
    with pytest.raises(UserError, match="closed"):
        await service.set_severity(incident.id, LEAD, "minor")
    with pytest.raises(UserError, match="10 characters"):
        await service.reopen(incident.id, LEAD, "again")
    incident = await service.reopen(incident.id, LEAD, "It broke again at 10:40")
    assert incident.status == "investigating" and incident.closed_at is None
    assert incident.space.space_id not in spaces.archived

    # the headline: one post, edited in place on every change
    assert list(spaces.headlines) == [incident.headline.message_id]
    versions = spaces.headlines[incident.headline.message_id]
    assert len(versions) == 1 + 3 + 1 + 1  # declared, three statuses, close, reopen
    assert "Closed" in all_text(versions[-2]) and "Investigating" in all_text(versions[-1])
    changes = [(e.field, e.old, e.new) for e in await service.timeline(incident.id)]
    assert changes == [
        ("declared", None, "critical"),
        ("status", "investigating", "identified"),
        ("status", "identified", "monitoring"),
        ("status", "monitoring", "resolved"),
        ("status", "resolved", "closed"),
        ("status", "closed", "investigating"),
    ]
    assert not any(s.into_archived for s in spaces.sent)  # the reopen notice came after unarchiving
    # only the welcome pinged anyone
    pinging = [s for s in spaces.sent if s.post.mentions.users or s.post.mentions.roles]
    assert pinging == [welcome]
    # status names are the configured ones; names never change after creation
    assert [s.name for s in spaces.spaces.values()] == [plan.name]


async def test_configured_status_names_and_severity_change_invites(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    config = settings(statuses={"identified": "Cause found"})
    service = make_service(db, clock, spaces, config)
    incident = await service.declare(declare(severity="major"))
    assert spaces.spaces[incident.space.space_id].users == (REPORTER, 501)
    incident = await service.set_status(incident.id, LEAD, "cause FOUND")
    assert incident.status == "identified"
    with pytest.raises(UserError, match="Cause found"):
        await service.set_status(incident.id, LEAD, "bogus")
    await service.set_severity(incident.id, LEAD, "CRITICAL")
    # critical's own people are brought in; those already there are not invited twice
    assert spaces.invites[-1] == (incident.id, (502,), (602,))
    assert spaces.states[-1] == (incident.id, "critical", "identified")


async def test_declaring_twice_from_one_form_creates_one_incident(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    service = make_service(db, clock, spaces)
    first, second = await asyncio.gather(service.declare(declare()), service.declare(declare()))
    third = await service.declare(declare())
    assert first.id == second.id == third.id
    assert len(spaces.spaces) == 1 and len(spaces.headlines) == 1
    assert len(spaces.posts_of(first.id)) == 1  # one welcome, one mention
    with db.session() as session:
        assert len(session.scalars(select(IncidentRow)).all()) == 1
    other = await service.declare(declare(key="form-2"))
    assert other.id != first.id


async def test_a_retried_declare_finishes_what_an_outage_interrupted(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    service = make_service(db, clock, spaces)
    spaces.failing = {"create_space": 1}
    with pytest.raises(PlatformDown):
        await service.declare(declare())
    [stuck] = (await service.listing(GUILD)).items
    assert stuck.space is None and not spaces.spaces
    spaces.failing = {"show_headline": 1}
    with pytest.raises(PlatformDown):
        await service.declare(declare())  # the same form, retried: space now, headline fails
    assert len(spaces.spaces) == 1 and not spaces.headlines
    await service.tick()  # the job's repair pass finishes it
    incident = await service.get(stuck.id)
    assert incident.headline is not None and len(spaces.spaces) == 1
    assert len(spaces.posts_of(incident.id)) == 1  # the welcome, once


async def test_platform_failure_after_a_change_keeps_the_change(
    db: Database, clock: ManualClock, spaces: RecordingSpaces, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(db, clock, spaces)
    incident = await service.declare(declare())
    spaces.failing = {"post": 1, "show_headline": 1}
    incident = await service.set_status(incident.id, LEAD, "identified")
    assert (await service.get(incident.id)).status == "identified"
    assert re.search(r"change recorded but not shown in chat \(error [0-9a-f]{8}\)", caplog.text)


async def test_people_roles_and_private_incidents(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    service = make_service(db, clock, spaces)
    incident = await service.declare(declare(private=True, lead_id=LEAD))
    plan = spaces.spaces[incident.space.space_id]
    assert plan.private and LEAD in plan.users and REPORTER in plan.users
    assert "Database down" not in all_text(spaces.headlines[incident.headline.message_id][0])
    assert "Primary DB" not in all_text(spaces.headlines[incident.headline.message_id][0])
    with pytest.raises(UserError, match="private"):
        await service.join(incident.id, OTHER)
    with pytest.raises(UserError, match="Only the people"):
        await service.invite(incident.id, OTHER, [OTHER])
    await service.invite(incident.id, LEAD, [OTHER])
    assert spaces.invites[-1] == (incident.id, (OTHER,), ())
    incident = await service.set_comms(incident.id, LEAD, OTHER)
    with pytest.raises(UserError, match="already the comms"):
        await service.set_comms(incident.id, LEAD, OTHER)
    assert incident.comms_id == OTHER
    people = {p.user_id: p.invited for p in await service.participants(incident.id)}
    assert people == {REPORTER: False, LEAD: False, 501: True, 502: True, OTHER: False}


async def test_listing_pages_and_finding(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    service = make_service(db, clock, spaces)
    ids = []
    for n in range(12):
        await clock.set(START + dt.timedelta(days=n))
        ids.append((await service.declare(declare(key=f"k{n}", title=f"Outage {n}"))).id)
    await service.close(ids[0], LEAD, "fixed it")
    page = await service.listing(GUILD, page=2, per_page=5)
    assert (page.page, page.pages, page.total) == (2, 3, 11)
    assert [i.id for i in page.items] == ids[1:][::-1][5:10]
    assert (await service.listing(GUILD, page=99, per_page=5)).page == 3
    closed = await service.listing(GUILD, closed=True)
    assert [i.id for i in closed.items] == [ids[0]]
    recent = await service.listing(GUILD, since=START + dt.timedelta(days=10))
    assert [i.id for i in recent.items] == [ids[11], ids[10]]
    assert [i.id for i in await service.find(GUILD, "outage 1")] == [ids[11], ids[10], ids[1]]
    assert [i.id for i in await service.find(GUILD, f"#{ids[3]}")] == [ids[3]]
    assert await service.find(GUILD, "%") != []  # a wildcard is just text
    assert await service.find(GUILD + 1, "") == []
    with pytest.raises(NotFound):
        await service.get(10_000)


async def test_timeline_by_message_time_across_days_with_edit_and_delete(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    service = make_service(db, clock, spaces)
    incident = await service.declare(declare())
    space = incident.space.space_id
    late = SpaceMessage(11, space, OTHER, "Ann", "Replica promoted", START + dt.timedelta(days=1, hours=2),
                        ("https://cdn.example/graph.png",))  # fmt: skip
    early = SpaceMessage(12, space, LEAD, "Bo <@&1> @everyone", "Disk full on db1", START + 5 * MIN)
    await clock.set(START + dt.timedelta(days=2))  # pinned long after they were written
    await service.timeline_add_message(incident.id, LEAD, late)
    await service.timeline_add_message(incident.id, LEAD, early)
    again = await service.timeline_add_message(incident.id, OTHER, early)  # a second pushpin
    await service.note(incident.id, LEAD, "Call with the vendor")
    entries = await service.timeline(incident.id)
    assert [e.message_id for e in entries] == [None, 12, 11, None]
    assert again.id == entries[1].id
    lines = [render(line) for line in await service.timeline_lines(incident.id)]
    assert lines[1].startswith("`2026-12-03 10:05 CET`")
    assert lines[2].startswith("`2026-12-04 12:00 CET`") and "graph.png" in lines[2]
    assert "@everyone" not in lines[1].replace("@\u200beveryone", "")  # a hostile name pings nobody
    assert await service.timeline_update_message(12, "Disk full on db1 and db2") == 1
    assert await service.timeline_update_message(999, "not on any timeline") == 0
    assert (await service.timeline(incident.id))[1].text == "Disk full on db1 and db2"
    # two messages of the same millisecond: by message id (time-ordered), whatever pin order
    same = START + dt.timedelta(hours=5)
    await service.timeline_add_message(
        incident.id, LEAD, SpaceMessage(31, space, 1, "B", "second", same)
    )
    await service.timeline_add_message(
        incident.id, LEAD, SpaceMessage(30, space, 1, "A", "first", same)
    )
    assert [e.message_id for e in await service.timeline(incident.id)][2:4] == [30, 31]
    assert await service.timeline_remove_message(30) == 1
    assert await service.timeline_remove_message(31, incident_id=incident.id + 1) == 0
    assert await service.timeline_remove_message(31, incident_id=incident.id) == 1
    assert await service.timeline_remove_message(11) == 1
    assert [e.message_id for e in await service.timeline(incident.id)] == [None, 12, None]


async def test_stats_by_severity(db: Database, clock: ManualClock, spaces: RecordingSpaces) -> None:
    service = make_service(db, clock, spaces)
    # critical: acknowledged after 10, 20, ..., 100 minutes; resolved 60 minutes later
    for n in range(1, 11):
        await clock.set(START + dt.timedelta(days=n))
        incident = await service.declare(declare(key=f"c{n}"))
        await clock.advance(10 * n * MIN)
        await service.set_status(incident.id, LEAD, "identified")
        await clock.advance(60 * MIN)
        await service.set_status(incident.id, LEAD, "resolved")
    await service.declare(declare(key="m1", severity="minor"))  # never acknowledged
    stats = {s.severity: s for s in await service.stats(GUILD)}
    critical = stats["critical"]
    assert (critical.count, critical.acknowledged, critical.resolved) == (10, 10, 10)
    assert critical.ack_mean == 55 * MIN and critical.ack_p90 == 90 * MIN
    assert critical.resolve_mean == 115 * MIN and critical.resolve_p90 == 150 * MIN
    minor = stats["minor"]
    assert (minor.count, minor.acknowledged, minor.ack_mean, minor.ack_p90) == (1, 0, None, None)
    since = await service.stats(GUILD, since=START + dt.timedelta(days=10))
    assert [(s.severity, s.count) for s in since] == [("critical", 1), ("minor", 1)]


async def test_postmortem_document(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    service = make_service(db, clock, spaces)
    incident = await service.declare(
        declare(title="DB **down** @everyone [x](http://evil)", lead_id=LEAD)
    )
    await clock.advance(20 * MIN)
    await service.set_severity(incident.id, LEAD, "major")
    await service.set_status(incident.id, LEAD, "identified")
    message = SpaceMessage(77, incident.space.space_id, OTHER, "Ann", "Found it", START + 25 * MIN)
    await service.timeline_add_message(incident.id, LEAD, message)
    await service.note(incident.id, LEAD, "Add disk alerts", action_item=True)
    await clock.set(START + dt.timedelta(days=1, hours=1))
    await service.close(incident.id, LEAD, "Disk cleaned")
    document = await service.postmortem(incident.id, LEAD)
    md = document.markdown
    assert document.filename == f"postmortem-incident-{incident.id}.md"
    assert "DB \\*\\*down\\*\\* @\u200beveryone \\[x\\]\\(http://evil\\)" in md
    for needed in ("## Summary", "Primary DB is not answering", "## Impact", "Logins fail",
                   "**Time to acknowledge:** 20m", "**Time to resolve:** 1d 1h 0m",
                   "**Duration:** 1d 1h 0m", f"**Lead:** <@{LEAD}>", "## Resolution",
                   "Disk cleaned", "- [ ] Add disk alerts (<@102>)",
                   "(times in Europe/Berlin)", "**2026-12-03 10:25 CET** Ann: Found it",
                   "- 2026-12-03 10:00 CET: critical", "- 2026-12-03 10:20 CET: major",
                   f"- <@{LEAD}> (lead): joined 2026-12-03 10:00 CET", "- <@501>: invited"):  # fmt: skip
        assert needed in md, needed
    [attached] = [s for s in spaces.posts_of(incident.id) if s.filename]
    assert attached.content == md.encode() and not attached.post.mentions.users
    assert (await service.get(incident.id)).postmortem_at is not None


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Database down", "database-down"),
        ("  @everyone <@123> **urgent** ../../etc/passwd  ", "everyone-123-urgent-etc-passwd"),
        ("Ünïcödé Straße café", "unicode-strae-cafe"),
        ("🔥🔥🔥", "incident"),
        ("\u202eevil\u200b\nline", "evil-line"),
        ("----", "incident"),
        ("DROP TABLE incidents; --", "drop-table-incidents"),
    ],
)
def test_space_names_from_hostile_titles(title: str, slug: str) -> None:
    name = space_name(17, START, title, ZoneInfo("Europe/Berlin"))
    assert name == f"inc-20261203-17-{slug}"


def test_space_names_stay_within_discords_limit() -> None:
    for title in ("a" * 500, "word " * 100, "x-" * 300, "ß" * 300):
        name = space_name(10**9, START, title, ZoneInfo("Pacific/Kiritimati"))
        assert len(name) <= 100 and re.fullmatch(r"inc-20261203-1000000000-[a-z0-9-]+", name)
        assert not name.endswith("-")
    # the day is the display zone's day, not UTC's
    late = dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC)
    assert space_name(1, late, "x", ZoneInfo("Europe/Berlin")).startswith("inc-20261204-")


def test_bad_configuration_is_reported_not_accepted() -> None:
    with pytest.raises(ValidationError, match="repeat"):
        IncidentsConfig.model_validate({"severities": [{"name": "SEV1"}, {"name": "sev1"}]})
    with pytest.raises(ValidationError, match="forum_channel_id"):
        IncidentsConfig.model_validate({"space": "forum"})
    with pytest.raises(ValidationError, match="module path"):
        IncidentsConfig.model_validate({"extensions": ["my team/handlers"]})
    with pytest.raises(ValidationError, match="before end"):
        IncidentsConfig.model_validate({"office_hours": {"start": "18:00", "end": "09:00"}})
    with pytest.raises(ValidationError):
        IncidentsConfig.model_validate({"severities": [{"name": "<@123>"}]})


def test_unknown_invitees_are_listed_for_the_start_up_check() -> None:
    config = settings()
    problems = unknown_invitees(config, known_users={501}, known_roles={601, 602})
    assert problems == ["incidents.severities[critical].invite.users: no member 502"]
    assert unknown_invitees(config, {501, 502}, {601, 602}) == []


async def test_unknown_severity_and_bad_input_change_nothing(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    service = make_service(db, clock, spaces)
    with pytest.raises(UserError, match="critical, major, minor"):
        await service.declare(declare(severity="sev0"))
    with pytest.raises(UserError, match="title cannot be empty"):
        await service.declare(declare(title="   "))
    with pytest.raises(UserError, match="at most 2000"):
        await service.declare(declare(summary="x" * 2001))
    assert (await service.listing(GUILD)).total == 0 and not spaces.spaces
    incident = await service.declare(declare(severity=None))
    assert incident.severity == "minor"  # the lowest configured, when none is picked
    with pytest.raises(UserError, match="cannot be empty"):
        await service.note(incident.id, LEAD, " ")


async def test_the_mirror_writes_in_the_changes_transaction(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    class Mirror:
        def __init__(self) -> None:
            self.calls: list[tuple[str, int, str]] = []
            self.fail = False

        def headline(self, session: Session, incident_id: int, post: Post) -> None:
            self.calls.append(("headline", incident_id, ""))

        def timeline(
            self,
            session: Session,
            incident_id: int,
            key: str,
            post: Post,
            *,
            status_change: bool = False,
        ) -> None:
            assert session.get(IncidentTimelineRow, int(key.split(":")[1])) is not None
            self.calls.append(("timeline", incident_id, key))
            if self.fail:
                raise RuntimeError("outbox full")

        def timeline_removed(self, session: Session, incident_id: int, key: str) -> None:
            self.calls.append(("removed", incident_id, key))

        def opened(self, session: Session, incident_id: int, name: str, topic: str) -> None:
            self.calls.append(("opened", incident_id, name))

        def closed(self, session: Session, incident_id: int) -> None:
            self.calls.append(("closed", incident_id, ""))

    mirror = Mirror()
    service = make_service(db, clock, spaces, mirror=mirror)
    incident = await service.declare(declare())
    assert [c[0] for c in mirror.calls] == ["timeline", "headline", "opened"]
    mirror.fail = True
    with pytest.raises(RuntimeError, match="outbox full"):
        await service.set_status(incident.id, LEAD, "identified")
    assert (await service.get(incident.id)).status == "investigating"  # rolled back together
    assert len(await service.timeline(incident.id)) == 1
    mirror.fail = False
    await service.close(incident.id, LEAD, "done now")
    assert [c[0] for c in mirror.calls[-3:]] == ["timeline", "headline", "closed"]


async def test_hostile_text_stays_outside_text_everywhere(
    db: Database, clock: ManualClock, spaces: RecordingSpaces
) -> None:
    hostile = "@everyone <@&77> [click](http://evil.example) **x**"
    service = make_service(db, clock, spaces)
    incident = await service.declare(declare(title=hostile, summary=hostile, impact=hostile))
    await service.note(incident.id, LEAD, hostile)
    await service.close(incident.id, LEAD, hostile)
    headline = spaces.headlines[incident.headline.message_id][-1]
    shown = [all_text(headline), *(all_text(s.post) for s in spaces.sent)]
    shown += [render(line) for line in await service.timeline_lines(incident.id)]
    shown.append(spaces.spaces[incident.space.space_id].topic)
    for text in shown:
        assert "@everyone" not in text and "<@&77>" not in text, text
        assert "[click](" not in text and "**x**" not in text, text
    assert sum(hostile in t for t in shown) == 0
    assert any("@\u200beveryone" in t for t in shown)  # shown, defused
