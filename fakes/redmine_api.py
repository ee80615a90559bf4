"""A fake Redmine 5 issue list on `FakeHttpServer`, holding as many tickets as a test or bench
asks (100,000 is fine), for what the real seeded Redmine cannot do: scale.

    async with FakeRedmineApi(20_000) as redmine:        # tickets 1..20000, open, project "ops"
        gateway = RedmineGateway(redmine.base_url, "any-key")
        redmine.update(12, subject="renamed")            # updated_on moves to now
        redmine.update(13, status_id=CLOSED)
        new_id = redmine.create("a new one")
        redmine.requests_to("issues")[-1].query

`GET /issues.json` answers like Redmine 5 (full issues: project, tracker, status, priority,
author, assignee, description, custom fields, dates) with its filters `project_id`,
`status_id` (`open`, `closed`, `*` or an id), `issue_id` (`>=N`), `updated_on`
(`>=<UTC>Z`), `sort` (`id`, `id:desc`), `offset` and `limit` (at most 100), and
`total_count`. The statuses, priorities and trackers are listed too (what the catalog's
status lookups load). Tickets are kept compactly and
turned into JSON a page at a time, so the fake itself stays small. A query parameter the
real Redmine would not understand is recorded in `failures` (fails the test at exit).

`serve_in_thread` runs it on a loop of its own, for a bench whose client is another process.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import random
import threading
from collections.abc import Iterator
from typing import NamedTuple

from aiohttp import web

from fakes.http import FakeHttpServer

STATUSES = [(1, "New", False), (2, "In Progress", False), (3, "Resolved", False),
            (4, "Feedback", False), (5, "Closed", True), (6, "Rejected", True)]  # fmt: skip
CLOSED = 5
PROJECT = "ops"
KNOWN_PARAMS = {"project_id", "status_id", "issue_id", "updated_on", "sort", "offset",
                "limit", "key", "include"}  # fmt: skip
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

HOSTS = ["db", "web", "mail", "vpn", "fw", "lb", "ns", "k8s-node", "backup", "ci-runner", "nas"]
SITES = ["ams", "fra", "lon", "par", "nyc", "sfo", "sin", "office", "dc2", "lab"]
PROBLEMS = [
    "Disk full on {h}", "{h} unreachable from {s}", "High CPU on {h}", "Certificate expiring on {h}",
    "Rotate TLS certificates for {h}", "{h} flapping at {s}", "Backup job failed on {h}",
    "Upgrade {h} to the next LTS", "Printer jammed at {s}", "Add DNS record for {h}",
    "Memory leak in {h} service", "Replace failed drive in {h}", "Open firewall port for {h}",
    "Slow queries on {h}", "Decommission old {h} in {s}", "Wifi outage at {s}",
]  # fmt: skip
DESCRIPTION = (
    "Seen by monitoring at 03:12 UTC. Steps taken so far: checked the logs, restarted the "
    "service, opened a case with the vendor. Impact: some users cannot work. "
) * 6


def subject_for(rng: random.Random) -> str:
    """A realistic ticket subject (hosts, sites and problems of an operations team)."""
    return rng.choice(PROBLEMS).format(
        h=f"{rng.choice(HOSTS)}-{rng.randint(1, 40)}", s=rng.choice(SITES)
    )


class FakeTicket(NamedTuple):
    """A ticket as the fake keeps it (a tuple: no work for the garbage collector, which
    would otherwise slow the process that a lag test measures)."""

    subject: str
    status_id: int
    assignee_id: int
    updated_on: dt.datetime


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeRedmineApi(FakeHttpServer):
    def __init__(self, count: int = 0, *, seed: int = 1) -> None:
        super().__init__("fake Redmine")
        rng = random.Random(seed)
        self.tickets: dict[int, FakeTicket] = {
            n: FakeTicket(subject_for(rng), 1 + n % 4, 9 if n % 3 else 0, START)
            for n in range(1, count + 1)
        }
        self._cache: dict[tuple[str, dt.datetime | None], list[int]] = {}
        self.add_route("GET", "/issues.json", self._issues, name="issues")
        self.add_route("GET", "/issue_statuses.json", self._statuses, name="statuses")
        self.add_route("GET", "/enumerations/issue_priorities.json", self._priorities)
        self.add_route("GET", "/trackers.json", self._trackers)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- changes ----------------------------------------------------------------------------

    def _tick(self) -> dt.datetime:
        """The moment of a change (Redmine's clock is the real one, to the second)."""
        self._cache.clear()
        return dt.datetime.now(dt.UTC).replace(microsecond=0)

    def update(
        self, ticket_id: int, *, subject: str | None = None, status_id: int | None = None
    ) -> None:
        ticket = self.tickets[ticket_id]
        self.tickets[ticket_id] = ticket._replace(
            subject=ticket.subject if subject is None else subject,
            status_id=ticket.status_id if status_id is None else status_id,
            updated_on=self._tick(),
        )

    def create(self, subject: str) -> int:
        ticket_id = max(self.tickets, default=0) + 1
        self.tickets[ticket_id] = FakeTicket(subject, 1, 0, self._tick())
        return ticket_id

    def delete(self, ticket_id: int) -> None:
        del self.tickets[ticket_id]
        self._tick()

    # -- answers ----------------------------------------------------------------------------

    async def _statuses(self, request: web.Request) -> web.Response:
        statuses = [{"id": i, "name": n, "is_closed": c} for i, n, c in STATUSES]
        return web.json_response({"issue_statuses": statuses})

    async def _priorities(self, request: web.Request) -> web.Response:
        names = ["Low", "Normal", "High"]
        priorities = [{"id": i, "name": n, "is_default": n == "Normal", "active": True}
                      for i, n in enumerate(names, 1)]  # fmt: skip
        return web.json_response({"issue_priorities": priorities})

    async def _trackers(self, request: web.Request) -> web.Response:
        trackers = [{"id": 1, "name": "Bug"}, {"id": 2, "name": "Feature"}]
        return web.json_response({"trackers": trackers})

    async def _issues(self, request: web.Request) -> web.Response:
        query = request.query
        unknown = set(query) - KNOWN_PARAMS
        if unknown:
            self.failures.append(f"/issues.json with unknown parameters {sorted(unknown)}")
        if query.get("project_id", PROJECT) != PROJECT:
            return web.json_response({"errors": ["Not found"]}, status=404)
        status = query.get("status_id", "open")
        from_id = int(query.get("issue_id", ">=1").removeprefix(">="))
        since = query.get("updated_on", "").removeprefix(">=")
        matching = self._matching(status, dt.datetime.fromisoformat(since) if since else None)
        found = matching[bisect.bisect_left(matching, from_id) :]
        if query.get("sort", "id:desc") == "id:desc":
            found = found[::-1]
        offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 25)), 100)
        page = [self._issue(i) for i in found[offset : offset + limit]]
        return web.json_response(
            {"issues": page, "total_count": len(found), "offset": offset, "limit": limit}
        )

    def _matching(self, status: str, since: dt.datetime | None) -> list[int]:
        """The ids matching a status and update filter, ascending; kept until a change, so a
        walk over 1,000 pages does not filter 100,000 tickets 1,000 times."""
        key = (status, since)
        if key not in self._cache:
            closed = {i for i, _, c in STATUSES if c}
            self._cache[key] = [
                i
                for i, t in sorted(self.tickets.items())
                if (
                    status == "*"
                    or (status == "open" and t.status_id not in closed)
                    or (status == "closed" and t.status_id in closed)
                    or status == str(t.status_id)
                )
                and (since is None or t.updated_on >= since)
            ]
        return self._cache[key]

    def _issue(self, ticket_id: int) -> dict[str, object]:
        """One issue as Redmine 5's /issues.json shows it."""
        t = self.tickets[ticket_id]
        _, status_name, is_closed = STATUSES[t.status_id - 1]
        issue: dict[str, object] = {
            "id": ticket_id,
            "project": {"id": 1, "name": "Operations"},
            "tracker": {"id": 1, "name": "Bug"},
            "status": {"id": t.status_id, "name": status_name, "is_closed": is_closed},
            "priority": {"id": 2, "name": "Normal"},
            "author": {"id": 5, "name": "Alice Anders"},
            "subject": t.subject,
            "description": DESCRIPTION,
            "start_date": "2026-01-01",
            "due_date": None,
            "done_ratio": 0,
            "is_private": False,
            "estimated_hours": None,
            "total_estimated_hours": None,
            "spent_hours": 0.0,
            "total_spent_hours": 0.0,
            "custom_fields": [{"id": 1, "name": "discord-thread", "value": ""}],
            "created_on": stamp(START),
            "updated_on": stamp(t.updated_on),
            "closed_on": stamp(t.updated_on) if is_closed else None,
        }
        if t.assignee_id:
            issue["assigned_to"] = {"id": t.assignee_id, "name": "ops-team"}
        return issue


@contextlib.contextmanager
def serve_in_thread(fake: FakeRedmineApi) -> Iterator[FakeRedmineApi]:
    """Run `fake` on an event loop in a thread of its own until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-redmine", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(30)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
