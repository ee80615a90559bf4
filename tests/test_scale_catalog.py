"""The ticket catalog at scale: autocomplete from the index in well under 2 ms at 100,000
open tickets, refreshes that fetch only what changed, and a refresh that never holds a
whole page set of full issues in memory (against the fake Redmine, which serves any count)."""

from __future__ import annotations

import asyncio
import functools
import os
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from fakes.redmine_api import CLOSED, FakeRedmineApi, subject_for
from netbot.redmine import RedmineGateway
from netbot.tickets.catalog import FULL_REFRESH_EVERY, Catalog, TicketRow
from tests.plugins.redmine_server import RedmineServer

QUERIES = ["", "1", "12", "99999", "100000", "#4711", "disk", "full", "ull", "db-12",
           "disk full", "certificates web", "printer jammed lab", "zzz", "e", "on",
           "rotate tls", "backup nas", "12 disk", "unreachable from office"]  # fmt: skip


def best_ms(call: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of `repeat` runs, in ms: what the code costs, without the noise of other
    processes sharing the machine."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def big_catalog(count: int) -> Catalog:
    rng = random.Random(7)
    catalog = Catalog(RedmineGateway("http://127.0.0.1:9", "none"), "ops")
    catalog.load_tickets(TicketRow(n, subject_for(rng)) for n in range(1, count + 1))
    return catalog


def test_autocomplete_at_100k_tickets_takes_under_2_ms_per_request() -> None:
    catalog = big_catalog(100_000)
    slow = {}
    for typed in QUERIES:
        for first in (None, 4711):
            ms = best_ms(functools.partial(catalog.match_tickets, typed, first))
            if ms > 2.0:
                slow[(typed, first)] = round(ms, 2)
    assert slow == {}
    assert catalog.match_tickets("100000")[0][1] == 100000
    assert [i for _, i in catalog.match_tickets("")][:3] == [100000, 99999, 99998]


def test_index_answers_as_a_scan_would() -> None:
    """The index's answers are the old full scan's, for every kind of query (the scan's
    list: tickets added here, the latest first, then the rest newest first)."""
    rng = random.Random(3)
    rows = [TicketRow(n, subject_for(rng)) for n in range(1, 3001)]
    catalog = Catalog(RedmineGateway("http://127.0.0.1:9", "none"), "ops")
    catalog.load_tickets(rows)
    catalog.add_ticket(3001, "Brand new disk outage")
    catalog.add_ticket(12, "Disk full again on db-1")  # an older one, shown anew
    newest_first = [(12, "Disk full again on db-1"), (3001, "Brand new disk outage")] + [
        (r.id, r.subject) for r in reversed(rows) if r.id != 12
    ]
    for typed in [*QUERIES, "30", "300", "3001", "new", "-1", "k8s", "#"]:
        for first in (None, 12, 3001, 5000):
            assert catalog.match_tickets(typed, first) == scan(newest_first, typed, first), typed


def scan(tickets: list[tuple[int, str]], typed: str, first: int | None) -> list[tuple[str, int]]:
    """The catalog's rule, as a plain scan over every ticket (newest first)."""
    needle = typed.strip().lstrip("#").lower()
    lead = [t for t in tickets if t[0] == first]
    rest = [t for t in tickets if t[0] != first]
    by_id = [t for t in rest if needle.isdigit() and str(t[0]).startswith(needle)]
    by_id.sort(key=lambda t: (len(str(t[0])), -t[0]))
    by_words = [
        t
        for t in rest
        if t not in by_id and all(w in f"#{t[0]} {t[1]}".lower() for w in needle.split())
    ]
    return [(f"#{i} {s}"[:100], i) for i, s in (lead + by_id + by_words)[:25]]


async def test_refresh_fetches_pages_then_only_what_changed() -> None:
    async with FakeRedmineApi(250) as redmine:
        catalog = Catalog(RedmineGateway(redmine.base_url, "key", timeout=5), "ops")
        await asyncio.to_thread(catalog.refresh_tickets)
        full = redmine.requests_to("issues")
        assert [r.query["issue_id"] for r in full] == [">=1", ">=101", ">=201"]
        assert all(r.query["status_id"] == "open" and r.query["sort"] == "id" for r in full)
        assert all(r.query["limit"] == "100" for r in full)
        assert len(catalog.match_tickets("")) == 25 and catalog.ticket_count == 250

        redmine.update(12, subject="Renamed: quantum flux on db-1")
        redmine.update(13, status_id=CLOSED)
        created = redmine.create("Entirely new ticket")
        await asyncio.to_thread(catalog.refresh_tickets)
        changes = redmine.requests_to("issues")[len(full) :]
        assert len(changes) == 1
        assert changes[0].query["status_id"] == "*"
        assert changes[0].query["updated_on"].startswith(">=")
        assert changes[0].query["updated_on"].endswith("Z")
        assert catalog.match_tickets("quantum flux") == [("#12 Renamed: quantum flux on db-1", 12)]
        assert 13 not in {i for _, i in catalog.match_tickets("13")}  # closed: left the set
        assert catalog.match_tickets(str(created))[0] == (
            f"#{created} Entirely new ticket",
            created,
        )
        assert catalog.ticket_count == 250


async def test_a_full_load_comes_back_every_so_often_and_on_demand() -> None:
    async with FakeRedmineApi(10) as redmine:
        catalog = Catalog(RedmineGateway(redmine.base_url, "key", timeout=5), "ops")
        for _ in range(FULL_REFRESH_EVERY + 1):
            await asyncio.to_thread(catalog.refresh_tickets)
        kinds = [r.query["status_id"] for r in redmine.requests_to("issues")]
        assert kinds == ["open"] + ["*"] * (FULL_REFRESH_EVERY - 1) + ["open"]
        redmine.delete(5)  # deleted in Redmine: only a full load can see it
        await asyncio.to_thread(catalog.refresh_tickets, full=True)
        assert redmine.requests_to("issues")[-1].query["status_id"] == "open"
        assert 5 not in {i for _, i in catalog.match_tickets("")}


async def test_a_refresh_holds_a_page_at_a_time_and_keeps_little() -> None:
    """20,000 tickets of about 1.5 KB of JSON each: the refresh must not hold them all at
    once (python-redmine's filter did, 30 MB and more), and keeps well under 1 KB each."""
    async with FakeRedmineApi(20_000) as redmine:
        catalog = Catalog(RedmineGateway(redmine.base_url, "key", timeout=30), "ops")
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await asyncio.to_thread(catalog.refresh_tickets)
            held, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert catalog.ticket_count == 20_000
        assert (held - before) / 20_000 < 1000  # bytes kept per ticket
        assert peak - held < 15_000_000  # transient: pages and the index being built


@pytest.mark.redmine
def test_the_real_redmine_pages_by_id(redmine: RedmineServer) -> None:
    """Redmine 5 honours `issue_id=>=N` with `sort=id`: pages of two walk every issue once,
    in order, as one listing of all shows them."""
    gateway = RedmineGateway(redmine.url, redmine.admin_key, timeout=10)
    pages = list(
        gateway.issue_pages({"project_id": "ops", "status_id": "*"}, what="issues", page_size=2)
    )
    every = gateway.api().issue.filter(project_id="ops", status_id="*", sort="id")
    assert [issue["id"] for page in pages for issue in page] == [i.id for i in every]
    assert len(pages) >= 2 and all(len(page) <= 2 for page in pages)


def test_the_scale_bench_runs_small() -> None:
    """A smoke run of bench/scale.py (its figures are for people; here only that it runs)."""
    bench = Path(__file__).resolve().parents[1] / "bench" / "scale.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--only", "catalog", "--calls", "50"],
        env={**os.environ, "NETBOT_BENCH_COUNTS": "150"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    row = next(line.split() for line in done.stdout.splitlines() if line.startswith("     150"))
    assert row[5] == "2"  # requests of the full refresh: a page of 100, a short one ends it


@pytest.mark.redmine
def test_the_real_redmine_answers_an_incremental_refresh(redmine: RedmineServer) -> None:
    """Redmine 5 takes `updated_on=>=<UTC>Z` with `status_id=*`: a ticket created after a
    full load shows after the next (incremental) refresh, and leaves it once closed."""
    gateway = RedmineGateway(redmine.url, redmine.admin_key, timeout=10)
    catalog = Catalog(gateway, "ops")
    catalog.refresh_tickets()
    held = catalog.ticket_count
    api = gateway.api()
    issue = api.issue.create(project_id="ops", subject="Incremental refresh probe")
    try:
        catalog.refresh_tickets()
        assert catalog.match_tickets("incremental refresh probe") == [
            (f"#{issue.id} Incremental refresh probe", issue.id)
        ]
        assert catalog.ticket_count == held + 1
        api.issue.update(issue.id, status_id=redmine.info["statuses"]["Closed"])
        catalog.refresh_tickets()
        assert catalog.match_tickets("incremental refresh probe") == []
        assert catalog.ticket_count == held
    finally:
        api.issue.delete(issue.id)
