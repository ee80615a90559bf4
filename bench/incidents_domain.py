"""The incident domain's own costs, without Discord: declare, a change, and the reminder job.

    python bench/incidents_domain.py [--incidents N] [--database-url URL]

On a fresh SQLite file (or URL, e.g. a PostgreSQL schema), with a chat side that answers at
once (so only the service, the database and the workers are measured): (a) declare N
incidents one after another (each: the insert with its timeline entry and reminders, the
space, the welcome, the headline), (b) a status change on each, (c) one reminder job run
with every incident's update reminder due (N reminders sent), then (d) one with nothing due.
Prints p50/p95 in ms per declare and per change, and the reminder runs' totals. Asserts
nothing. (The Discord side, with the fake's latency: bench/incidents.py.)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import percentile
from netbot import capabilities
from netbot.chat import Post, PostRef
from netbot.core.db import Database
from netbot.core.runtime import Workers
from netbot.core.tasks import ManualClock
from netbot.incidents import (
    Button,
    DeclareRequest,
    Incident,
    IncidentsConfig,
    IncidentService,
    Registry,
    SpacePlan,
    SpaceRef,
)

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


class InstantSpaces:
    """A chat side that does everything at once and remembers only how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0
        self._ids = itertools.count(1)

    def _ref(self) -> PostRef:
        self.calls += 1
        return PostRef("bench", "1", str(next(self._ids)))

    async def create_space(self, incident: Incident, plan: SpacePlan) -> SpaceRef:
        self.calls += 1
        return SpaceRef(next(self._ids), plan.name)

    async def invite(
        self, incident: Incident, users: Sequence[int], roles: Sequence[int] = ()
    ) -> None:
        self.calls += 1

    async def post(self, incident: Incident, post: Post, buttons: Sequence[Button] = ()) -> PostRef:
        return self._ref()

    async def attach(
        self, incident: Incident, post: Post, filename: str, content: bytes
    ) -> PostRef:
        return self._ref()

    async def show_headline(
        self, incident: Incident, headline: Post, ref: PostRef | None
    ) -> PostRef:
        return ref or self._ref()

    async def show_state(self, incident: Incident) -> None:
        self.calls += 1

    async def archive(self, incident: Incident) -> None:
        self.calls += 1

    async def unarchive(self, incident: Incident) -> None:
        self.calls += 1


async def run(count: int, url: str) -> None:
    database = Database.open(url, capabilities.migration_dirs())
    clock = ManualClock(START)
    settings = IncidentsConfig(headline_channel_id=1)
    spaces = InstantSpaces()
    service = IncidentService(
        database, spaces, settings, Registry(), clock, ZoneInfo("UTC"), Workers()
    )
    declares, changes = [], []
    ids = []
    for n in range(count):
        request = DeclareRequest(f"bench-{n}", 1, 100 + n, f"Incident {n}", severity="critical")
        started = time.perf_counter()
        ids.append((await service.declare(request)).id)
        declares.append((time.perf_counter() - started) * 1000)
    for incident_id in ids:
        started = time.perf_counter()
        await service.set_status(incident_id, 1, "identified")
        changes.append((time.perf_counter() - started) * 1000)
    await clock.set(START + dt.timedelta(minutes=31))
    started = time.perf_counter()
    sent = await service.reminders.tick()
    due_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    idle = await service.reminders.tick()
    idle_ms = (time.perf_counter() - started) * 1000
    database.close()
    print(f"backend: {database.engine.dialect.name}, incidents: {count}")
    print(f"declare: p50 {percentile(declares, 50):.1f} ms, p95 {percentile(declares, 95):.1f} ms")
    print(
        f"status change: p50 {percentile(changes, 50):.1f} ms, p95 {percentile(changes, 95):.1f} ms"
    )
    print(
        f"reminder job, {len(sent)} due: {due_ms:.0f} ms ({due_ms / max(len(sent), 1):.2f} ms each)"
    )
    print(f"reminder job, {len(idle)} due: {idle_ms:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        asyncio.run(run(args.incidents, url))


if __name__ == "__main__":
    main()
