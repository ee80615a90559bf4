"""The crash test: a process draining the outbox is SIGKILLed at random points, again and
again (NETBOT_SLACK_KILLS times, 10 by default; bench/slack_bridge.py runs 100+), then one
last process drains the rest. Slack must hold every mirror exactly once, in order per
channel, thread replies in their thread and edits applied: no duplicate, no loss.

Kill points: right after Slack answered a post (the record may or may not be written: the
window the metadata lookup is for), or while a request is in flight (Slack may store it
after the client died). The fake Slack and the database file are shared with the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fakes.slack import FakeSlack
from netbot.capabilities import migration_dirs, parse_config
from netbot.chat import Post
from netbot.core.db import Database
from netbot.core.tasks import SystemClock
from netbot.slack import Outbox, SlackConfig
from netbot.slack.models import OutboxRow

ROOT = Path(__file__).resolve().parent.parent
KILLS = int(os.environ.get("NETBOT_SLACK_KILLS", "10"))


async def start_drainer(
    database_url: str, slack: FakeSlack, errors: Path
) -> asyncio.subprocess.Process:
    """A new draining process, once it says it is ready (its stderr goes to `errors`)."""
    with errors.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.slack_drain_process", database_url, slack.base_url,
            slack.token, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert line.strip() == b"ready", _tail(errors)
    return process


def _tail(path: Path) -> str:
    """The end of a dead process's stderr, for the failure message."""
    return path.read_text(errors="replace")[-3000:]


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


def fill(database: Database, outbox: Outbox, per_channel: int) -> dict[str, list[str]]:
    """Posts to each alerts channel, and an incident headline with replies and edits."""
    expected: dict[str, list[str]] = {}
    for n in range(per_channel):
        with database.session() as session:
            outbox.post(session, "alerts", f"alert:{n}", Post(body=f"alert {n}"))
            outbox.headline(session, 1, Post(body=f"headline v{n}"))
            outbox.timeline(session, 1, f"entry:{n}", Post(body=f"entry {n}"))
    expected["alerts"] = [f"alert {n}" for n in range(per_channel)]
    expected["replies"] = [f"entry {n}" for n in range(per_channel)]
    expected["headline"] = [f"headline v{per_channel - 1}"]
    return expected


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    # Each call takes 20 ms: a kill lands within a few calls of the one it waited for.
    async with FakeSlack(pace_interval=0, latency=0.02) as fake:
        yield fake


@pytest.mark.timeout(120 + 15 * KILLS)
async def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    slack: FakeSlack, db_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("NETBOT_SLACK_SEED", random.randrange(1 << 30)))
    chooser = random.Random(seed)
    alerts = [slack.add_channel(f"alerts-{n}") for n in range(3)]
    incidents = slack.add_channel("incidents")
    config = parse_config({"guilds": [1], "slack": {
        "routes": {"alerts": alerts, "incidents": [incidents]}}}).section("slack", SlackConfig)  # fmt: skip
    database = Database.open(db_url, migration_dirs())
    try:
        outbox = Outbox(config, SystemClock())
        expected = fill(database, outbox, per_channel=10 + 2 * KILLS)
        for _ in range(KILLS):
            process = await start_drainer(db_url, slack, tmp_path / "stderr")
            answered = sum(c.status > 0 for c in slack.calls)
            step = chooser.randint(1, 4)
            with contextlib.suppress(AssertionError):  # the outbox ran dry first: kill anyway
                if chooser.random() < 0.5:  # just after Slack answered
                    await slack.wait_for_calls(answered + step, within=10)
                else:  # while a request is in flight
                    await slack.wait_for_requests(len(slack.requests) + step, within=10)
            await kill(process)
        process = await start_drainer(db_url, slack, tmp_path / "stderr")
        try:
            total = 1 + len(expected["replies"])  # the headline and its thread
            for channel in alerts:
                await slack.wait_for_messages(channel, len(expected["alerts"]), within=120)
            await slack.wait_for_messages(incidents, total, within=120)
            # One more row per channel: once Slack has it, the process recorded every row
            # before it (a lane's rows go one after the other).
            with database.session() as session:
                outbox.post(session, "alerts", "sentinel", Post(body="sentinel"))
                outbox.timeline(session, 1, "sentinel", Post(body="sentinel"))
                last = max(session.scalars(select(OutboxRow.id)))
            for channel in alerts:
                await slack.wait_for_messages(channel, len(expected["alerts"]) + 1, within=60)
            await slack.wait_for_messages(incidents, total + 1, within=60)
        finally:
            await kill(process)
        where = f"(seed {seed}, {KILLS} kills)"
        for channel in alerts:
            assert [m.text for m in slack.messages(channel)][:-1] == expected["alerts"], where
        [headline] = [m for m in slack.messages(incidents) if not m.is_reply]
        assert headline.text == expected["headline"][0], where
        replies = [m.text for m in slack.messages(incidents, thread_ts=headline.ts)[1:-1]]
        assert replies == expected["replies"], where
        with database.session() as session:
            states = set(session.scalars(select(OutboxRow.state).where(OutboxRow.id < last - 3)))
        assert states <= {"done", "skipped"}, where  # skipped: edits superseded by later ones
    finally:
        database.close()
