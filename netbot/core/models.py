"""Database models shared by every capability: `Base`, UTC times, and the key-value `state`.

Each capability declares its own tables in its package (`netbot/<capability>/models.py`), on
this `Base`. Adding a table (or a column) later is two steps:

1. declare the model in the capability's `models.py`, subclassing `Base` (a
   `Mapped[dt.datetime]` column automatically becomes a timezone-aware UTC `UtcDateTime`);
2. add the matching migration in `netbot/core/migrations/versions/`, chained after the newest one
   (0001 -> 0002 -> ...): `alembic revision --autogenerate --rev-id 0002 -m "what it adds"`,
   then read and tidy the generated file.

`tests/test_storage.py` fails while the models and the migrations disagree, so a forgotten
migration is caught before it reaches a real database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, TypeAlias

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    MetaData,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonValue: TypeAlias = dict[str, Any] | list[Any] | str | int | float | bool | None

# Constraint names are spelled out rather than left to each backend, so a later migration can
# drop or alter a constraint by the same name on SQLite and on PostgreSQL.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC: the only kind of time stored."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that goes in and comes out as an aware UTC datetime, on every backend.

    SQLite has no timezone-aware type and hands back naive values; PostgreSQL hands them back
    in the session's time zone. Normalising here means no caller ever compares a naive time
    with an aware one. Naive input is refused, because its zone could only be guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone (e.g. UTC)")
        value = value.astimezone(dt.UTC)
        # SQLite would drop the offset anyway; dropping it here keeps the stored text uniform.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """The declarative base of every netbot model; its metadata is what migrations are checked against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime}


class StateEntry(Base):
    """Small persistent state for cogs, e.g. a feed cursor, one JSON value per (namespace, key).

    Use `Database.get_state` / `set_state` rather than this model directly.
    """

    __tablename__ = "state"

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[JsonValue] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Discord ids (snowflakes) already need more than 32 bits, so every column holding one is a
# BigInteger; they all fit in PostgreSQL's signed 64-bit BIGINT.
_MAX_BIGINT = 2**63 - 1


def snowflake(value: int) -> int:
    """Check a Discord id (a snowflake): a positive int that fits a BIGINT column."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_BIGINT:
        raise ValueError(f"not a Discord id: {value!r}")
    return value


class Lease(Base):
    """Which process runs a background job, until when (see `netbot.core.leases`).

    One row per job name: processes sharing a database take it in turn, so each periodic
    job runs on exactly one of them.
    """

    __tablename__ = "leases"

    job: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime]
