"""TicketService against the real, seeded Redmine (and the fault-injecting proxy in front of it).

Every write test works on a ticket of its own (the `ticket` fixture) and reads Redmine's state
back with python-redmine and the admin key; every refusal asserts that nothing changed:
status, assignee, journals, watchers, updated_on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redminelib import Redmine

from fakes.redmine_proxy import RedmineProxy
from netbot.core.errors import BackendUnavailable, NotFound, Refused, UserError
from netbot.redmine import RedmineGateway
from netbot.tickets.catalog import Catalog
from netbot.tickets.records import TicketDetail
from netbot.tickets.service import TicketService
from tests.plugins.redmine_server import RedmineServer

pytestmark = pytest.mark.redmine

PROJECT = "ops"
TIMEOUT = 2.0


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def gateway(redmine: RedmineServer) -> RedmineGateway:
    return RedmineGateway(redmine.url, redmine.admin_key, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def catalog(gateway: RedmineGateway) -> Catalog:
    catalog = Catalog(gateway, PROJECT)
    catalog.refresh()
    return catalog


@pytest.fixture(scope="module")
def service(gateway: RedmineGateway, catalog: Catalog) -> TicketService:
    return TicketService(gateway, catalog, PROJECT)


@pytest.fixture(scope="module")
def admin(redmine: RedmineServer) -> Redmine:
    return Redmine(redmine.url, key=redmine.admin_key)


@pytest.fixture
def ids(redmine: RedmineServer) -> dict[str, int]:
    info = redmine.info
    return {
        **{login: user["id"] for login, user in info["users"].items()},
        "ops-team": info["group"]["id"],
        **{f"status:{name}": sid for name, sid in info["statuses"].items()},
        **{f"priority:{name}": pid for name, pid in info["priorities"].items()},
        **{f"tracker:{name}": tid for name, tid in info["trackers"].items()},
        "cf:discord-thread": info["custom_fields"]["discord-thread"],
    }


def new_ticket(admin: Redmine, subject: str | None = None, **fields: Any) -> int:
    subject = subject or f"service test {uuid.uuid4().hex[:8]}"
    return admin.issue.create(project_id=PROJECT, subject=subject, **fields).id


@pytest.fixture
def ticket(admin: Redmine) -> int:
    """A fresh New, unassigned Bug in `ops`, created by the admin."""
    return new_ticket(admin)


def snapshot(admin: Redmine, issue_id: int) -> dict[str, Any]:
    """What Redmine has for a ticket, as plain values (compare before/after)."""
    issue = admin.issue.get(issue_id, include=["journals", "watchers"])
    assignee = getattr(issue, "assigned_to", None)
    thread = next((cf.value for cf in issue.custom_fields if cf.name == "discord-thread"), None)
    return {
        "status": issue.status.id,
        "assignee": assignee.id if assignee else None,
        "priority": issue.priority.id,
        "tracker": issue.tracker.id,
        "subject": issue.subject,
        "due_date": str(getattr(issue, "due_date", None)),
        "thread": thread or None,
        "journals": [(j.user.id, getattr(j, "notes", "")) for j in issue.journals],
        "watchers": sorted(w.id for w in issue.watchers),
        "updated_on": str(issue.updated_on),
    }


def issue_count(admin: Redmine) -> int:
    found = admin.issue.filter(project_id=PROJECT, status_id="*", limit=1)
    list(found)
    return found.total_count


def set_status(admin: Redmine, issue_id: int, status_id: int) -> None:
    admin.issue.update(issue_id, status_id=status_id)


# ---------------------------------------------------------------------------------- list
def test_list_default_is_my_and_my_teams_open_tickets(
    service: TicketService, admin: Redmine, ids: dict[str, int]
) -> None:
    mine = new_ticket(admin, assigned_to_id=ids["alice"])
    teams = new_ticket(admin, assigned_to_id=ids["ops-team"])
    bobs = new_ticket(admin, assigned_to_id=ids["bob"])
    mine_closed = new_ticket(admin, assigned_to_id=ids["alice"])
    set_status(admin, mine_closed, ids["status:Closed"])

    page = service.list_tickets("alice", page_size=100)

    listed = {t.id for t in page.tickets}
    assert {mine, teams} <= listed
    assert bobs not in listed and mine_closed not in listed
    expected = {
        i.id
        for who in ("alice", "ops-team")
        for i in admin.issue.filter(project_id=PROJECT, assigned_to_id=ids[who], status_id="open")
    }
    assert listed == expected
    assert page.total == len(expected)
    assert all(not t.is_closed for t in page.tickets)
    assert page.title == "My and my teams' tickets (open)"


def test_list_a_users_and_a_teams_tickets(
    service: TicketService, admin: Redmine, ids: dict[str, int]
) -> None:
    bobs = new_ticket(admin, assigned_to_id=ids["bob"])
    teams = new_ticket(admin, assigned_to_id=ids["ops-team"])

    by_user = service.list_tickets("alice", user="@Bob", page_size=100)
    by_team = service.list_tickets("alice", team="ops-team", page_size=100)

    assert bobs in {t.id for t in by_user.tickets}
    assert {t.assignee for t in by_user.tickets} == {"Bob Berg"}
    assert by_user.title == "bob's tickets (open)"
    assert teams in {t.id for t in by_team.tickets}
    assert {t.assignee for t in by_team.tickets} == {"ops-team"}
    assert by_team.title == "ops-team's tickets (open)"


def test_list_status_filters(service: TicketService, admin: Redmine, ids: dict[str, int]) -> None:
    open_one = new_ticket(admin, assigned_to_id=ids["bob"])
    closed_one = new_ticket(admin, assigned_to_id=ids["bob"])
    set_status(admin, closed_one, ids["status:Closed"])
    feedback = new_ticket(admin, assigned_to_id=ids["bob"])
    set_status(admin, feedback, ids["status:Feedback"])

    def listed(status: str) -> set[int]:
        return {
            t.id
            for t in service.list_tickets("alice", user="bob", status=status, page_size=100).tickets
        }

    assert {open_one, feedback} <= listed("open") and closed_one not in listed("open")
    assert closed_one in listed("closed") and open_one not in listed("closed")
    assert {open_one, closed_one, feedback} <= listed("all")
    assert listed("feedback") >= {feedback} and not listed("Feedback") & {open_one, closed_one}
    closed = service.list_tickets("alice", user="bob", status="closed", page_size=100).tickets
    assert all(t.is_closed for t in closed)


def test_list_paging(service: TicketService, admin: Redmine, ids: dict[str, int]) -> None:
    new_ticket(admin, assigned_to_id=ids["bob"])
    new_ticket(admin, assigned_to_id=ids["bob"])
    expected = admin.issue.filter(
        project_id=PROJECT, assigned_to_id=ids["bob"], status_id="open",
        sort="updated_on:desc", limit=1, offset=1,
    )  # fmt: skip
    expected_ids = [i.id for i in expected]  # evaluates it, so total_count is known

    page = service.list_tickets("alice", user="bob", page=2, page_size=1)

    assert [t.id for t in page.tickets] == expected_ids
    assert page.total == expected.total_count >= 2
    assert (page.page, page.page_size, page.pages) == (2, 1, expected.total_count)
    with pytest.raises(UserError):
        service.list_tickets("alice", page=0)


def test_list_unknown_user_or_team(service: TicketService) -> None:
    with pytest.raises(NotFound, match="nobody-here"):
        service.list_tickets("alice", user="nobody-here")
    with pytest.raises(NotFound, match="no-such-team"):
        service.list_tickets("alice", team="no-such-team")
    with pytest.raises(NotFound, match="Known: New, In Progress"):
        service.list_tickets("alice", status="sleeping")


# ---------------------------------------------------------------------------------- search
def test_search_finds_by_subject_word_with_paging(service: TicketService, admin: Redmine) -> None:
    word = f"zq{uuid.uuid4().hex[:10]}"
    made = [new_ticket(admin, f"Printer {word} jammed {n}") for n in range(3)]
    set_status(admin, made[0], 5)  # closed tickets are found too

    everything = service.search("alice", word.upper(), page_size=10)
    second = service.search("alice", f"  {word} ", page=2, page_size=2)

    assert {t.id for t in everything.tickets} == set(made)
    assert everything.total == 3
    assert (second.total, second.pages, len(second.tickets)) == (3, 2, 1)
    assert second.tickets[0].id in made
    assert second.title == f"Search: {word}"
    assert service.search("alice", f"nomatch{word}").tickets == []


def test_search_needs_a_term(service: TicketService) -> None:
    with pytest.raises(UserError, match="words"):
        service.search("alice", "   ")


# ---------------------------------------------------------------------------------- show
def test_show_notes_watchers_age_url_thread(
    redmine: RedmineServer, service: TicketService, admin: Redmine, ids: dict[str, int]
) -> None:
    started = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    issue_id = new_ticket(
        admin,
        description="the body",
        custom_fields=[{"id": ids["cf:discord-thread"], "value": "1234567890123"}],
        watcher_user_ids=[ids["bob"]],
    )
    Redmine(redmine.url, key=redmine.admin_key, impersonate="alice").issue.update(
        issue_id, notes="first from alice"
    )
    Redmine(redmine.url, key=redmine.admin_key, impersonate="bob").issue.update(
        issue_id, notes="then bob", priority_id=ids["priority:High"]
    )
    admin.issue.update(issue_id, priority_id=ids["priority:Low"])  # a journal without a note

    shown = service.show("alice", issue_id)

    assert [(n.author, n.text) for n in shown.notes] == [
        ("Alice Anders", "first from alice"),
        ("Bob Berg", "then bob"),
    ]
    # Watchers are only listed to roles with view_issue_watchers (not Developer): Alice sees
    # none, the bot's own account sees Bob.
    assert shown.watchers == []
    assert "Bob Berg" in service.show(None, issue_id).watchers
    assert shown.description == "the body"
    assert (shown.status, shown.priority, shown.tracker, shown.project) == (
        "New", "Low", "Bug", "Ops"
    )  # fmt: skip
    assert shown.author == "Redmine Admin"
    assert started <= shown.created_on <= shown.updated_on <= dt.datetime.now(dt.UTC)
    assert shown.created_on.tzinfo is not None
    assert shown.url == f"{redmine.url}/issues/{issue_id}"
    assert shown.thread_id == "1234567890123"
    assert (shown.assignee, shown.assignee_id, shown.due_date, shown.is_closed) == (
        None, None, None, False
    )  # fmt: skip


def test_show_unknown_ticket(service: TicketService) -> None:
    with pytest.raises(NotFound, match="ticket 999999"):
        service.show("alice", 999999)


# ---------------------------------------------------------------------------------- create
def test_create_as_the_actor_with_tracker_priority_team(
    service: TicketService, catalog: Catalog, admin: Redmine, ids: dict[str, int]
) -> None:
    subject = f"Router {uuid.uuid4().hex[:6]} reboots"
    created = service.create_once(
        "alice", f"  {subject} ", "it reboots", tracker="feature", priority="HIGH", team="ops-team"
    ).ticket

    issue = admin.issue.get(created.id)
    assert issue.subject == subject
    assert issue.description == "it reboots"
    assert issue.author.id == ids["alice"]  # impersonation: Alice is the author
    assert (issue.tracker.id, issue.priority.id, issue.assigned_to.id) == (
        ids["tracker:Feature"], ids["priority:High"], ids["ops-team"]
    )  # fmt: skip
    assert (created.author, created.assignee, created.status) == ("Alice Anders", "ops-team", "New")
    assert catalog.match_tickets(subject.split()[1])[0] == (f"#{created.id} {subject}", created.id)


def test_create_refusals_create_nothing(service: TicketService, admin: Redmine) -> None:
    before = issue_count(admin)
    with pytest.raises(UserError, match="subject"):
        service.create_once("alice", "   ")
    with pytest.raises(NotFound, match="Known: Bug, Feature, Support"):
        service.create_once("alice", "x", tracker="Epic")
    with pytest.raises(NotFound, match="Known: Low, Normal"):
        service.create_once("alice", "x", priority="Whenever")
    with pytest.raises(NotFound, match="no team 'night-shift'"):
        service.create_once("alice", "x", team="night-shift")
    with pytest.raises(Refused, match="carol"):  # not a member of the private project
        service.create_once("carol", "from outside")
    with pytest.raises(Refused, match="'dave'"):  # locked
        service.create_once("dave", "from a locked account")
    assert issue_count(admin) == before


# ---------------------------------------------------------------------------------- writes
def test_assign_to_user_and_to_team(
    service: TicketService, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    change = service.assign("alice", ticket, "bob")
    assert snapshot(admin, ticket)["assignee"] == ids["bob"]
    assert change.changes == ["assignee: nobody -> Bob Berg"]
    assert change.ticket.assignee_id == ids["bob"]

    change = service.assign("alice", ticket, "ops-team")
    state = snapshot(admin, ticket)
    assert state["assignee"] == ids["ops-team"]
    assert state["journals"][-1][0] == ids["alice"]  # the change is Alice's
    assert change.changes == ["assignee: Bob Berg -> ops-team"]


def test_unassign_back_to_the_pool(
    service: TicketService, admin: Redmine, ids: dict[str, int]
) -> None:
    # Alice (Developer) may unassign a New ticket: the status does not move.
    new_one = new_ticket(admin, assigned_to_id=ids["bob"])
    change = service.unassign("alice", new_one)
    assert (snapshot(admin, new_one)["assignee"], snapshot(admin, new_one)["status"]) == (
        None, ids["status:New"]
    )  # fmt: skip
    assert change.changes == ["assignee: Bob Berg -> nobody"]

    # The admin may move an In Progress ticket back to New.
    busy = new_ticket(admin, assigned_to_id=ids["bob"])
    set_status(admin, busy, ids["status:In Progress"])
    change = service.unassign(None, busy)
    state = snapshot(admin, busy)
    assert (state["assignee"], state["status"]) == (None, ids["status:New"])
    assert sorted(change.changes) == ["assignee: Bob Berg -> nobody", "status: In Progress -> New"]


def test_progress_assigns_the_actor_in_progress(
    service: TicketService, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    change = service.progress("alice", ticket)
    state = snapshot(admin, ticket)
    assert (state["assignee"], state["status"]) == (ids["alice"], ids["status:In Progress"])
    assert state["journals"][-1][0] == ids["alice"]
    assert sorted(change.changes) == [
        "assignee: nobody -> Alice Anders",
        "status: New -> In Progress",
    ]


def test_resolve(service: TicketService, admin: Redmine, ticket: int, ids: dict[str, int]) -> None:
    change = service.resolve("alice", ticket)
    assert snapshot(admin, ticket)["status"] == ids["status:Resolved"]
    assert change.changes == ["status: New -> Resolved"]
    assert not change.ticket.is_closed


def test_collaborate_adds_a_watcher_once(
    service: TicketService, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    first = service.collaborate("alice", ticket)
    again = service.collaborate("alice", ticket)
    state = snapshot(admin, ticket)
    assert state["watchers"] == [ids["alice"]]
    assert first.changes == ["you now watch it"]
    assert again.changes == ["you already watch it"]
    assert state["journals"] == []  # watching is not a ticket change


def test_collaborate_returns_the_ticket_with_the_new_watcher(
    redmine: RedmineServer, service: TicketService, admin: Redmine, ids: dict[str, int]
) -> None:
    """Change.ticket is "the ticket as Redmine now has it": after watching, the watcher list
    it carries must include the new watcher (seen by an account allowed to list watchers)."""
    as_alice = Redmine(redmine.url, key=redmine.admin_key, impersonate="alice")
    issue_id = new_ticket(as_alice)  # author alice: the admin does not watch it yet
    assert ids["admin"] not in snapshot(admin, issue_id)["watchers"]

    change = service.collaborate(None, issue_id)

    assert ids["admin"] in snapshot(admin, issue_id)["watchers"]
    assert change.changes == ["you now watch it"]
    assert "Redmine Admin" in change.ticket.watchers


def test_collaborate_refused_for_an_outsider(
    service: TicketService, admin: Redmine, ticket: int
) -> None:
    before = snapshot(admin, ticket)
    with pytest.raises((Refused, NotFound)):
        service.collaborate("carol", ticket)
    assert snapshot(admin, ticket) == before


def test_note_is_authored_by_the_actor(
    service: TicketService, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    change = service.note("alice", ticket, "Rebooted the switch.")
    assert snapshot(admin, ticket)["journals"] == [(ids["alice"], "Rebooted the switch.")]
    assert change.changes == ["note added"]
    assert change.ticket.notes[-1].author == "Alice Anders"
    with pytest.raises(UserError, match="empty"):
        service.note("alice", ticket, "  \n ")
    assert len(snapshot(admin, ticket)["journals"]) == 1


def test_set_field_each_editable_field(
    service: TicketService, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    assert service.set_field("alice", ticket, "status", "feedback").changes == [
        "status: New -> Feedback"
    ]
    assert service.set_field("alice", ticket, "priority", "Urgent").changes == [
        "priority: Normal -> Urgent"
    ]
    assert service.set_field("alice", ticket, "tracker", "Support").changes == [
        "tracker: Bug -> Support"
    ]
    service.set_field("alice", ticket, "subject", "  A better subject  ")
    change = service.set_field("alice", ticket, "due_date", " 2031-01-31 ")
    assert change.changes == ["due date: none -> 2031-01-31"]
    state = snapshot(admin, ticket)
    assert (state["status"], state["priority"], state["tracker"]) == (
        ids["status:Feedback"], ids["priority:Urgent"], ids["tracker:Support"]
    )  # fmt: skip
    assert (state["subject"], state["due_date"]) == ("A better subject", "2031-01-31")
    assert {user for user, _ in state["journals"]} == {ids["alice"]}

    service.set_field("alice", ticket, "due_date", "none")
    assert snapshot(admin, ticket)["due_date"] == "None"


def test_link_thread_sets_the_custom_field(
    service: TicketService, admin: Redmine, ticket: int
) -> None:
    change = service.link_thread("alice", ticket, 1190000000000000042)
    assert snapshot(admin, ticket)["thread"] == "1190000000000000042"
    assert change.ticket.thread_id == "1190000000000000042"
    assert change.changes == ["Discord thread: none -> 1190000000000000042"]


# ---------------------------------------------------------------------------------- refusals
def test_workflow_refusal_happens_before_any_write(
    redmine: RedmineServer, catalog: Catalog, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    """Alice (Developer) may not move Resolved -> New: unassign is refused, nothing is sent."""
    admin.issue.update(ticket, status_id=ids["status:Resolved"], assigned_to_id=ids["alice"])
    before = snapshot(admin, ticket)
    with RedmineProxy.in_thread(redmine.url) as proxy:
        service = TicketService(
            RedmineGateway(proxy.url, redmine.admin_key, timeout=TIMEOUT), catalog, PROJECT
        )
        with pytest.raises(Refused, match="from Resolved to New"):
            service.unassign("alice", ticket)
        with pytest.raises(Refused, match="to Rejected"):
            service.set_field("alice", ticket, "status", "Rejected")
        assert proxy.forwarded_writes() == []
        assert proxy.requests  # the pre-check did read the ticket through the proxy
    assert snapshot(admin, ticket) == before


@pytest.mark.parametrize("login", ["dave", "zed-unknown"])
def test_locked_or_unknown_actor_is_refused_by_login(
    service: TicketService, admin: Redmine, ticket: int, login: str
) -> None:
    before = snapshot(admin, ticket)
    for write in (
        lambda: service.note(login, ticket, "hello"),
        lambda: service.progress(login, ticket),
        lambda: service.assign(login, ticket, "bob"),
    ):
        with pytest.raises(Refused, match=repr(login)):
            write()
    with pytest.raises(Refused, match=repr(login)):
        service.list_tickets(login)
    assert snapshot(admin, ticket) == before


@pytest.mark.parametrize("login", ["dave", "zed-unknown"])
def test_locked_or_unknown_assignee_is_not_found_by_login(
    service: TicketService, admin: Redmine, ticket: int, login: str
) -> None:
    before = snapshot(admin, ticket)
    with pytest.raises(NotFound, match=repr(login)):
        service.assign("alice", ticket, login)
    assert snapshot(admin, ticket) == before


def test_non_member_is_refused(service: TicketService, admin: Redmine, ticket: int) -> None:
    before = snapshot(admin, ticket)
    with pytest.raises((Refused, NotFound), match=r"carol|ticket"):
        service.note("carol", ticket, "let me in")
    with pytest.raises((Refused, NotFound)):
        service.show("carol", ticket)
    with pytest.raises(Refused, match="Assignee is invalid"):  # carol cannot be assigned
        service.assign("alice", ticket, "carol")
    assert snapshot(admin, ticket) == before


def test_unknown_ticket_is_not_found(service: TicketService) -> None:
    for write in (
        lambda: service.note("alice", 999999, "x"),
        lambda: service.resolve("alice", 999999),
        lambda: service.collaborate("alice", 999999),
        lambda: service.set_field("alice", 999999, "priority", "High"),
    ):
        with pytest.raises(NotFound, match="ticket 999999"):
            write()


def test_closed_ticket_refuses_assign_progress_resolve_unassign(
    service: TicketService, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    set_status(admin, ticket, ids["status:Closed"])
    before = snapshot(admin, ticket)
    for actor in ("alice", None):  # even the admin must reopen first
        for write in (
            lambda actor=actor: service.assign(actor, ticket, "bob"),
            lambda actor=actor: service.progress(actor, ticket),
            lambda actor=actor: service.resolve(actor, ticket),
            lambda actor=actor: service.unassign(actor, ticket),
        ):
            with pytest.raises(Refused, match="closed"):
                write()
    assert snapshot(admin, ticket) == before
    # A note on a closed ticket is fine.
    service.note("alice", ticket, "post mortem")
    assert snapshot(admin, ticket)["status"] == ids["status:Closed"]


def test_bad_values_are_refused_and_change_nothing(
    service: TicketService, admin: Redmine, ticket: int
) -> None:
    before = snapshot(admin, ticket)
    with pytest.raises(UserError, match="not a date"):
        service.set_field("alice", ticket, "due_date", "31/01/2031")
    with pytest.raises(Refused, match="Due date"):  # real 422: before the start date
        service.set_field("alice", ticket, "due_date", "2000-01-01")
    with pytest.raises(
        NotFound, match="Known: New, In Progress, Resolved, Feedback, Closed, Rejected"
    ):
        service.set_field("alice", ticket, "status", "Done")
    with pytest.raises(NotFound, match="Known: Low, Normal, High, Urgent, Immediate"):
        service.set_field("alice", ticket, "priority", "Meh")
    with pytest.raises(NotFound, match="Known: Bug, Feature, Support"):
        service.set_field("alice", ticket, "tracker", "Epic")
    with pytest.raises(UserError, match="subject"):
        service.set_field("alice", ticket, "subject", "   ")
    with pytest.raises(UserError, match="cannot be changed"):
        service.set_field("alice", ticket, "author", "bob")
    assert snapshot(admin, ticket) == before


# ---------------------------------------------------------------------------------- silent refusal
@dataclasses.dataclass(frozen=True)
class RaceGateway(RedmineGateway):
    """The real gateway, plus a hook run just before the next PUT leaves for Redmine.

    Lets a test change the ticket between TicketService's pre-check and its write: a real
    race, answered by the real Redmine."""

    before_put: list[Callable[[], None]] = dataclasses.field(default_factory=list)

    def api(self, as_login: str | None = None) -> Redmine:
        client = super().api(as_login)
        send = client.engine.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method == "put" and self.before_put:
                self.before_put.pop(0)()
            return send(method, url, *args, **kwargs)

        client.engine.request = request
        return client


def test_silent_refusal_from_the_real_workflow_is_reported(
    redmine: RedmineServer, catalog: Catalog, admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    """The pre-check sees New -> In Progress allowed for Alice; before her PUT arrives someone
    rejects the ticket. Redmine answers Alice's PUT with 204 and keeps Rejected (a Developer
    has no transition out of Rejected); the service must say so, not report success."""
    race = RaceGateway(redmine.url, redmine.admin_key, timeout=TIMEOUT)
    race.before_put.append(lambda: set_status(admin, ticket, ids["status:Rejected"]))
    service = TicketService(race, catalog, PROJECT)

    with pytest.raises(Refused, match=r"kept ticket .* at Rejected.*In Progress"):
        service.set_field("alice", ticket, "status", "In Progress")

    assert race.before_put == []  # the race really happened
    assert snapshot(admin, ticket)["status"] == ids["status:Rejected"]


def _detail(**overrides: Any) -> TicketDetail:
    now = dt.datetime.now(dt.UTC)
    base: dict[str, Any] = dict(
        id=7, subject="s", description="", status="New", status_id=1, is_closed=False,
        priority="Normal", tracker="Bug", project="Ops", author="A", assignee=None,
        assignee_id=None, watchers=[], created_on=now, updated_on=now, due_date=None,
        notes=[], url="u",
    )  # fmt: skip
    return TicketDetail(**{**base, **overrides})


def test_verify_unit_level(service: TicketService) -> None:
    """_verify on hand-built records: kept status or kept assignee -> Refused; else quiet."""
    before = _detail()
    with pytest.raises(Refused, match=r"kept ticket 7 at New.*Resolved"):
        service._verify(before, before, {"status_id": 3})
    with pytest.raises(Refused, match="assignee"):
        service._verify(before, before, {"assigned_to_id": 6})
    service._verify(before, _detail(status="Resolved", status_id=3), {"status_id": 3})
    service._verify(before, _detail(assignee="B", assignee_id=6), {"assigned_to_id": 6})
    service._verify(_detail(assignee="B", assignee_id=6), before, {"assigned_to_id": ""})


# ---------------------------------------------------------------------------------- failures
@pytest.fixture
def proxied(
    redmine: RedmineServer, catalog: Catalog
) -> Iterator[tuple[RedmineProxy, TicketService]]:
    with RedmineProxy.in_thread(redmine.url) as proxy:
        gateway = RedmineGateway(proxy.url, redmine.admin_key, timeout=1.0)
        yield proxy, TicketService(gateway, catalog, PROJECT)


PUT_ISSUE = r"^/issues/\d+\.json"


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (403, b"", Refused, "does not allow 'alice'|does not allow alice"),
        (412, b"", Refused, "act as 'alice'"),
        (422, b'{"errors":["Subject cannot be blank"]}', Refused, "Subject cannot be blank"),
        (500, b"", BackendUnavailable, "nothing was changed"),
        (503, b"", BackendUnavailable, "nothing was changed"),
    ],
)
def test_write_failures_map_and_nothing_is_written(
    proxied: tuple[RedmineProxy, TicketService],
    admin: Redmine,
    ticket: int,
    status: int,
    body: bytes,
    error: type[Exception],
    message: str,
) -> None:
    proxy, service = proxied
    before = snapshot(admin, ticket)
    proxy.fail(status, body, method="PUT", path=PUT_ISSUE)
    with pytest.raises(error, match=message):
        service.note("alice", ticket, "should not land")
    assert proxy.forwarded_writes() == []
    assert [r.status for r in proxy.requests if r.method == "PUT"] == [status]  # no retry
    assert snapshot(admin, ticket) == before


def test_impersonation_412_on_read_is_refused(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine, ticket: int
) -> None:
    proxy, service = proxied
    before = snapshot(admin, ticket)
    proxy.fail(412, method="GET", times=1)
    with pytest.raises(Refused, match="act as 'alice'"):
        service.resolve("alice", ticket)
    assert proxy.forwarded_writes() == []
    assert snapshot(admin, ticket) == before


def test_create_failure_creates_nothing(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine
) -> None:
    proxy, service = proxied
    before = issue_count(admin)
    proxy.fail(500, method="POST", path=r"issues\.json", times=1)
    with pytest.raises(BackendUnavailable):
        service.create_once("alice", "never created")
    proxy.fail(422, b'{"errors":["Subject cannot be blank"]}', method="POST")
    with pytest.raises(Refused, match="Subject cannot be blank"):
        service.create_once("alice", "also never created")
    assert proxy.forwarded_writes() == []
    assert issue_count(admin) == before


def test_empty_422_is_retried_once_and_the_write_lands_once(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine, ticket: int, ids: dict[str, int]
) -> None:
    proxy, service = proxied
    proxy.fail(422, b'{"errors":[]}', method="PUT", path=PUT_ISSUE, times=1)
    change = service.note("alice", ticket, "after a conflict")
    assert change.changes == ["note added"]
    assert [(r.status, r.outcome) for r in proxy.requests if r.method == "PUT"] == [
        (422, "failed"),
        (204, "forwarded"),
    ]
    assert snapshot(admin, ticket)["journals"] == [(ids["alice"], "after a conflict")]


def test_empty_422_every_time_gives_up_as_refused(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine, ticket: int
) -> None:
    proxy, service = proxied
    before = snapshot(admin, ticket)
    proxy.fail(422, b'{"errors":[]}', method="PUT", path=PUT_ISSUE)
    with pytest.raises(Refused, match="conflicting edit"):
        service.note("alice", ticket, "never")
    assert len([r for r in proxy.requests if r.method == "PUT"]) == 3
    assert snapshot(admin, ticket) == before


def test_slow_redmine_times_out_as_backend_unavailable(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine, ticket: int
) -> None:
    """Gateway timeout 1 s, Redmine held 3 s: BackendUnavailable naming the timeout, and the
    held write never reaches Redmine (the client hung up)."""
    proxy, service = proxied
    before = snapshot(admin, ticket)
    proxy.delay(3, method="PUT", path=PUT_ISSUE, times=1)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="within 1 s"):
        service.note("alice", ticket, "too slow")
    assert time.monotonic() - started < 2.5
    assert proxy.wait_for_outcome("abandoned").method == "PUT"  # the proxy saw the hang-up
    assert proxy.forwarded_writes() == []
    assert snapshot(admin, ticket) == before


def test_slow_read_times_out_as_backend_unavailable(
    proxied: tuple[RedmineProxy, TicketService], ticket: int
) -> None:
    proxy, service = proxied
    proxy.delay(3, method="GET", times=1)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="within 1 s"):
        service.show("alice", ticket)
    assert time.monotonic() - started < 2.5


def test_dropped_connection_and_down_redmine(
    proxied: tuple[RedmineProxy, TicketService], admin: Redmine, ticket: int
) -> None:
    proxy, service = proxied
    before = snapshot(admin, ticket)
    proxy.drop(method="PUT", path=PUT_ISSUE, times=1)
    with pytest.raises(BackendUnavailable, match="unreachable"):
        service.note("alice", ticket, "dropped")
    proxy.down()
    with pytest.raises(BackendUnavailable, match="unreachable"):
        service.note("alice", ticket, "down")
    with pytest.raises(BackendUnavailable, match="unreachable"):
        service.list_tickets("alice")
    assert proxy.forwarded_writes() == []
    assert snapshot(admin, ticket) == before


# ------------------------------------------------------------------ missing project
def test_a_missing_project_is_named(redmine: RedmineServer) -> None:
    from netbot.tickets import TicketsConfig, build

    built = build(redmine.url, redmine.admin_key, TicketsConfig(project="no-such-project"))
    missing = "Redmine has no project 'no-such-project', or you may not see it."
    with pytest.raises(NotFound) as listed:
        built.service.list_tickets("alice")
    with pytest.raises(NotFound) as searched:
        built.service.search("alice", "disk")
    with pytest.raises(NotFound) as opened:
        built.catalog.refresh_tickets()
    assert [e.value.message for e in (listed, searched, opened)] == [missing] * 3


def test_build_wires_one_gateway_from_the_settings(redmine: RedmineServer) -> None:
    from netbot.tickets import TicketsConfig, build

    settings = TicketsConfig(
        project=PROJECT, request_timeout_seconds=3, public_url="https://rm.example"
    )
    built = build(redmine.url, redmine.admin_key, settings)
    assert built.service.gateway is built.gateway and built.catalog.gateway is built.gateway
    assert built.service.catalog is built.catalog
    assert (built.gateway.timeout, built.gateway.link_url) == (3, "https://rm.example")
    assert built.service.show("alice", 1).url == "https://rm.example/issues/1"
