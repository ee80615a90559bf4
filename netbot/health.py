"""What the bot knows about its own health: the Discord gateway and each backend it polls.

Cogs report every call to a backend with `success(name)` or `failure(name, error)`; /healthz
shows the result. `failure_streak_started(name)` lets a poll loop log a backend outage once,
not on every retry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_ERROR_CHARS = 200

# Error texts often quote the URL that failed; keep a password or token in it off /healthz.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(?P<head>\b(?:api[_-]?key|key|token|access_token|password|passwd|secret)=)[^\s&\"']+",
    re.IGNORECASE,
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def short_error(error: str) -> str:
    """`error` as one line of at most MAX_ERROR_CHARS, with credentials in URLs masked."""
    text = " ".join(error.split())
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    text = _SECRET_PARAM.sub(r"\g<head>***", text)
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
