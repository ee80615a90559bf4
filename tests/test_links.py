"""Tests for netbot.identity: user links and ticket threads, on SQLite and (if set up) PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from netbot import identity as links
from netbot.core.db import Database, alembic_config, make_engine
from netbot.core.errors import NotFound, UserError
from netbot.core.models import utcnow
from netbot.identity.models import UserLink
from netbot.tickets import threads
from netbot.tickets.models import TicketThread
from tests.plugins.databases import current_revision

# The fixtures db, db_url, sqlite_url and postgres_url.

# Realistic 19-digit Discord snowflakes: well past 32 bits, within signed 64 bits.
USER = 1180000000000000001
OTHER_USER = 1180000000000000002
ADMIN = 1180000000000000099
GUILD = 1100000000000000000
CHANNEL = 1100000000000000001
THREAD = 1190000000000000001
OTHER_THREAD = 1190000000000000002
BIGGEST_SNOWFLAKE = 2**63 - 1


def _recent(stamp: dt.datetime | None) -> bool:
    assert stamp is not None
    assert stamp.utcoffset() == dt.timedelta(0)
    return utcnow() - dt.timedelta(seconds=30) <= stamp <= utcnow()


# --- links --------------------------------------------------------------------------------


def test_request_creates_pending_link(db: Database) -> None:
    link = links.request_link(db, USER, "alice")
    assert link.discord_user_id == USER
    assert link.redmine_login == "alice"
    assert link.status == "pending"
    assert not link.approved
    assert _recent(link.requested_at)
    assert (link.decided_by, link.decided_at) == (None, None)
    assert links.get_link(db, USER) == link
    assert links.approved_login(db, USER) is None


def test_request_strips_login_and_refuses_empty_or_long(db: Database) -> None:
    assert links.request_link(db, USER, "  alice\n").redmine_login == "alice"
    with pytest.raises(UserError):
        links.request_link(db, OTHER_USER, "   ")
    with pytest.raises(UserError, match="at most 255"):
        links.request_link(db, OTHER_USER, "x" * 256)
    assert links.request_link(db, OTHER_USER, "x" * 255).redmine_login == "x" * 255
    assert links.get_link(db, USER) is not None


def test_request_replaces_earlier_pending_request(db: Database) -> None:
    links.request_link(db, USER, "alice")
    link = links.request_link(db, USER, "alicia")
    assert (link.redmine_login, link.status) == ("alicia", "pending")
    assert links.get_link(db, USER) == link
    with db.session() as session:
        assert session.query(UserLink).count() == 1


def test_approve_sets_status_and_decider(db: Database) -> None:
    requested = links.request_link(db, USER, "alice")
    link = links.approve_link(db, USER, ADMIN, requested.request_id)
    assert link.approved
    assert link.status == "approved"
    assert link.redmine_login == "alice"
    assert link.decided_by == ADMIN
    assert _recent(link.decided_at)
    assert link.requested_at == requested.requested_at
    assert links.get_link(db, USER) == link
    assert links.approved_login(db, USER) == "alice"


def test_approve_without_request_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="no pending link request") as raised:
        links.approve_link(db, USER, ADMIN, "0" * 16)
    assert "<@" not in raised.value.message
    assert links.get_link(db, USER) is None


def test_approve_twice_is_not_found_and_keeps_the_first_decision(db: Database) -> None:
    requested = links.request_link(db, USER, "alice")
    first = links.approve_link(db, USER, ADMIN, requested.request_id)
    with pytest.raises(NotFound):
        links.approve_link(db, USER, OTHER_USER, requested.request_id)
    assert links.get_link(db, USER) == first


def test_deny_deletes_pending_request(db: Database) -> None:
    requested = links.request_link(db, USER, "alice")
    links.deny_link(db, USER, ADMIN, requested.request_id)
    assert links.get_link(db, USER) is None
    with pytest.raises(NotFound, match="no pending link request"):
        links.deny_link(db, USER, ADMIN, requested.request_id)


def test_deny_leaves_an_approved_link_alone(db: Database) -> None:
    approved = links.set_link(db, USER, "alice", ADMIN)
    with pytest.raises(NotFound):
        links.deny_link(db, USER, ADMIN, approved.request_id)
    assert links.approved_login(db, USER) == "alice"


def test_set_link_approves_at_once(db: Database) -> None:
    link = links.set_link(db, USER, "bob", ADMIN)
    assert link.approved
    assert (link.redmine_login, link.decided_by) == ("bob", ADMIN)
    assert _recent(link.decided_at)
    assert links.approved_login(db, USER) == "bob"


def test_set_link_replaces_pending_request_and_old_link(db: Database) -> None:
    links.request_link(db, USER, "alice")
    links.set_link(db, USER, "bob", ADMIN)
    assert links.approved_login(db, USER) == "bob"
    links.set_link(db, USER, "carol", OTHER_USER)
    link = links.get_link(db, USER)
    assert link is not None
    assert (link.redmine_login, link.decided_by, link.status) == ("carol", OTHER_USER, "approved")


def test_rerequest_same_login_after_approval_keeps_link(db: Database) -> None:
    requested = links.request_link(db, USER, "alice")
    approved = links.approve_link(db, USER, ADMIN, requested.request_id)
    assert links.request_link(db, USER, " alice ") == approved
    assert links.get_link(db, USER) == approved


def test_rerequest_other_login_after_approval_needs_new_approval(db: Database) -> None:
    links.set_link(db, USER, "alice", ADMIN)
    link = links.request_link(db, USER, "alicia")
    assert (link.redmine_login, link.status, link.decided_by, link.decided_at) == (
        "alicia",
        "pending",
        None,
        None,
    )
    assert links.approved_login(db, USER) is None
    assert links.approve_link(db, USER, ADMIN, link.request_id).redmine_login == "alicia"
    assert links.approved_login(db, USER) == "alicia"


def test_remove_link(db: Database) -> None:
    links.set_link(db, USER, "alice", ADMIN)
    links.request_link(db, OTHER_USER, "bob")
    assert links.remove_link(db, USER) is True
    assert links.remove_link(db, USER) is False
    assert links.get_link(db, USER) is None
    assert links.remove_link(db, OTHER_USER) is True  # a pending request goes too
    assert links.get_link(db, OTHER_USER) is None


def test_users_are_separate_and_may_share_a_login(db: Database) -> None:
    links.set_link(db, USER, "alice", ADMIN)
    links.request_link(db, OTHER_USER, "alice")
    assert links.approved_login(db, USER) == "alice"
    assert links.approved_login(db, OTHER_USER) is None


def test_biggest_snowflake_round_trips(db: Database) -> None:
    links.set_link(db, BIGGEST_SNOWFLAKE, "max", BIGGEST_SNOWFLAKE)
    link = links.get_link(db, BIGGEST_SNOWFLAKE)
    assert link is not None
    assert (link.discord_user_id, link.decided_by) == (BIGGEST_SNOWFLAKE, BIGGEST_SNOWFLAKE)


@pytest.mark.parametrize("bad", [0, -1, 2**63, True, "1180000000000000001", None])
def test_bad_discord_ids_are_refused_before_touching_the_database(
    db: Database, bad: object
) -> None:
    with pytest.raises(ValueError, match="not a Discord id"):
        links.request_link(db, bad, "alice")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a Discord id"):
        links.set_link(db, USER, "alice", bad)  # type: ignore[arg-type]
    assert links.get_link(db, USER) is None


def test_check_constraint_rejects_unknown_status(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(
            UserLink(
                discord_user_id=USER, redmine_login="alice", status="banned", requested_at=utcnow()
            )
        )
    assert links.get_link(db, USER) is None


def test_failed_write_leaves_nothing_behind(db: Database) -> None:
    links.set_link(db, USER, "alice", ADMIN)
    with pytest.raises(IntegrityError), db.session() as session:
        session.execute(text("DELETE FROM user_links"))
        session.add(UserLink(discord_user_id=OTHER_USER, redmine_login="bob", status="nope"))
    assert links.approved_login(db, USER) == "alice"
    assert links.get_link(db, OTHER_USER) is None


# --- ticket threads -----------------------------------------------------------------------


def test_record_and_look_up_thread_both_ways(db: Database) -> None:
    assert threads.thread_for_ticket(db, 42) is None
    assert threads.ticket_for_thread(db, THREAD) is None
    assert threads.all_threads(db) == {}
    threads.record_thread(db, 42, THREAD, GUILD, CHANNEL, USER)
    assert threads.thread_for_ticket(db, 42) == THREAD
    assert threads.ticket_for_thread(db, THREAD) == 42
    assert threads.all_threads(db) == {THREAD: 42}
    with db.session() as session:
        row = session.get(TicketThread, 42)
        assert row is not None
        assert (row.guild_id, row.channel_id, row.created_by) == (GUILD, CHANNEL, USER)
        assert _recent(row.created_at)


def test_new_thread_for_same_ticket_replaces_old(db: Database) -> None:
    threads.record_thread(db, 42, THREAD, GUILD, CHANNEL, USER)
    threads.record_thread(db, 42, OTHER_THREAD, GUILD, CHANNEL + 1, OTHER_USER)
    assert threads.thread_for_ticket(db, 42) == OTHER_THREAD
    assert threads.ticket_for_thread(db, THREAD) is None
    assert threads.ticket_for_thread(db, OTHER_THREAD) == 42
    assert threads.all_threads(db) == {OTHER_THREAD: 42}
    with db.session() as session:
        row = session.get(TicketThread, 42)
        assert row is not None
        assert (row.channel_id, row.created_by) == (CHANNEL + 1, OTHER_USER)


def test_recording_same_thread_again_is_harmless(db: Database) -> None:
    threads.record_thread(db, 42, THREAD, GUILD, CHANNEL, USER)
    threads.record_thread(db, 42, THREAD, GUILD, CHANNEL, USER)
    assert threads.all_threads(db) == {THREAD: 42}


def test_thread_moved_to_another_ticket_leaves_the_first(db: Database) -> None:
    threads.record_thread(db, 42, THREAD, GUILD, CHANNEL, USER)
    threads.record_thread(db, 43, THREAD, GUILD, CHANNEL, USER)
    assert threads.thread_for_ticket(db, 42) is None
    assert threads.ticket_for_thread(db, THREAD) == 43
    assert threads.all_threads(db) == {THREAD: 43}


def test_many_threads(db: Database) -> None:
    for ticket in range(1, 6):
        threads.record_thread(db, ticket, THREAD + ticket, GUILD, CHANNEL, USER)
    assert threads.all_threads(db) == {THREAD + ticket: ticket for ticket in range(1, 6)}


@pytest.mark.parametrize("bad", [0, -5, 2**31, False])
def test_bad_ticket_ids_are_refused(db: Database, bad: int) -> None:
    with pytest.raises(ValueError, match="not a ticket id"):
        threads.record_thread(db, bad, THREAD, GUILD, CHANNEL, USER)
    assert threads.all_threads(db) == {}


# --- migration 0002 -----------------------------------------------------------------------


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _migrate(engine: Engine, action: str, revision: str) -> None:
    """Run `alembic upgrade/downgrade revision` in one transaction, as Database.open does."""
    with engine.connect() as connection, connection.begin():
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_migration_0002_upgrades_from_0001_and_downgrades_cleanly(engine: Engine) -> None:
    _migrate(engine, "upgrade", "0001")
    assert "user_links" not in _tables(engine)
    database = Database(engine)
    database.set_state("feed", "cursor", 7)

    _migrate(engine, "upgrade", "0002")
    assert {"state", "user_links", "ticket_threads"} <= _tables(engine)
    assert current_revision(database) == "0002"
    assert database.get_state("feed", "cursor") == 7
    links.set_link(database, USER, "alice", ADMIN)
    threads.record_thread(database, 42, THREAD, GUILD, CHANNEL, USER)

    _migrate(engine, "downgrade", "0001")
    assert current_revision(database) == "0001"
    tables = _tables(engine)
    assert "state" in tables
    assert not {"user_links", "ticket_threads"} & tables
    assert database.get_state("feed", "cursor") == 7

    # And back up again on the downgraded database, as after a rolled-back deploy.
    _migrate(engine, "upgrade", "head")
    assert links.get_link(database, USER) is None
    assert threads.all_threads(database) == {}
    indexes = {index["name"] for index in inspect(engine).get_indexes("user_links")}
    assert "ix_user_links_redmine_login" in indexes
