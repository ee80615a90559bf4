"""Database fixtures: every backend the bot supports, each test with a fresh, empty database.

SQLite always; PostgreSQL too when NETBOT_TEST_DATABASE_URL is set. A PostgreSQL that cannot
be used as the tests need it (no trust auth, no such database, not running) skips the
PostgreSQL cases with the server's reason instead of erroring. Each PostgreSQL test gets
a schema of its own (found through search_path), so tests never see each other's rows and
each has its own alembic_version table.

Import the fixtures a test module needs from here (`db`, `db_url`, and the `sqlite_url` /
`postgres_url` that `db_url` switches between).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError

from netbot import capabilities
from netbot.core.db import Database, alembic_config, database_url

PG_URL_ENV = "NETBOT_TEST_DATABASE_URL"
PG_PASSWORD = "not-a-real-pw-4f1c"  # PostgreSQL here uses trust auth, so any password works


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL to a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'netbot.sqlite3'}"


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    """A URL (with a password, which trust auth ignores) to a fresh, empty PostgreSQL schema."""
    base_url = os.environ.get(PG_URL_ENV, "")
    if not base_url:
        pytest.skip(f"{PG_URL_ENV} is not set, so PostgreSQL is not tested")
    base = make_url(database_url(base_url, tmp_path))
    schema = f"netbot_test_{uuid.uuid4().hex[:12]}"
    admin = connect_or_skip(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = base.set(password=PG_PASSWORD).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def connect_or_skip(url: URL) -> Engine:
    """An engine whose first connection worked; else skip the test with the server's reason.

    The PostgreSQL cases need trust auth (the tests connect without a real password) and the
    database named in the URL; a developer's own server often has neither, which is a reason
    to skip, not an error in the code under test.
    """
    engine = create_engine(url)
    try:
        engine.connect().close()
    except OperationalError as error:
        engine.dispose()
        reason = str(error.orig or error).strip().splitlines()[0]
        pytest.skip(
            f"PostgreSQL at {url.render_as_string()} is not usable for the tests ({reason}); "
            "they need trust auth for local TCP connections and the database "
            f"{url.database!r} (createdb {url.database})"
        )
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: an empty database to open."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """An opened database (so at the newest migration), closed after the test."""
    database = Database.open(db_url, capabilities.migration_dirs())
    yield database
    database.close()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
