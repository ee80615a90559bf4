"""What the bot knows about its own health: the Discord gateway and each backend it polls.

Cogs report every call to a backend with `success(name)` or `failure(name, error)`; /healthz
shows the result. `failure_streak_started(name)` lets a poll loop log a backend outage once,
not on every retry; a job whose backend other callers also use keeps its own `Streak`.
`DatabaseProbe` answers "does the database answer?" for both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from netbot.core.secrets import mask_credentials

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 200


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass
class Streak:
    """One job's own failure streak. A refresh job that shares its backend with people's
    commands keeps one: a command failing first must not swallow the job's log line."""

    failing: bool = False

    def failed(self) -> bool:
        """Note a failed run; True for the first of a streak (the moment to log it)."""
        first = not self.failing
        self.failing = True
        return first

    def succeeded(self) -> bool:
        """Note a good run; True if it ends a streak (the moment to log the recovery)."""
        recovered = self.failing
        self.failing = False
        return recovered


def short_error(error: str) -> str:
    """`error` as one line of at most MAX_ERROR_CHARS, with credentials masked."""
    # Error texts often quote the URL or headers that failed; keep credentials off /healthz.
    text = mask_credentials(" ".join(error.split()))
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text


@dataclass
class BackendStatus:
    """The latest outcome of calls to one backend."""

    last_success: dt.datetime | None = None
    last_failure: dt.datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_success": _iso(self.last_success),
            "last_failure": _iso(self.last_failure),
            "last_error": self.last_error,
            "consecutive_failures": self.consecutive_failures,
            "failing": self.failing,
        }


class Health:
    """Gateway and backend status, updated by the bot and read by /healthz.

    Only the event loop thread should call the mutating methods; they do no locking.
    """

    def __init__(self, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        """`clock` returns aware UTC datetimes; tests pass a fake one."""
        self._clock = clock
        self.gateway_connected = False
        self.gateway_since: dt.datetime = clock()
        self.backends: dict[str, BackendStatus] = {}

    def gateway_up(self) -> None:
        """The Discord gateway is connected (on ready and on resume)."""
        self._set_gateway(True)

    def gateway_down(self) -> None:
        """The Discord gateway connection was lost."""
        self._set_gateway(False)

    def _set_gateway(self, connected: bool) -> None:
        # `since` is when the state last changed, so a repeated event must not move it.
        if connected != self.gateway_connected:
            self.gateway_connected = connected
            self.gateway_since = self._clock()

    def success(self, name: str) -> None:
        """A call to backend `name` worked; this ends any failure streak."""
        status = self.backends.setdefault(name, BackendStatus())
        status.last_success = self._clock()
        status.consecutive_failures = 0

    def failure(self, name: str, error: str) -> None:
        """A call to backend `name` failed with `error` (shortened, see `short_error`)."""
        status = self.backends.setdefault(name, BackendStatus())
        status.last_failure = self._clock()
        status.last_error = short_error(error)
        status.consecutive_failures += 1

    def failure_streak_started(self, name: str) -> bool:
        """True right after the first failure of a streak: the moment to log the outage once."""
        status = self.backends.get(name)
        return status is not None and status.consecutive_failures == 1

    def healthy(self, database_reachable: bool) -> bool:
        """The rule behind /healthz: the gateway is connected and the database answers.

        Failing backends (Redmine, Kontur, ...) show in the snapshot but do not make the bot
        unhealthy: restarting the bot would not fix them.
        """
        return self.gateway_connected and database_reachable

    def snapshot(self, database_reachable: bool, now: dt.datetime | None = None) -> dict[str, Any]:
        """Everything above as a JSON-ready dict, the body of /healthz."""
        now = self._clock() if now is None else now
        return {
            "status": "ok" if self.healthy(database_reachable) else "unhealthy",
            "checked_at": now.isoformat(),
            "gateway": {
                "connected": self.gateway_connected,
                "since": self.gateway_since.isoformat(),
                "for_seconds": round((now - self.gateway_since).total_seconds(), 3),
            },
            "database": {"reachable": database_reachable},
            "backends": {name: status.as_dict() for name, status in sorted(self.backends.items())},
        }


DbPing = Callable[[], bool | Awaitable[bool]]

DB_PING_TIMEOUT_SECONDS = 5.0
DB_PING_FRESH_SECONDS = 1.0


class DatabaseProbe:
    """Whether the database answers, asked at most once at a time and remembered briefly.

    /healthz and `/netbot status` may be asked many times at once (an orchestrator, a
    monitoring system, a user clicking Refresh), and a slow database makes every ping slow.
    So the ping runs on a thread of its own, never in the pool commands use; concurrent
    callers share the one in-flight ping, and its answer is reused for `fresh_seconds`.
    A ping that outlives `timeout` counts as unreachable; while it is still stuck, no second
    one is started behind it.
    """

    def __init__(
        self,
        ping: DbPing,
        timeout: float = DB_PING_TIMEOUT_SECONDS,
        fresh_seconds: float = DB_PING_FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`ping` may be blocking (run on the probe's thread) or async (awaited on the loop)."""
        self.ping = ping
        self.timeout = timeout
        self.fresh_seconds = fresh_seconds
        self._clock = clock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netbot-db-probe")
        self._running: Future[Any] | None = None  # the ping on the thread, maybe stuck
        self._in_flight: asyncio.Task[bool] | None = None
        self._answer: tuple[float, bool] | None = None  # (when, reachable)

    async def reachable(self) -> bool:
        """The shared answer: recent, in flight, or a new ping."""
        if self._answer is not None and self._clock() - self._answer[0] < self.fresh_seconds:
            return self._answer[1]
        if self._in_flight is None:
            self._in_flight = asyncio.create_task(self._probe())
            self._in_flight.add_done_callback(self._remember)
        return await asyncio.shield(self._in_flight)

    def _remember(self, task: asyncio.Task[bool]) -> None:
        self._in_flight = None
        if not task.cancelled():
            self._answer = (self._clock(), task.result())

    async def _probe(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                return bool(await self._ping_once())
        except TimeoutError:
            log.warning("database ping timed out after %.1fs", self.timeout)
        except Exception as error:
            log.warning("database ping failed: %s", type(error).__name__)
        return False

    async def _ping_once(self) -> object:
        if inspect.iscoroutinefunction(self.ping):
            return await self.ping()
        if self._running is None or self._running.done():
            self._running = self._thread.submit(self.ping)
        result = await asyncio.wrap_future(self._running)
        return await result if inspect.isawaitable(result) else result

    def close(self) -> None:
        """Let the thread go; a ping still stuck in the database is abandoned."""
        self._thread.shutdown(wait=False, cancel_futures=True)
