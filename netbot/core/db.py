"""Storage: SQLite by default, PostgreSQL when DATABASE_URL says so, schema kept by Alembic.

`Database.open` brings the schema to the newest migration before anything else touches it,
so the bot never runs against tables older than its code. Migrations live in
`netbot/core/migrations/versions/` (0001, 0002, ... each chained after the previous one) and
models in `netbot/core/models.py`; see there for how to add a table.

Every call here blocks. From asyncio code, run them in a worker thread
(`await asyncio.to_thread(db.get_state, "feed", "cursor")`) so a slow database never stalls
the Discord gateway.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from netbot.core.models import JsonValue, StateEntry, utcnow

if TYPE_CHECKING:  # Alembic (~0.3 s to import) is loaded only where a migration is looked at
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_FILENAME = "netbot.sqlite3"
SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10
# Any fixed 64-bit number works; it only has to be the same in every netbot process.
_MIGRATION_LOCK_ID = 0x6E6574626F74  # "netbot"
_SQLITE_BEGIN_OPTION = "netbot_sqlite_begin"
# Alembic keeps its migration context in a module global, so within one process only one
# thread may migrate at a time, whatever the database.
_MIGRATION_THREAD_LOCK = threading.Lock()


# The package to install for a database driver module SQLAlchemy could not import.
_DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "asyncpg": "asyncpg",
    "pyodbc": "pyodbc",
    "oracledb": "oracledb",
}


class DatabaseProblem(Exception):
    """A database netbot cannot use, worded for an operator (what, why, what to do), so
    start-up and `python -m netbot check` can say it in one line instead of a traceback."""


class DatabaseUrlInvalid(DatabaseProblem):
    """DATABASE_URL is no URL SQLAlchemy can read, or names a database it does not know."""


class DriverMissing(DatabaseProblem):
    """DATABASE_URL names a driver whose Python package is not installed."""


class DatabaseUnreachable(DatabaseProblem):
    """The database did not answer (down, wrong host or port, refused the login...)."""


# One statement, so two writers racing on the same key cannot both try to INSERT; other
# backends fall back to the ORM's select-then-write `merge`.
_UPSERT_INSERTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def database_url(explicit_url: str, data_dir: str | Path) -> str:
    """The URL to connect to: `explicit_url` (DATABASE_URL) if set, else a SQLite file in `data_dir`.

    `postgres://` and `postgresql://` (as hosting providers hand them out) are pointed at
    psycopg 3, the only PostgreSQL driver installed.
    """
    explicit_url = explicit_url.strip()
    if explicit_url:
        for prefix in ("postgres://", "postgresql://"):
            if explicit_url.startswith(prefix):
                explicit_url = "postgresql+psycopg://" + explicit_url.removeprefix(prefix)
                break
        parse_url(explicit_url)
        return explicit_url
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / SQLITE_FILENAME}"


def parse_url(url: str) -> URL:
    """`url` parsed; DatabaseUrlInvalid (without the URL, which may hold a password) if not."""
    try:
        return make_url(url)
    except ArgumentError:
        raise DatabaseUrlInvalid(
            "DATABASE_URL is not a database URL: expected e.g. "
            "postgresql+psycopg://user@host:5432/database or sqlite:///path; "
            "fix it in the environment or .env, or unset it to use SQLite"
        ) from None


def alembic_config(capability_versions: Sequence[Path] = ()) -> Config:
    """Alembic settings for running migrations from code: no alembic.ini is needed at run time.

    The core's history lives in `migrations/versions/`; a capability that owns tables keeps its
    own history in its package (a branch labelled with its name, `depends_on` a core
    revision), listed here through `capability_versions`, so adding one touches no core file.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations",
        os.pathsep.join(str(path) for path in (MIGRATIONS_DIR / "versions", *capability_versions)),
    )
    return config


def make_engine(url: str) -> Engine:
    """An engine with netbot's connection settings, without touching the database yet.

    Raises DatabaseUrlInvalid or DriverMissing (naming the package to install)."""
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed)
            _configure_sqlite(engine)
            return engine
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except NoSuchModuleError:
        raise DatabaseUrlInvalid(
            f"DATABASE_URL names a database SQLAlchemy does not know ({parsed.drivername}); "
            "use postgresql+psycopg://... or sqlite:///..."
        ) from None
    except ImportError as error:
        module = (error.name or "?").split(".")[0]
        package = _DRIVER_PACKAGES.get(module, module)
        raise DriverMissing(
            f"the database driver for {parsed.drivername} is not installed (no module "
            f"{module}); install it: .venv/bin/pip install '{package}', or use "
            "postgresql+psycopg://, whose driver netbot ships with"
        ) from None


def _unreachable(engine: Engine, error: DBAPIError) -> DatabaseUnreachable:
    """The operator's line for a database that did not answer: where, and the driver's why."""
    # Not the URL itself: it is a secret, which the log filter would blank whole.
    url = engine.url
    where = url.database if url.get_backend_name() == "sqlite" else f"{url.host}:{url.port or ''}"
    why = " ".join(str(error.orig).split())[:300]
    return DatabaseUnreachable(
        f"the {url.get_backend_name()} database at {where} is unreachable ({why}): "
        "start it, or fix DATABASE_URL"
    )


def unapplied_heads(url: str, capability_versions: Sequence[Path] = ()) -> list[str]:
    """Connect once and list the migration heads the schema has not reached yet (applied at
    the next start); for `python -m netbot check`, which never changes the database."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    engine = make_engine(url)
    try:
        heads = set(ScriptDirectory.from_config(alembic_config(capability_versions)).get_heads())
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except DBAPIError as error:
        raise _unreachable(engine, error) from error
    finally:
        engine.dispose()
    return sorted(heads - current)


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave like a real transactional database shared by several processes.

    Python's sqlite3 (before 3.12) does not BEGIN before DDL or SELECT, so a failed migration
    could leave half a schema; SQLAlchemy emits BEGIN itself instead. WAL lets readers run
    while someone writes, and busy_timeout makes a second process wait for a lock rather
    than fail at once.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            _enable_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the file to WAL, retrying while another process holds the lock it needs.

    SQLite answers "database is locked" to a journal mode change at once, without waiting
    for busy_timeout, which two bots starting together on a new file would otherwise hit.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _migrate(engine: Engine, capability_versions: Sequence[Path]) -> None:
    """Upgrade the schema to head inside one transaction, holding a lock against other processes.

    Two bots starting at once queue on the lock (a PostgreSQL advisory lock, or SQLite's
    write lock taken by BEGIN IMMEDIATE); the second then finds the schema already at head.
    """
    from alembic import command

    with _MIGRATION_THREAD_LOCK, engine.connect() as connection:
        connection = connection.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_ID)))
            config = alembic_config(capability_versions)
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")


class Database:
    """The bot's database: sessions, a health ping, and a small key-value store for cogs."""

    def __init__(self, engine: Engine) -> None:
        """Wrap `engine` as is; `open` is the usual way in, as it also migrates."""
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, capability_versions: Sequence[Path] = ()) -> Database:
        """Connect to `url` and bring its schema to the newest migration of the core and of
        each capability whose history lives in `capability_versions`."""
        engine = make_engine(url)
        try:
            # Connecting first tells "the database is not there" (an operator's fix) apart
            # from a failing migration (a bug), which keeps its traceback.
            try:
                engine.connect().close()
            except DBAPIError as error:
                raise _unreachable(engine, error) from error
            _migrate(engine, capability_versions)
        except BaseException:
            engine.dispose()
            raise
        log.info("database ready: %s", engine.url.render_as_string(hide_password=True))
        return cls(engine)

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session that commits if the block succeeds and rolls everything back if it raises.

        `write=True` for a transaction that reads and then writes: on SQLite it takes the
        write lock at BEGIN (IMMEDIATE), so it never fails with "database is locked" when
        another connection wrote in between (SQLite cannot upgrade a stale read lock and
        does not wait for it); writers queue on busy_timeout instead. Elsewhere the same.
        """
        if not write or self.engine.dialect.name != "sqlite":
            with self._sessions.begin() as session:
                yield session
            return
        with (
            self.engine.connect().execution_options(
                **{_SQLITE_BEGIN_OPTION: "IMMEDIATE"}
            ) as connection,
            Session(bind=connection, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def ping(self) -> bool:
        """Whether the database answers `SELECT 1`; never raises, for health checks."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            log.debug("database ping failed: %s", type(error).__name__)
            return False
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def get_state(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """The value stored under (namespace, key), or `default` if there is none."""
        with self.session() as session:
            entry = session.get(StateEntry, (namespace, key))
            return default if entry is None else entry.value

    def set_state(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store `value` (anything JSON can hold) under (namespace, key), replacing any old value."""
        row = {"namespace": namespace, "key": key, "value": value, "updated_at": utcnow()}
        with self.session() as session:
            upsert(session, StateEntry, row, keys=("namespace", "key"))


def upsert(session: Session, model: type[Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Insert `row`, or overwrite every other column of the row with the same `keys`.

    One statement on SQLite and PostgreSQL, so two writers racing on the same key cannot both
    try to INSERT; other backends fall back to the ORM's select-then-write `merge`.
    """
    insert = _UPSERT_INSERTS.get(session.get_bind().dialect.name)
    if insert is None:
        session.merge(model(**row))
        session.flush()
        return
    statement = insert(model).values(row)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: statement.excluded[name] for name in row if name not in keys},
        )
    )
