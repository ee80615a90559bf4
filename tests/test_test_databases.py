"""The PostgreSQL test fixture skips, with the server's reason, where PostgreSQL is unusable."""

from __future__ import annotations

import os
import socket

import pytest
from sqlalchemy.engine import make_url

from tests.plugins.databases import PG_URL_ENV, connect_or_skip


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_postgres_not_listening_skips_with_the_reason() -> None:
    url = make_url(f"postgresql+psycopg://postgres@127.0.0.1:{_unused_port()}/test")
    with pytest.raises(pytest.skip.Exception, match="is not usable for the tests"):
        connect_or_skip(url)


def test_missing_test_database_skips_with_the_reason() -> None:
    base = os.environ.get(PG_URL_ENV, "")
    if not base:
        pytest.skip(f"{PG_URL_ENV} is not set, so there is no PostgreSQL server to ask")
    url = make_url(base).set(database="netbot_no_such_database")
    with pytest.raises(pytest.skip.Exception, match='"netbot_no_such_database" does not exist'):
        connect_or_skip(url)
