"""The supervisor: every piece of background work, declared once and kept alive.

A capability declares its jobs (`every(...)` for periodic work, `daily_at(...)` for work at a
time of day) instead of hand-rolling loops. The supervisor runs each job on the runtime's
clock, logs a crash once per failure streak (with the traceback) and keeps the job alive, and
cancels everything on shutdown. Tests replace the clock (`ManualClock`) and move time
themselves: no test patches an internal attribute and no test sleeps.

When several processes share a PostgreSQL database, the supervisor is given `Leases`
(netbot.core.leases): before each run it claims the job's lease, and a process that does not
hold it skips that run, so each job runs on exactly one process. A periodic job's lease lasts
two periods (its holder renews it every run; another process takes over once it runs out);
a daily job's lease lasts half a day, since every process wakes at the same moment for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from netbot.core.errors import new_error_id

if TYPE_CHECKING:
    from netbot.core.leases import Leases

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Clock(Protocol):
    """What background work needs of time: the moment now, and a way to wait for a moment."""

    def now(self) -> dt.datetime: ...

    async def sleep_until(self, moment: dt.datetime) -> None: ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep_until(self, moment: dt.datetime) -> None:
        delay = (moment - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that moves only when told to (`advance`, `set`): for tests and replays.

    Sleepers wake in time order as the clock passes their moment; `advance` returns after
    every job woken by the move has had the chance to run up to its next wait.
    """

    def __init__(self, start: dt.datetime) -> None:
        self._now = start
        self._sleepers: list[tuple[dt.datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> dt.datetime:
        return self._now

    async def sleep_until(self, moment: dt.datetime) -> None:
        if moment <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (moment, next(self._order), future))
        await future

    async def set(self, moment: dt.datetime) -> None:
        """Move to `moment`, waking each sleeper due by then, in order."""
        while self._sleepers and self._sleepers[0][0] <= moment:
            due, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, due)
            if not future.done():
                future.set_result(None)
            await _settle()
        self._now = max(self._now, moment)
        await _settle()

    async def advance(self, delta: dt.timedelta) -> None:
        await self.set(self._now + delta)

    @property
    def next_wake(self) -> dt.datetime | None:
        """The earliest moment someone waits for, if any."""
        return self._sleepers[0][0] if self._sleepers else None


async def _settle(rounds: int = 50) -> None:
    """Let woken tasks run until they wait again (a bounded number of loop turns)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@dataclass
class JobState:
    """What the supervisor knows of one job, for status pages and tests."""

    name: str
    runs: int = 0
    skipped: int = 0  # due moments left to the process holding the job's lease
    failures: int = 0
    failing: bool = False
    last_error: str | None = None
    last_run: dt.datetime | None = None
    next_run: dt.datetime | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Supervisor:
    """Runs declared jobs on a clock until `stop()`; with `leases`, only the jobs whose
    lease this process holds."""

    def __init__(self, clock: Clock, leases: Leases | None = None) -> None:
        self.clock = clock
        self.leases = leases
        self.jobs: dict[str, JobState] = {}
        self._schedules: dict[str, _Schedule] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = False

    # ------------------------------------------------------------------ declaring
    def every(
        self,
        name: str,
        seconds: float,
        job: Job,
        *,
        run_at_start: bool = True,
        each_process: bool = False,
    ) -> None:
        """Run `job` every `seconds` (measured from the start of one run to the next).

        `each_process`: the job fills this process's own memory (a cache), so every process
        runs it, whoever holds leases.
        """
        period = dt.timedelta(seconds=seconds)
        first = [run_at_start]

        def next_run(now: dt.datetime) -> dt.datetime:
            if first[0]:
                first[0] = False
                return now
            return now + period

        self._declare(name, _Schedule(next_run, job, None if each_process else 2 * period))

    def daily_at(self, name: str, at: dt.time, tz: ZoneInfo, job: Job) -> None:
        """Run `job` once a day at `at` in time zone `tz` (a missed time is not caught up)."""

        def next_run(now: dt.datetime) -> dt.datetime:
            local = now.astimezone(tz)
            candidate = dt.datetime.combine(local.date(), at, tzinfo=tz)
            if candidate <= local:
                candidate = dt.datetime.combine(local.date() + dt.timedelta(days=1), at, tzinfo=tz)
            return candidate.astimezone(dt.UTC)

        self._declare(name, _Schedule(next_run, job, DAILY_LEASE))

    def _declare(self, name: str, schedule: _Schedule) -> None:
        if name in self._schedules:
            raise ValueError(f"a job named {name!r} is already declared")
        self._schedules[name] = schedule
        self.jobs[name] = JobState(name)
        if self._started:
            self._launch(name)

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        """Start every declared job (and any declared later) on the running loop."""
        self._started = True
        for name in self._schedules:
            if name not in self._tasks:
                self._launch(name)

    def _launch(self, name: str) -> None:
        started = self.clock.now()
        self._tasks[name] = asyncio.create_task(self._run(name, started), name=f"job:{name}")

    async def _run(self, name: str, started: dt.datetime) -> None:
        """Run `name` from `started` on: each run is scheduled from the previous one's due
        moment, not from when it finished or when this task first got the loop; a run that
        overran its period is followed at once by the next, never by a pile of them."""
        schedule = self._schedules[name]
        state = self.jobs[name]
        reference = started
        while True:
            state.next_run = max(schedule.next_run(reference), self.clock.now())
            reference = state.next_run
            await self.clock.sleep_until(state.next_run)
            try:
                if not await self._ours(name, schedule.lease):
                    state.skipped += 1
                    continue
                state.last_run = self.clock.now()
                await schedule.job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                state.failures += 1
                state.last_error = f"{type(exc).__name__}: {exc}"
                if not state.failing:  # once per failure streak, with the traceback
                    log.error(
                        "job %s failed (error %s); it keeps running",
                        name,
                        new_error_id(),
                        exc_info=exc,
                    )
                state.failing = True
            else:
                if state.failing:
                    log.info("job %s recovered", name)
                state.failing = False
            state.runs += 1
            state.done.set()
            state.done = asyncio.Event()

    async def _ours(self, name: str, lease: dt.timedelta | None) -> bool:
        """Whether this process runs `name` now: always without leases (or for a job of each
        process), else if it holds (or has just taken) the job's lease."""
        if self.leases is None or lease is None:
            return True
        return await self.leases.claim(name, self.clock.now(), lease)

    async def stop(self) -> None:
        """Cancel every job, wait until each has stopped, and hand back this process's
        leases so another process takes its jobs over at once."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._started = False
        if self.leases is not None and tasks:
            try:
                await self.leases.release()
            except Exception as exc:  # they run out on their own; shutdown goes on
                log.warning("could not hand back job leases: %s", type(exc).__name__)


# Every process wakes at the same moment for a daily job: whoever claims it first runs that
# day's occurrence, and the lease has run out long before the next one.
DAILY_LEASE = dt.timedelta(hours=12)


@dataclass(frozen=True)
class _Schedule:
    """When a job runs next (given the moment now), what it runs, and its lease's length."""

    next_run: Callable[[dt.datetime], dt.datetime]
    job: Job
    lease: dt.timedelta | None  # None: every process runs it (`each_process`)
