"""Alembic environment for netbot, used both by `Database.open` and by the `alembic` command.

At run time `Database.open` passes in a connection that already holds the migration lock and
an open transaction, so every migration and the version bump commit or fail together.
Developers run `alembic revision --autogenerate --rev-id 0002 -m "..."` from the project root
(alembic.ini points here); the database is then DATABASE_URL, or the default SQLite file in
./data, and it must already be at head.
"""

from __future__ import annotations

import importlib
import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, MetaData, TypeDecorator

from netbot.core.db import database_url, make_engine

config = context.config


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write netbot's own column types as the plain SQLAlchemy type they store as.

    Migrations then never import netbot.core.models, so an old migration keeps working however
    the models change later.
    """
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


def _metadata() -> MetaData:
    """Every table of every capability. Alembic runs this file on its own (autogenerate), so
    it asks the composition root, `netbot.capabilities`, by name rather than importing it:
    core itself knows no capability."""
    return importlib.import_module("netbot.capabilities").metadata()


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=_metadata(),
        render_item=render_item,
        render_as_batch=True,  # SQLite can only ALTER a table by copying it
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    engine = make_engine(database_url(os.environ.get("DATABASE_URL", ""), "data"))
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


main()
