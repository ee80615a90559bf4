"""Several netbot processes on one database: who runs each background job, and who may start.

On PostgreSQL any number of processes (e.g. one per group of Discord shards) share the
database, and each periodic job must still run once per period, not once per process. Each
job has a lease row (job, holder, expires_at): before a run, a process claims it with one
atomic INSERT ... ON CONFLICT DO UPDATE that succeeds only if the lease is free, expired or
already its own. The holder renews it at every run; if the holder dies, the lease runs out
and another process takes the job over. A clean shutdown hands leases back at once.

Lease times come from the supervisor's clock, so processes on several hosts need clocks
kept in step (NTP); a skew smaller than a job's period is harmless.

On SQLite, one process is the rule (`ProcessLock`): a second one is refused at start-up
with a clear message instead of racing the first on every job.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from netbot.core.db import Database
from netbot.core.models import Lease

_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def new_holder() -> str:
    """A name for this process that no other process, here or on another host, shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    """Job leases in `database`, held under the name `holder`."""

    def __init__(self, database: Database, holder: str | None = None) -> None:
        dialect = database.engine.dialect.name
        if dialect not in _INSERTS:
            raise ValueError(f"job leases need PostgreSQL or SQLite, not {dialect}")
        self.database = database
        self.holder = holder or new_holder()
        self._insert = _INSERTS[dialect]

    def claim_now(self, job: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take or renew `job`'s lease until `now + ttl`; False if another process holds it."""
        row = {"job": job, "holder": self.holder, "expires_at": now + ttl}
        statement = self._insert(Lease).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["job"],
            set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
            where=(Lease.holder == self.holder) | (Lease.expires_at <= now),
        ).returning(Lease.holder)
        with self.database.session() as session:
            return session.execute(statement).first() is not None

    def release_now(self) -> None:
        """Hand back every lease this process holds, so another takes over at once."""
        with self.database.session() as session:
            session.execute(delete(Lease).where(Lease.holder == self.holder))

    async def claim(self, job: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        return await asyncio.to_thread(self.claim_now, job, now, ttl)

    async def release(self) -> None:
        await asyncio.to_thread(self.release_now)


class AlreadyRunning(Exception):
    """Another netbot process already uses this SQLite database."""


class ProcessLock:
    """An exclusive OS lock on `<sqlite file>.lock`: one netbot process per SQLite file.

    The operating system drops the lock when the process ends, however it ends, so a crash
    never leaves a stale lock behind.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(f"{path}.lock")
        self._file: IO[str] | None = None

    @classmethod
    def for_url(cls, url: str) -> ProcessLock | None:
        """The lock for a SQLite file URL; None for other databases (and in-memory SQLite)."""
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            return None
        return cls(Path(parsed.database).resolve())

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning with what to do about it."""
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            database = self.path.with_suffix("")
            raise AlreadyRunning(
                f"another netbot process is already running on the SQLite database {database}; "
                "SQLite allows one netbot process: stop the other one, or set DATABASE_URL to "
                "a PostgreSQL database to run several processes (e.g. one per shard)"
            ) from None
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
