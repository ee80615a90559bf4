"""More than one netbot process: PostgreSQL shared by several, SQLite refused to a second.

The PostgreSQL test starts two real processes (`python -c WORKER`), each building the
runtime exactly as `python -m netbot` does (`Runtime` on a PostgreSQL database, so its
supervisor holds job leases) and declaring two small periodic jobs that record each run in
the database. The whole bot is not started: what is shared between processes is the database
and the supervisor, not the Discord connection, and two full bots would only add start-up
time. The test shows each job ran once per period, then kills the process running a job and
shows the other one taking it over. Waits poll the database with a deadline; nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from netbot.core.db import Database
from netbot.core.leases import ProcessLock
from netbot.core.models import StateEntry

ROOT = Path(__file__).resolve().parents[1]
PERIOD = 0.5  # seconds; a job's lease lasts two periods

WORKER = """
import asyncio, datetime as dt, os, sys
from netbot.capabilities import parse_config
from netbot.core.db import Database
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets

url, namespace, period = sys.argv[1], sys.argv[2], float(sys.argv[3])

async def main() -> None:
    runtime = Runtime(
        config=parse_config({"guilds": [1]}), secrets=Secrets(), database=Database.open(url)
    )
    assert runtime.supervisor.leases is not None, "PostgreSQL must give the supervisor leases"
    for job in ("alpha", "beta"):
        async def record(job: str = job) -> None:
            moment = dt.datetime.now(dt.UTC)
            key = f"{job}:{os.getpid()}:{moment.timestamp()}"
            await runtime.workers.run("database", runtime.database.set_state, namespace, key, 0)
        runtime.supervisor.every(job, period, record)
    runtime.supervisor.start()
    print("started", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

Run = tuple[str, int, float]  # job, process id, start time


def runs(database: Database, namespace: str) -> list[Run]:
    with database.session() as session:
        keys = session.scalars(select(StateEntry.key).where(StateEntry.namespace == namespace))
        found = [key.split(":") for key in keys]
    return sorted(((job, int(pid), float(at)) for job, pid, at in found), key=lambda r: r[2])


def wait_for(
    database: Database, namespace: str, done: Callable[[list[Run]], bool], what: str
) -> list[Run]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = runs(database, namespace)
        if done(found):
            return found
    raise AssertionError(f"timed out waiting for {what}: {runs(database, namespace)}")


def assert_once_per_period(found: list[Run]) -> None:
    for job in ("alpha", "beta"):
        moments = [at for name, _, at in found if name == job]
        gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
        assert gaps and min(gaps) >= 0.8 * PERIOD, f"{job} ran twice in one period: {gaps}"


@pytest.fixture
def workers(postgres_url: str) -> Iterator[tuple[Database, str, dict[int, subprocess.Popen[str]]]]:
    namespace = f"ticks-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes: dict[int, subprocess.Popen[str]] = {}
    database = Database.open(postgres_url)
    try:
        for _ in range(2):
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, postgres_url, namespace, str(PERIOD)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            processes[process.pid] = process
        yield database, namespace, processes
    finally:
        for process in processes.values():
            process.kill()
            process.wait()
        database.close()


@pytest.mark.postgres
def test_two_processes_run_each_job_once_per_period_and_take_over_a_killed_one(
    workers: tuple[Database, str, dict[int, subprocess.Popen[str]]],
) -> None:
    database, namespace, processes = workers
    for process in processes.values():  # both are up and supervising
        assert process.stdout is not None and process.stdout.readline() == "started\n"

    found = wait_for(
        database,
        namespace,
        lambda found: all(sum(r[0] == job for r in found) >= 6 for job in ("alpha", "beta")),
        "six runs of each job",
    )
    assert_once_per_period(found)
    for job in ("alpha", "beta"):  # one process runs each job while both are alive
        assert len({pid for name, pid, _ in found if name == job}) == 1, found

    holder = next(pid for name, pid, _ in found if name == "alpha")
    killed_at = dt.datetime.now(dt.UTC).timestamp()
    processes[holder].kill()
    processes[holder].wait()
    survivor = next(pid for pid in processes if pid != holder)

    found = wait_for(
        database,
        namespace,
        lambda found: sum(r[:2] == ("alpha", survivor) and r[2] > killed_at for r in found) >= 2,
        "the surviving process to take the job over",
    )
    assert_once_per_period(found)
    taken_over = next(at for name, pid, at in found if (name, pid) == ("alpha", survivor))
    assert taken_over - killed_at <= 3 * PERIOD + 1  # the lease ran out, then the next wake


def test_a_second_netbot_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "netbot.yaml").write_text(
        yaml.safe_dump({"guilds": [1], "storage": {"data_dir": str(data)}})
    )
    running = ProcessLock.for_url(f"sqlite:///{data / 'netbot.sqlite3'}")
    assert running is not None
    running.acquire()  # stands for a netbot already running on that file
    try:
        done = subprocess.run(
            [sys.executable, "-m", "netbot"],
            cwd=tmp_path,
            env={
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": str(ROOT),
                "NETBOT_CONFIG": str(tmp_path / "netbot.yaml"),
                "DISCORD_TOKEN": "fake-token-never-used",
                "DISCORD_API_BASE_URL": "http://127.0.0.1:9/api/v{API_VERSION}",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        running.release()
    assert done.returncode == 2, done.stderr
    assert "another netbot process is already running on the SQLite database" in done.stderr
    assert "set DATABASE_URL to a PostgreSQL database" in done.stderr
