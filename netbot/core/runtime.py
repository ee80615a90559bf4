"""The shared services every cog, the CLI and the side door are given: one object, built once."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from netbot.core.config import CoreConfig
from netbot.core.db import Database
from netbot.core.health import DatabaseProbe, Health
from netbot.core.leases import Leases
from netbot.core.metrics import Metrics
from netbot.core.secrets import Secrets
from netbot.core.tasks import Clock, Supervisor, SystemClock

T = TypeVar("T")

THREADS_PER_BACKEND = 4


class Workers:
    """Threads for blocking calls, a small pool per backend ("database", "redmine", ...).

    With one shared pool (asyncio's default), a slow backend soon holds every thread and
    calls to the healthy ones queue behind it. Separate pools bound what each backend can
    take: a stuck Redmine delays Redmine calls only.
    """

    def __init__(self, threads_per_backend: int = THREADS_PER_BACKEND) -> None:
        self.threads_per_backend = threads_per_backend
        self._pools: dict[str, ThreadPoolExecutor] = {}

    async def run(self, backend: str, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`call(*args, **kwargs)` on one of `backend`'s threads, like `asyncio.to_thread`."""
        pool = self._pools.get(backend)
        if pool is None:
            pool = ThreadPoolExecutor(
                max_workers=self.threads_per_backend, thread_name_prefix=f"netbot-{backend}"
            )
            self._pools[backend] = pool
        context = contextvars.copy_context()
        job = functools.partial(context.run, call, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(pool, job)

    def close(self) -> None:
        """Stop taking work; calls still running in a backend are abandoned, not waited for."""
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Runtime:
    """Configuration, secrets and the long-lived services, passed to the bot factory.

    Cogs reach it as `bot.runtime`; domain functions take only the parts they need. Blocking
    calls go through `workers`, the database health through `database_probe`. On PostgreSQL,
    which several processes may share, the supervisor runs each job on one of them (leases).
    """

    config: CoreConfig
    secrets: Secrets
    database: Database
    health: Health = field(default_factory=Health)
    metrics: Metrics = field(default_factory=Metrics)
    workers: Workers = field(default_factory=Workers)
    clock: Clock = field(default_factory=SystemClock)
    database_probe: DatabaseProbe = field(init=False)
    supervisor: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.database_probe = DatabaseProbe(self.database.ping)
        shared = self.database.engine.dialect.name == "postgresql"
        self.supervisor = Supervisor(self.clock, Leases(self.database) if shared else None)

    def close(self) -> None:
        """Release the threads and the database connections."""
        self.database_probe.close()
        self.workers.close()
        self.database.close()
