"""What the Slack bridge tests share: a runtime with the bridge (no Discord) on the fake
Slack and a `ManualClock`, one "process" at a time on the same database, with waits on the
drainer's progress (never sleeps) and a driver that moves the clock from one retry to the
next.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fakes.slack import FakeSlack
from netbot.capabilities import env_vars, parse_config
from netbot.core.db import Database
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets
from netbot.core.tasks import ManualClock
from netbot.slack import Bridge, Outbox, build, mirror
from netbot.slack.models import OutboxRow

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


class Bridged:
    """A runtime with the Slack bridge (no Discord) on the fake Slack and a manual clock."""

    def __init__(self, database: Database, slack: FakeSlack, config: dict[str, Any]) -> None:
        self.database, self.slack = database, slack
        self.clock = ManualClock(START)
        slack.clock = lambda: self.clock.now().timestamp()
        self.settings = {
            "guilds": [1],
            "cogs": {"tickets": False, "alerts": False},
            "slack": config,
        }
        self.runtime: Runtime
        self.bridge: Bridge
        self.outbox: Outbox

    def new_runtime(self) -> None:
        self.runtime = Runtime(
            config=parse_config(self.settings),
            secrets=Secrets.from_mapping({"SLACK_BOT_TOKEN": self.slack.token}, env_vars()),
            database=self.database,
            clock=self.clock,
        )
        self.bridge = build(self.runtime)
        outbox = mirror(self.runtime)
        assert outbox is not None
        self.outbox = outbox

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Bridged]:
        """One process: a fresh runtime on the same database, clock and Slack."""
        self.new_runtime()
        self.runtime.supervisor.start()
        try:
            yield self
        finally:
            await self.runtime.supervisor.stop()
            await self.bridge.close()
            self.runtime.workers.close()
            self.runtime.database_probe.close()

    def write(self, change: Callable[[Session], None]) -> None:
        """One transaction of the caller (alerts, incidents) writing mirrors."""
        with self.database.session() as session:
            change(session)

    async def drained(self, within: float = 10) -> None:
        await self.bridge.drainer.drained(within)

    def idle(self) -> bool:
        """No lane is being delivered and each lane's next row waits for a later moment."""
        heads: dict[str, OutboxRow] = {}
        for row in self.rows():
            if row.state == "pending":
                heads.setdefault(row.lane, row)
        now = self.clock.now()
        return not self.bridge.drainer.working and all(r.next_attempt > now for r in heads.values())

    async def drive(self, within: float = 30) -> None:
        """Move the clock from one due moment to the next until nothing is pending: what
        minutes of retries and backoff look like, without waiting for them."""
        async with asyncio.timeout(within):
            while pending := [r for r in self.rows() if r.state == "pending"]:
                await self.until(self.idle, within=within)
                due = min(r.next_attempt for r in pending)
                await self.clock.set(max(due, self.clock.now() + dt.timedelta(seconds=1)))

    async def until(self, condition: Callable[[], bool], within: float = 10) -> None:
        """Wait until `condition()` holds, looking again after each outcome of the drainer."""
        progress = self.bridge.drainer.progress
        async with asyncio.timeout(within):
            while True:
                progress.clear()
                if condition():
                    return
                await progress.wait()

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(dt.timedelta(seconds=seconds))

    def rows(self) -> list[OutboxRow]:
        with self.database.session() as session:
            return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(pace_interval=0) as fake:  # pacing: on where a test checks it
        yield fake


@pytest.fixture
def make(db: Database, slack: FakeSlack) -> Callable[..., Bridged]:
    """A `Bridged` on the test's database and fake Slack, with the given `slack:` keys."""

    def bridged(**config: Any) -> Bridged:
        config.setdefault("base_url", slack.base_url)
        config.setdefault("pace_seconds", 0)
        config.setdefault("retry", {"client_retries": 0, "first_seconds": 1, "max_seconds": 60})
        return Bridged(db, slack, config)

    return bridged
