"""The supervisor on a ManualClock: jobs run at the right moments, survive crashes (logged once
per failure streak), stop on request, and, given leases, run on one process only.

No test sleeps: time moves only when a test moves the ManualClock, and every wait is on an
event with a deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from netbot.core.db import Database
from netbot.core.leases import AlreadyRunning, Leases, ProcessLock
from netbot.core.tasks import ManualClock, Supervisor

START = dt.datetime(2026, 3, 2, 16, 0, tzinfo=dt.UTC)  # 17:00 in Berlin
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{tmp_path / 'netbot.sqlite3'}")
    yield database
    database.close()


async def test_periodic_job_runs_at_start_and_then_every_period(clock: ManualClock) -> None:
    supervisor = Supervisor(clock)
    moments: list[dt.datetime] = []

    async def poll() -> None:
        moments.append(clock.now())

    supervisor.every("poll", 60, poll)
    supervisor.start()
    await clock.advance(dt.timedelta(0))
    assert moments == [START]
    await clock.advance(59 * dt.timedelta(seconds=1))
    assert moments == [START]
    await clock.advance(dt.timedelta(seconds=1))
    await clock.advance(dt.timedelta(minutes=2))
    assert moments == [START, START + MINUTE, START + 2 * MINUTE, START + 3 * MINUTE]
    assert supervisor.jobs["poll"].runs == 4
    assert supervisor.jobs["poll"].next_run == START + 4 * MINUTE
    await supervisor.stop()


async def test_periodic_job_can_wait_a_period_before_its_first_run(clock: ManualClock) -> None:
    supervisor = Supervisor(clock)
    moments: list[dt.datetime] = []

    async def poll() -> None:
        moments.append(clock.now())

    supervisor.every("poll", 60, poll, run_at_start=False)
    supervisor.start()
    await clock.advance(dt.timedelta(seconds=59))
    assert moments == []
    await clock.advance(dt.timedelta(seconds=1))
    assert moments == [START + MINUTE]
    await supervisor.stop()


async def test_daily_job_runs_at_its_local_time_each_day(clock: ManualClock) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    supervisor = Supervisor(clock)
    moments: list[dt.datetime] = []

    async def digest() -> None:
        moments.append(clock.now())

    supervisor.daily_at("digest", dt.time(18, 0), berlin, digest)
    supervisor.start()
    await clock.advance(59 * MINUTE)  # 17:59 Berlin
    assert moments == []
    await clock.advance(MINUTE)  # 18:00 Berlin
    await clock.advance(dt.timedelta(days=2))
    assert [m.astimezone(berlin).strftime("%d %H:%M") for m in moments] == [
        "02 18:00",
        "03 18:00",
        "04 18:00",
    ]
    await supervisor.stop()


async def test_a_crashing_job_is_logged_once_per_streak_and_keeps_running(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = Supervisor(clock)
    outcomes = iter([False, False, False, True, False])  # True: the run succeeds

    async def flaky() -> None:
        if not next(outcomes):
            raise RuntimeError("backend exploded")

    supervisor.every("flaky", 60, flaky)
    with caplog.at_level(logging.INFO, logger="netbot.core.tasks"):
        supervisor.start()
        await clock.advance(dt.timedelta(0))
        await clock.advance(2 * MINUTE)  # three failures in a row
        state = supervisor.jobs["flaky"]
        assert (state.runs, state.failures, state.failing) == (3, 3, True)
        assert state.last_error == "RuntimeError: backend exploded"
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert errors[0].getMessage().startswith("job flaky failed (error ")
        assert errors[0].exc_info is not None  # the traceback is there, once

        await clock.advance(MINUTE)  # recovers
        assert not state.failing
        assert "job flaky recovered" in [r.getMessage() for r in caplog.records]

        await clock.advance(MINUTE)  # a new streak is logged again
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 2
    assert state.runs == 5
    await supervisor.stop()


async def test_stop_cancels_every_job_even_mid_run(clock: ManualClock) -> None:
    supervisor = Supervisor(clock)
    entered, cancelled = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def stuck() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def poll() -> None:
        runs.append("poll")

    supervisor.every("stuck", 60, stuck)
    supervisor.every("poll", 60, poll)
    supervisor.start()
    await asyncio.wait_for(entered.wait(), 5)
    await clock.advance(dt.timedelta(0))
    await supervisor.stop()
    assert cancelled.is_set()
    await clock.advance(10 * MINUTE)
    assert runs == ["poll"]
    assert clock.next_wake is None  # nobody waits on the clock any more


async def test_a_job_name_is_declared_once(clock: ManualClock) -> None:
    supervisor = Supervisor(clock)

    async def job() -> None:
        return None

    supervisor.every("poll", 60, job)
    with pytest.raises(ValueError, match="already declared"):
        supervisor.daily_at("poll", dt.time(18), ZoneInfo("UTC"), job)


# ---------------------------------------------------------------- several processes


def test_a_lease_is_held_until_it_runs_out(database: Database) -> None:
    a, b = Leases(database, "a"), Leases(database, "b")
    ttl = 2 * MINUTE
    assert a.claim_now("poll", START, ttl)
    assert not b.claim_now("poll", START + MINUTE, ttl)
    assert a.claim_now("poll", START + MINUTE, ttl)  # renewed until START + 3 min
    assert not b.claim_now("poll", START + 3 * MINUTE - dt.timedelta(seconds=1), ttl)
    assert b.claim_now("poll", START + 3 * MINUTE, ttl)  # a stopped renewing: b takes over
    assert not a.claim_now("poll", START + 3 * MINUTE, ttl)
    assert a.claim_now("digest", START, ttl)  # one lease per job
    b.release_now()
    assert a.claim_now("poll", START + 3 * MINUTE, ttl)  # handed back: free at once


class RecordingLeases(Leases):
    """Leases that let a test wait until a claim has been answered."""

    def __init__(self, database: Database, holder: str) -> None:
        super().__init__(database, holder)
        self.answers: list[bool] = []
        self.changed = asyncio.Event()

    async def claim(self, job: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        answer = await super().claim(job, now, ttl)
        self.answers.append(answer)
        self.changed.set()
        return answer

    async def answered(self, count: int) -> None:
        while True:
            self.changed.clear()
            if len(self.answers) >= count:
                return
            await asyncio.wait_for(self.changed.wait(), 5)


async def test_with_leases_each_job_runs_on_one_process_and_moves_on_stop(
    clock: ManualClock, database: Database
) -> None:
    ran: list[tuple[str, dt.datetime]] = []
    leases = {name: RecordingLeases(database, name) for name in ("a", "b")}
    supervisors = {name: Supervisor(clock, leases[name]) for name in ("a", "b")}
    for name, supervisor in supervisors.items():

        async def poll(name: str = name) -> None:
            ran.append((name, clock.now()))

        supervisor.every("poll", 60, poll)
        supervisor.start()
        await leases[name].answered(1)

    for period in range(1, 4):
        await clock.advance(MINUTE)
        await leases["a"].answered(period + 1)
        await leases["b"].answered(period + 1)
    assert ran == [("a", START + n * MINUTE) for n in range(4)]
    assert supervisors["b"].jobs["poll"].skipped == 4

    await supervisors["a"].stop()  # hands its lease back
    await clock.advance(MINUTE)
    await leases["b"].answered(5)
    assert ran[-1] == ("b", START + 4 * MINUTE)
    await supervisors["b"].stop()


def test_one_process_per_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'netbot.sqlite3'}"
    first, second = ProcessLock.for_url(url), ProcessLock.for_url(url)
    assert first is not None and second is not None
    first.acquire()
    with pytest.raises(AlreadyRunning, match="SQLite allows one netbot process"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
    assert ProcessLock.for_url("postgresql+psycopg://u@h/db") is None
    assert ProcessLock.for_url("sqlite://") is None
