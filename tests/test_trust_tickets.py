"""Issue 7 ("Trust"), tickets: link approvals bound to the request shown, no credentials in
links, honest answers when a write's outcome is unknown, retries that never duplicate, and
inputs that are refused rather than misread. Against the real Redmine (through the
fault-injecting proxy where a failure is needed) and the real database.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from redminelib import Redmine

from fakes.redmine_proxy import RedmineProxy
from netbot import identity as links
from netbot.capabilities import parse_config
from netbot.core.config import ConfigError
from netbot.core.db import Database
from netbot.core.errors import BackendUnavailable, NotFound, Refused, UserError
from netbot.redmine import RedmineGateway
from netbot.tickets.catalog import Catalog
from netbot.tickets.service import TicketService, parse_ticket_id
from tests.plugins.redmine_server import RedmineServer
from tests.test_tickets_service import issue_count, new_ticket, snapshot
from tests.test_tickets_service import proxied as proxied  # the fault proxy in front of Redmine

PROJECT = "ops"
USER = 1180000000000000001
ADMIN = 1180000000000000099
PUT_ISSUE = r"^/issues/\d+\.json"


@pytest.fixture(scope="module")
def catalog(redmine: RedmineServer) -> Catalog:
    catalog = Catalog(RedmineGateway(redmine.url, redmine.admin_key, timeout=2.0), PROJECT)
    catalog.refresh()
    return catalog


@pytest.fixture(scope="module")
def service(redmine: RedmineServer, catalog: Catalog) -> TicketService:
    return TicketService(catalog.gateway, catalog, PROJECT)


@pytest.fixture(scope="module")
def admin(redmine: RedmineServer) -> Redmine:
    return Redmine(redmine.url, key=redmine.admin_key)


# ------------------------------------------------------------------ 1. link approval binding
def test_approval_is_bound_to_the_request_shown(db: Database) -> None:
    shown = links.request_link(db, USER, "carol")
    switched = links.request_link(db, USER, "bob")
    assert shown.request_id != switched.request_id

    with pytest.raises(Refused, match="changed"):
        links.approve_link(db, USER, ADMIN, shown.request_id)
    with pytest.raises(Refused, match="changed"):
        links.deny_link(db, USER, ADMIN, shown.request_id)
    assert links.approved_login(db, USER) is None
    assert links.get_link(db, USER) == switched  # still pending, untouched

    # Asking again for the same login is a new request too: the older button is stale.
    again = links.request_link(db, USER, "bob")
    assert again.request_id != switched.request_id
    with pytest.raises(Refused, match="changed"):
        links.approve_link(db, USER, ADMIN, switched.request_id)
    assert links.approve_link(db, USER, ADMIN, again.request_id).redmine_login == "bob"


def test_administrators_and_the_key_owner_are_never_approvable_by_button(
    service: TicketService,
) -> None:
    with pytest.raises(Refused, match="administrator") as refused:
        service.button_linkable("admin")  # a Redmine admin, and the key's owner
    assert "admin links it directly" in refused.value.message
    assert service.button_linkable("alice").login == "alice"
    with pytest.raises(UserError, match="team"):
        service.button_linkable("ops-team")


# ------------------------------------------------------------------ 3. no credentials in links
def test_public_links_never_carry_credentials(redmine: RedmineServer, catalog: Catalog) -> None:
    parts = urlsplit(redmine.url)
    with_userinfo = f"{parts.scheme}://netbot:s3cret-pass@{parts.netloc}{parts.path}"
    gateway = RedmineGateway(with_userinfo, redmine.admin_key)
    assert gateway.link_url == redmine.url
    assert "s3cret" not in repr(gateway)
    shown = TicketService(gateway, catalog, PROJECT).show("alice", 1)
    assert shown.url == f"{redmine.url}/issues/1"

    public = RedmineGateway(with_userinfo, redmine.admin_key, public_url="https://rm.example/")
    assert TicketService(public, catalog, PROJECT).show("alice", 1).url == (
        "https://rm.example/issues/1"
    )


def test_public_url_setting_is_checked() -> None:
    config = parse_config({"guilds": [1], "tickets": {"public_url": "https://rm.example/x/"}})
    assert config.tickets.public_url == "https://rm.example/x"
    for bad in ("ftp://rm.example", "https://user:pw@rm.example", "rm.example"):
        with pytest.raises(ConfigError, match=r"tickets\.public_url"):
            parse_config({"guilds": [1], "tickets": {"public_url": bad}})


# ------------------------------------------------------------------ 8. unknown outcomes, safe retries
def test_lost_answer_to_a_note_is_unknown_and_the_retry_does_not_duplicate(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine, redmine: RedmineServer
) -> None:
    proxy, service = proxied
    ticket = new_ticket(admin)
    proxy.delay(2, method="PUT", path=PUT_ISSUE, times=1, after=True)  # written, answer late
    with pytest.raises(BackendUnavailable) as lost:
        service.note("alice", ticket, "Rebooted the switch.")
    assert "nothing was changed" not in lost.value.message
    assert f"may or may not have been saved; check #{ticket} before retrying" in lost.value.message
    assert len(proxy.forwarded_writes()) == 1

    retry = service.note("alice", ticket, "Rebooted the switch.")
    assert retry.changes == ["this note was already added a moment ago; not added twice"]
    assert snapshot(admin, ticket)["journals"] == [
        (redmine.user_id("alice"), "Rebooted the switch.")
    ]
    assert len(proxy.forwarded_writes()) == 1  # the retry sent nothing

    # A different note, or the same words later by someone else, is a new note.
    service.note("bob", ticket, "Rebooted the switch.")
    assert len(snapshot(admin, ticket)["journals"]) == 2


def test_failed_read_back_after_a_write_is_not_reported_as_nothing_changed(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine, redmine: RedmineServer
) -> None:
    proxy, service = proxied
    ticket = new_ticket(admin)
    # The pre-check reads with allowed_statuses; the read-back after the write does not.
    proxy.fail(500, method="GET", path=rf"^/issues/{ticket}\.json\?include=journals", times=1)
    with pytest.raises(BackendUnavailable) as unconfirmed:
        service.set_field("alice", ticket, "priority", "High")
    assert "nothing was changed" not in unconfirmed.value.message
    assert f"check #{ticket}" in unconfirmed.value.message
    assert snapshot(admin, ticket)["priority"] == redmine.info["priorities"]["High"]


def test_timed_out_create_is_unknown_and_the_retry_returns_the_same_ticket(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine
) -> None:
    proxy, service = proxied
    subject = f"Fan failure {uuid.uuid4().hex[:8]}"
    before = issue_count(admin)
    proxy.delay(2, method="POST", path=r"issues\.json$", times=1, after=True)
    with pytest.raises(BackendUnavailable) as lost:
        service.create_once("alice", subject, "loud")
    assert "nothing was changed" not in lost.value.message
    assert "may or may not have been saved" in lost.value.message
    assert issue_count(admin) == before + 1

    retried = service.create_once("alice", subject, "loud")
    assert not retried.new
    assert retried.ticket.subject == subject
    assert issue_count(admin) == before + 1
    # The same subject by someone else, or another description, is another ticket.
    other = service.create_once("bob", subject, "loud")
    assert other.new and other.ticket.id != retried.ticket.id
    assert issue_count(admin) == before + 2


def test_unsent_write_still_says_nothing_was_changed(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine
) -> None:
    proxy, service = proxied
    ticket = new_ticket(admin)
    proxy.fail(503, method="PUT", path=PUT_ISSUE, times=1)
    with pytest.raises(BackendUnavailable, match="nothing was changed"):
        service.note("alice", ticket, "never sent")
    assert snapshot(admin, ticket)["journals"] == []


# ------------------------------------------------------------------ 15. unreadable and odd input
def test_empty_200_answer_is_an_unreadable_answer(
    proxied: tuple[RedmineProxy, TicketService],
) -> None:
    proxy, service = proxied
    proxy.fail(200, b"", method="GET", times=1)
    with pytest.raises(BackendUnavailable, match="unreadable answer for ticket 1"):
        service.show("alice", 1)


@pytest.mark.parametrize("typed", ["12 34", "12,13", "#12, #13", "12;13"])
def test_several_ticket_numbers_are_refused(typed: str) -> None:
    with pytest.raises(UserError, match="one ticket number"):
        parse_ticket_id(typed)


def test_single_ticket_numbers_and_choice_names_still_parse() -> None:
    assert [parse_ticket_id(t) for t in ("12", " #12 ", "#12 Disk full on db-1")] == [12, 12, 12]
    with pytest.raises(UserError, match="not a ticket number"):
        parse_ticket_id("12 Disk full")


def test_invisible_subjects_are_refused(service: TicketService, admin: Redmine) -> None:
    before = issue_count(admin)
    invisible = "\u200b \u200c\u200d\u200e\u200f\u2060\ufeff\t\x07\n"
    with pytest.raises(UserError, match="visible"):
        service.create_once("alice", invisible)
    ticket = new_ticket(admin)
    was = snapshot(admin, ticket)
    with pytest.raises(UserError, match="visible"):
        service.set_field("alice", ticket, "subject", invisible)
    assert issue_count(admin) == before + 1
    assert snapshot(admin, ticket) == was


# ------------------------------------------------------------------ 13. echoed input is clipped
def test_error_messages_clip_what_they_echo(service: TicketService, admin: Redmine) -> None:
    long = "y" * 3000
    ticket = new_ticket(admin)
    failures = []
    for attempt in (
        lambda: parse_ticket_id(long),
        lambda: service.set_field("alice", ticket, "due_date", long),
        lambda: service.set_field("alice", ticket, "status", long),
        lambda: service.set_field("alice", ticket, long, "x"),
        lambda: service.assign("alice", ticket, long),
        lambda: service.list_tickets("alice", team=long),
        lambda: service.note(long, ticket, "hi"),
    ):
        with pytest.raises(UserError) as caught:
            attempt()
        failures.append(caught.value.message)
    assert all(len(m) < 600 and "y" * 99 + "…" in m for m in failures), failures
    with pytest.raises(NotFound):
        service.show("alice", 999999)
