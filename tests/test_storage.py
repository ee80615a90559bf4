"""Storage tests: always on SQLite, and on PostgreSQL too when NETBOT_TEST_DATABASE_URL is set.

Each PostgreSQL test gets a schema of its own (found through search_path), so tests never see
each other's rows and each has its own alembic_version table; the fixtures doing that live in
tests/plugins/databases.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from netbot import capabilities
from netbot.core.db import Database, alembic_config, database_url, make_engine
from netbot.core.models import StateEntry
from tests.plugins.databases import PG_PASSWORD, current_revision, head_revision

# The fixtures db, db_url, sqlite_url and postgres_url.

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- migrations ---------------------------------------------------------------------------


def test_open_creates_tables_at_head(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {"state", "leases", "alembic_version"} <= tables
    assert head_revision() == "0003"  # the core's: each capability's branch depends on it
    with db.engine.connect() as connection:
        heads = set(MigrationContext.configure(connection).get_current_heads())
    scripts = ScriptDirectory.from_config(alembic_config(capabilities.migration_dirs()))
    reached = {r.revision for r in scripts.iterate_revisions(tuple(heads), "base")}
    assert set(scripts.get_heads()) <= reached  # the core's and every capability's


def test_reopen_is_idempotent_and_keeps_data(db_url: str) -> None:
    first = Database.open(db_url)
    first.set_state("feed", "cursor", 42)
    first.close()
    second = Database.open(db_url)
    try:
        assert current_revision(second) == head_revision()
        assert second.get_state("feed", "cursor") == 42
    finally:
        second.close()


def test_two_processes_opening_at_once_both_succeed(db_url: str) -> None:
    # Both children wait for the same moment after their (slow) imports, then open together.
    start_at = time.time() + 2.0
    child = (
        "import sys, time\n"
        "from netbot.core.db import Database\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "Database.open(sys.argv[1]).close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", child, db_url, str(start_at)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in children:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
    database = Database.open(db_url)
    try:
        assert current_revision(database) == head_revision()
    finally:
        database.close()


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, capabilities.metadata()) == []


def test_sqlite_connection_settings(sqlite_url: str) -> None:
    database = Database.open(sqlite_url)
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        database.close()


@pytest.mark.postgres
def test_password_is_never_logged(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    Database.open(postgres_url).close()
    assert "database ready" in caplog.text
    assert PG_PASSWORD not in caplog.text


# --- state --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"cursor": "abc", "seen": [1, 2, 3], "nested": {"deep": {"ok": True, "none": None}}},
        [1, "two", 3.5, False, None, {"k": "v"}],
        "Zürich — 東京 — 🚨",
        {"ключ": "значение", "emoji": "🔥"},
        0,
        None,
    ],
)
def test_state_round_trip(db: Database, value: object) -> None:
    db.set_state("cog", "key", value)
    assert db.get_state("cog", "key", default="missing") == value


def test_missing_state_gives_default(db: Database) -> None:
    assert db.get_state("cog", "nothing") is None
    assert db.get_state("cog", "nothing", default={"fresh": True}) == {"fresh": True}


def test_set_state_overwrites(db: Database) -> None:
    db.set_state("feed", "cursor", {"id": 1})
    first = _updated_at(db, "feed", "cursor")
    db.set_state("feed", "cursor", {"id": 2})
    assert db.get_state("feed", "cursor") == {"id": 2}
    assert _updated_at(db, "feed", "cursor") >= first
    with db.session() as session:
        assert session.query(StateEntry).count() == 1


def test_updated_at_is_aware_utc(db: Database) -> None:
    before = dt.datetime.now(dt.UTC)
    db.set_state("feed", "cursor", 1)
    stamp = _updated_at(db, "feed", "cursor")
    assert stamp.tzinfo is not None
    assert stamp.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=5) <= stamp <= dt.datetime.now(dt.UTC)


def test_namespaces_are_separate(db: Database) -> None:
    db.set_state("a", "key", 1)
    db.set_state("b", "key", 2)
    assert (db.get_state("a", "key"), db.get_state("b", "key")) == (1, 2)


def test_naive_datetime_is_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.session() as session:
        session.add(StateEntry(namespace="a", key="b", value=1, updated_at=dt.datetime(2024, 1, 1)))


def _updated_at(db: Database, namespace: str, key: str) -> dt.datetime:
    with db.session() as session:
        entry = session.get(StateEntry, (namespace, key))
        assert entry is not None
        return entry.updated_at


# --- sessions -----------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_session_commits_on_success(db: Database) -> None:
    with db.session() as session:
        session.add(StateEntry(namespace="a", key="b", value=[1]))
    assert db.get_state("a", "b") == [1]


def test_exception_in_session_leaves_nothing_half_written(db: Database) -> None:
    db.set_state("a", "kept", "old")
    with pytest.raises(Boom), db.session() as session:
        session.add(StateEntry(namespace="a", key="new", value=1))
        session.flush()  # the row really reached the database before the failure
        session.execute(text("UPDATE state SET value = '\"changed\"' WHERE key = 'kept'"))
        raise Boom
    assert db.get_state("a", "new") is None
    assert db.get_state("a", "kept") == "old"


def test_failed_statement_rolls_back_earlier_writes(db: Database) -> None:
    with pytest.raises(Exception, match="not JSON serializable"), db.session() as session:
        session.add(StateEntry(namespace="a", key="first", value=1))
        session.flush()
        session.add(StateEntry(namespace="a", key="second", value={"not json": object()}))
    assert db.get_state("a", "first") is None


# --- ping ---------------------------------------------------------------------------------


def test_ping_true_when_reachable(db: Database) -> None:
    assert db.ping() is True


def test_ping_false_for_closed_postgres_port() -> None:
    database = Database(make_engine(f"postgresql+psycopg://netbot@127.0.0.1:{closed_port()}/x"))
    try:
        assert database.ping() is False
    finally:
        database.close()


def test_ping_false_for_unopenable_sqlite_file(tmp_path: Path) -> None:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}"))
    try:
        assert database.ping() is False
    finally:
        database.close()


def test_open_fails_loudly_when_unreachable() -> None:
    with pytest.raises(Exception, match=r"127\.0\.0\.1"):
        Database.open(f"postgresql+psycopg://netbot:pw@127.0.0.1:{closed_port()}/x")


# --- database_url -------------------------------------------------------------------------


def test_explicit_url_wins(tmp_path: Path) -> None:
    url = "sqlite:////somewhere/else.db"
    assert database_url(url, tmp_path / "data") == url
    assert not (tmp_path / "data").exists()


def test_default_is_sqlite_in_data_dir_which_is_created(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "data"
    assert database_url("", data_dir) == f"sqlite:///{data_dir}/netbot.sqlite3"
    assert data_dir.is_dir()
    assert database_url("   ", str(data_dir)) == f"sqlite:///{data_dir}/netbot.sqlite3"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+psycopg://u@h/db?sslmode=require"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_postgres_urls_use_psycopg(tmp_path: Path, given: str, expected: str) -> None:
    assert database_url(given, tmp_path) == expected


DEMO_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "demo_0001"
down_revision = None
branch_labels = ("demo",)
depends_on = "{core_head}"


def upgrade() -> None:
    op.create_table("demo_things", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("demo_things")
"""


def test_a_capability_keeps_its_own_migration_history(tmp_path: Path, sqlite_url: str) -> None:
    """A capability's tables come from a migration folder in its own package (a branch of
    its own), so adding one touches no file of the core."""
    versions = tmp_path / "demo_versions"
    versions.mkdir()
    core_head = head_revision()
    (versions / "demo_0001.py").write_text(DEMO_MIGRATION.format(core_head=core_head))
    for _ in range(2):  # the second start finds everything at its heads
        database = Database.open(sqlite_url, [versions])
        try:
            tables = inspect(database.engine).get_table_names()
            assert {"demo_things", "leases", "user_links"} <= set(tables)
            with database.engine.connect() as connection:
                heads = set(MigrationContext.configure(connection).get_current_heads())
            assert heads == {"demo_0001"}  # it depends on the core head, which it implies
        finally:
            database.close()


def test_opening_the_database_module_imports_no_migration_machinery() -> None:
    """Alembic (about half a second) is imported only when a migration runs: tools that only
    read the database, such as `replay`, start without it."""
    code = "import sys, netbot.core.db; print('alembic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=60)  # fmt: skip
    assert done.stdout.strip() == "False", done.stderr
