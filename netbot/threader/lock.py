"""Two threaders never sync the same ticket at the same time.

On PostgreSQL each ticket is a session-level advisory lock (`pg_try_advisory_lock`) on a
connection the threader keeps for it: several threaders share the work, each ticket is
synced by whichever takes its lock first, and a threader that dies drops its locks with
its connection. On SQLite (one machine) the whole cycle holds an OS lock on a file next to
the database (`<database>.threader.lock`, `netbot.core.leases.ProcessLock`): a second
threader skips the cycle, and the kernel drops the lock the instant its holder dies, even
by SIGKILL, so a killed threader never keeps the next one waiting.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, text

from netbot.core.db import Database
from netbot.core.leases import AlreadyRunning, ProcessLock

LOCK_CLASS = 0x7468  # "th": the advisory lock namespace of threader tickets


class SyncLocks:
    """The cycle's lock (SQLite) and each ticket's lock (PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.postgres = database.engine.dialect.name == "postgresql"
        path = database.engine.url.database
        self._file_lock = (
            None
            if self.postgres or path in (None, "", ":memory:")
            else ProcessLock(f"{path}.threader")
        )
        # Session-level advisory locks belong to one connection, used from one thread.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="threader-lock")
        self._connection: Connection | None = None

    async def _run(self, call: object, *args: object) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, call, *args)  # type: ignore[arg-type]

    async def cycle(self) -> bool:
        """Whether this threader may run a cycle now (always, on PostgreSQL)."""
        if self._file_lock is None:
            return True
        try:
            self._file_lock.acquire()
        except AlreadyRunning:
            return False
        return True

    async def end_cycle(self) -> None:
        """Let another threader run the next cycle (SQLite)."""
        if self._file_lock is not None:
            self._file_lock.release()

    async def ticket(self, ticket_id: int) -> bool:
        """Take the ticket's lock; False when another threader holds it."""
        if not self.postgres:
            return True
        return await self._run(self._try_lock, ticket_id)

    async def release(self, ticket_id: int) -> None:
        if self.postgres:
            await self._run(self._unlock, ticket_id)

    def _conn(self) -> Connection:
        if self._connection is None or self._connection.closed:
            self._connection = self.database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        return self._connection

    def _try_lock(self, ticket_id: int) -> bool:
        query = text("SELECT pg_try_advisory_lock(:a, :b)")
        return bool(self._conn().execute(query, {"a": LOCK_CLASS, "b": ticket_id}).scalar())

    def _unlock(self, ticket_id: int) -> bool:
        query = text("SELECT pg_advisory_unlock(:a, :b)")
        return bool(self._conn().execute(query, {"a": LOCK_CLASS, "b": ticket_id}).scalar())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._thread.shutdown(wait=False)
