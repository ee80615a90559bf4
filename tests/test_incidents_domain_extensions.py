"""The incident extension API: handlers on an `Extension` object, one `Registry` per service,
modules loaded from configuration, the built-in features written with the same decorators,
and broken handlers or modules logged by name without breaking the incident.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netbot import capabilities
from netbot.core.db import Database
from netbot.core.errors import NotFound, UserError
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets
from netbot.core.tasks import ManualClock
from netbot.incidents import (
    CLOSE_BUTTON,
    JOB,
    DeclareRequest,
    Extension,
    Registry,
    SpaceEvent,
    SpaceMessage,
    build,
)
from netbot.incidents.extensions import load_registry
from tests.incidents_domain_kit import GUILD, START, RecordingSpaces, Sent, make_service, settings

MIN = dt.timedelta(minutes=1)
LEAD = 102
EXAMPLE = "examples.incident_extensions"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for handler modules written by a test."""
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("team_")]:
        del sys.modules[name]


def request(key: str = "k") -> DeclareRequest:
    return DeclareRequest(key, GUILD, 101, "API errors", severity="minor", lead_id=LEAD)


def message(space: int, text: str, message_id: int = 1) -> SpaceMessage:
    return SpaceMessage(message_id, space, 103, "Ann", text, START)


async def test_the_example_module_loaded_from_configuration(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = settings(extensions=[EXAMPLE])
    spaces = RecordingSpaces()
    runtime = Runtime(
        config=capabilities.parse_config({"guilds": [GUILD], "incidents": config.model_dump()}),
        secrets=Secrets(), database=db, clock=clock,
    )  # fmt: skip
    service = build(runtime, spaces)
    assert "Message Content intent" in caplog.text
    assert service.registry.needs_message_content
    assert JOB in runtime.supervisor.jobs
    incident = await service.declare(request())
    space = incident.space.space_id

    async def said() -> list[str]:
        return [str(s.post.body) for s in spaces.posts_of(incident.id)]

    # keyword handler: whole words, any case, "run book" with any spacing
    for n, text in enumerate(
        ["where is the RUNBOOK?", "the run   book says", "runbooks", "brunbook"]
    ):
        await service.on_message(incident.id, message(space, text, n))
    assert sum("runbooks/incidents" in t for t in await said()) == 2

    # single notification from the supervisor's own job, on its clock, with a button
    async def job_ran_at(moment: dt.datetime) -> None:
        """Move the clock; wait (bounded) until every run due by `moment` has finished (they
        call worker threads, which a clock move alone does not wait for). A run still busy
        from the previous move may end first, so one `done` is not enough: the job is past
        `moment` once its next run is scheduled after it (set as each run ends)."""
        state = runtime.supervisor.jobs[JOB]
        await clock.set(moment)
        while state.next_run is None or state.next_run <= moment:
            await asyncio.wait_for(state.done.wait(), 10)

    def asked() -> list[Sent]:
        return [s for s in spaces.posts_of(incident.id) if "status page" in str(s.post.body)]

    done = runtime.supervisor.jobs[JOB].done
    runtime.supervisor.start()
    try:
        await asyncio.wait_for(done.wait(), 10)  # its first run, at start
        await job_ran_at(START + 14 * MIN)
        assert asked() == []
        await job_ran_at(START + 15 * MIN)
        assert len(asked()) == 1 and asked()[0].buttons[0].action_id == "statuspage-done"
        await job_ran_at(START + 3 * 60 * MIN)
        assert len(asked()) == 1
    finally:
        await runtime.supervisor.stop()
    assert await service.act(incident.id, 104, "statuspage-done") == "Noted on the timeline."
    assert (await service.timeline(incident.id))[-1].text == "Status page updated"
    await service.join(incident.id, 105)  # joining fires the member_join event, once
    await service.join(incident.id, 105)
    assert sum("Welcome <@105>" in t for t in await said()) == 1
    assert spaces.invites[-1] == (incident.id, (105,), ())
    assert await service.run_command(incident.id, 104, "statuspage") == "Asked."
    helps = {name: c.helptext for c in service.commands() for name in c.names}
    assert helps == {"duration": "How long has this incident been running?",
                     "statuspage": "Ask for a status page update"}  # fmt: skip
    assert not any(s.post.mentions.users or s.post.mentions.roles for s in spaces.sent[1:])


async def test_builtin_duration_and_close_button(db: Database, clock: ManualClock) -> None:
    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces)
    incident = await service.declare(request())
    await clock.set(START + dt.timedelta(hours=26, minutes=5))
    reply = await service.run_command(incident.id, LEAD, "duration")
    assert reply == f"Incident #{incident.id} has been running for 1d 2h 5m."
    prompt = service.action_prompt(CLOSE_BUTTON)
    assert prompt is not None and prompt.label == "Resolution"
    with pytest.raises(UserError, match="Resolution needs 3"):
        await service.act(incident.id, LEAD, CLOSE_BUTTON, " x ")
    assert (await service.get(incident.id)).is_open
    assert (
        await service.act(incident.id, LEAD, CLOSE_BUTTON, "Rolled back")
        == f"Incident #{incident.id} is closed."
    )
    closed = await service.get(incident.id)
    assert closed.status == "closed" and closed.resolution == "Rolled back"
    assert incident.space.space_id in spaces.archived
    with pytest.raises(UserError, match="is closed; reopen it first"):  # the user's, not a crash
        await service.act(incident.id, LEAD, CLOSE_BUTTON, "Rolled back again")
    assert (
        await service.run_command(incident.id, LEAD, "duration")
        == f"Incident #{incident.id} lasted 1d 2h 5m (declared to resolved)."
    )
    with pytest.raises(NotFound, match="no incident command"):
        await service.run_command(incident.id, LEAD, "nope")
    with pytest.raises(UserError, match="no longer does anything"):
        await service.act(incident.id, LEAD, "gone-button")


async def test_a_raising_handler_is_logged_by_name_and_breaks_nothing(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    ext = Extension("team")

    @ext.incident_command(["explode"], helptext="fails")
    def explode(ctx, text: str) -> str:  # type: ignore[no-untyped-def]
        raise ValueError("boom")

    @ext.keyword_handler(["database"])
    async def bad_keyword(ctx, message: SpaceMessage) -> None:  # type: ignore[no-untyped-def]
        raise KeyError("nope")

    @ext.keyword_handler(["database"])
    async def good_keyword(ctx, message: SpaceMessage) -> None:  # type: ignore[no-untyped-def]
        await ctx.post("DB runbook: see the wiki")

    @ext.event_handler("reaction_add")
    def bad_event(ctx, event: SpaceEvent) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("event bug")

    spaces = RecordingSpaces()
    service = make_service(db, clock, spaces, extensions=[ext])
    incident = await service.declare(request())
    reply = await service.run_command(incident.id, LEAD, "explode")
    assert reply is not None
    error_id = re.search(r"error ([0-9a-f]{8})", reply).group(1)  # type: ignore[union-attr]
    assert (
        f"incident handler team.explode failed on incident {incident.id} (error {error_id})"
        in caplog.text
    )
    await service.on_message(incident.id, message(incident.space.space_id, "the database is down"))
    assert "incident handler team.bad_keyword failed" in caplog.text
    assert any("DB runbook" in str(s.post.body) for s in spaces.sent)  # the next one still ran
    await service.on_event(incident.id, SpaceEvent("reaction_add", 103, None, 5, "\N{PUSHPIN}"))
    assert "team.bad_event" in caplog.text
    assert (await service.set_status(incident.id, LEAD, "identified")).status == "identified"


def test_broken_modules_are_logged_and_skipped(
    modules: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (modules / "team_syntax.py").write_text("def broken(:\n")
    (modules / "team_raises.py").write_text("raise RuntimeError('import-time bug')\n")
    (modules / "team_empty.py").write_text("X = 1\n")
    (modules / "team_dupe.py").write_text(
        "from netbot.incidents import Extension\n"
        "ext = Extension('dupe')\n"
        "@ext.incident_command(['duration', 'eta'], helptext='mine')\n"
        "def duration(ctx, text):\n    return 'theirs'\n"
    )
    builtin = Extension("builtin")
    builtin.incident_command(["duration"], helptext="builtin")(lambda ctx, text: "ours")
    registry = load_registry(
        builtin, ["team_syntax", "team_raises", "team_missing", "team_empty", "team_dupe"]
    )
    assert any(
        f.startswith("team_syntax: cannot be imported: SyntaxError") for f in registry.failures
    )
    assert any("import-time bug" in f for f in registry.failures)
    assert any(
        f.startswith("team_missing: cannot be imported: ModuleNotFoundError")
        for f in registry.failures
    )
    assert "team_empty: defines no netbot.incidents.Extension" in registry.failures
    assert (
        "dupe.duration: command 'duration' is already handled by builtin.<lambda>; skipped"
        in registry.failures
    )
    command = registry.command("duration")
    assert command is not None and command.helptext == "builtin"
    eta = registry.command("eta")
    assert eta is not None and eta.helptext == "mine"  # the free name is still registered
    assert "team_raises" in caplog.text and "error " in caplog.text


def test_one_module_loads_into_two_registries_without_globals(modules: Path) -> None:
    (modules / "team_once.py").write_text(
        "from netbot.incidents import Extension\n"
        "ext = Extension('once')\n"
        "@ext.action_handler('ack')\n"
        "def ack(ctx, text):\n    return 'ok'\n"
    )
    first, second = Registry(), Registry()
    assert first.load("team_once") and second.load("team_once") and first.load("team_once")
    assert first.action("ack") is second.action("ack")
    assert not first.failures and not second.failures


def test_decorators_refuse_bad_declarations() -> None:
    ext = Extension("bad")
    with pytest.raises(ValueError, match="lower-case"):
        ext.incident_command(["Has Space"])
    with pytest.raises(ValueError, match="interval_mins"):
        ext.recurring_notification(interval_mins=0)
    with pytest.raises(ValueError, match="event kinds"):
        ext.event_handler("message_reaction_typo")
    with pytest.raises(ValueError, match="action id"):
        ext.action_handler("inc:1:close")  # ':' would break the custom id
    with pytest.raises(ValueError, match="at least one keyword"):
        ext.keyword_handler(["  "])


def readme_module() -> str:
    """The Python block of the README's Incidents section, as written."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("\n## Incidents\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    return block


async def test_the_readme_examples_work_as_written(
    db: Database, clock: ManualClock, modules: Path
) -> None:
    (modules / "team_readme.py").write_text(readme_module())
    spaces = RecordingSpaces()
    service = make_service(
        db, clock, spaces, settings(take_a_break_minutes=0), modules=["team_readme"]
    )
    assert not service.registry.failures
    incident = await service.declare(request())
    await clock.set(START + 95 * MIN)
    # duration: the README's replaces the built-in one
    reply = await service.run_command(incident.id, LEAD, "duration")
    assert reply == f"Incident #{incident.id} has been running for 95 minutes."
    # take-a-break every 30 minutes, at most 10 times, for the lead
    for minutes in range(0, 400, 30):
        await clock.set(START + (95 + minutes) * MIN)
        await service.tick()
    breaks = [s for s in spaces.sent if "take a break" in str(s.post.body)]
    assert len(breaks) == 10 and f"<@{LEAD}>" in str(breaks[0].post.body)
    assert not any(s.post.mentions.users for s in breaks)
    # runbook keyword
    await service.on_message(incident.id, message(incident.space.space_id, "Which Run Book?"))
    assert "wiki.example.org/runbook" in str(spaces.sent[-1].post.body)
    # close button: posted by a command, asks for the resolution, closes
    assert await service.run_command(incident.id, LEAD, "closebutton") is None
    [button] = spaces.sent[-1].buttons
    prompt = service.action_prompt(button.action_id)
    assert prompt is not None and prompt.label == "Resolution"
    reply = await service.act(incident.id, LEAD, button.action_id, "Restarted the API")
    assert reply == f"Incident #{incident.id} closed."
    assert (await service.get(incident.id)).resolution == "Restarted the API"
