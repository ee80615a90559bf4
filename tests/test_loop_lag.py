"""The event loop's lag: measured by a probe, shown in /metrics, and never pushed past 50 ms
by a refresh of the ticket cache (20,000 tickets from the fake Redmine)."""

from __future__ import annotations

import asyncio
import gc
import time

from fakes.redmine_api import FakeRedmineApi, serve_in_thread
from netbot.core import looplag
from netbot.core.metrics import Metrics
from netbot.core.tasks import Supervisor, SystemClock
from netbot.redmine import RedmineGateway
from netbot.tickets.catalog import Catalog


async def test_the_probe_sees_a_blocked_loop() -> None:
    probe = looplag.LoopLagProbe(tick=0.005)
    window = asyncio.create_task(probe.window(0.3))
    await asyncio.sleep(0.05)
    time.sleep(0.12)  # noqa: ASYNC251 -- the blocking call on the loop under test
    assert await window >= 0.1


async def test_the_gauge_is_in_metrics() -> None:
    metrics, supervisor = Metrics(), Supervisor(SystemClock())
    looplag.watch(supervisor, metrics, window=0.2)
    supervisor.start()
    try:
        job = supervisor.jobs[looplag.JOB]
        done = job.done
        await asyncio.sleep(0.05)
        time.sleep(0.08)  # noqa: ASYNC251 -- a stall for the gauge to show
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await supervisor.stop()
    lines = metrics.render().decode().splitlines()
    (value,) = [line.split()[1] for line in lines if line.startswith("netbot_event_loop_lag")]
    assert float(value) >= 0.07


async def test_a_cache_refresh_never_blocks_the_loop_for_50_ms() -> None:
    """The fake Redmine runs on a loop of its own (its work is not the bot's), and the heap
    is frozen as the bot freezes it once started (`looplag.freeze_startup_heap`)."""
    looplag.freeze_startup_heap()
    try:
        with serve_in_thread(FakeRedmineApi(20_000)) as redmine:
            await refresh_while_probing(redmine)
    finally:
        gc.unfreeze()


async def refresh_while_probing(redmine: FakeRedmineApi) -> None:
    """Refresh the catalog in a worker thread, as the bot does, probing the loop meanwhile."""
    catalog = Catalog(RedmineGateway(redmine.base_url, "key", timeout=30), "ops")
    probe = looplag.LoopLagProbe(tick=0.002)
    refresh = asyncio.create_task(asyncio.to_thread(catalog.refresh_tickets))
    worst = 0.0
    while not refresh.done():
        worst = max(worst, await probe.window(0.05))
        catalog.match_tickets("disk full")  # autocomplete keeps answering meanwhile
    await refresh
    assert len(catalog.match_tickets("")) == 25
    assert worst < 0.05, f"the loop was blocked for {worst * 1000:.0f} ms"
