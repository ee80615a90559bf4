"""Catalog: name lookups and autocomplete from memory (no network), and one real refresh."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pytest

from netbot.core.errors import NotFound
from netbot.redmine import RedmineGateway
from netbot.tickets.catalog import (
    CHOICE_NAME_LIMIT,
    CHOICES_LIMIT,
    Catalog,
    TicketRow,
    clip,
)
from netbot.tickets.records import Named, Person
from tests.plugins.redmine_server import RedmineServer


class OfflineGateway(RedmineGateway):
    """A gateway that fails the test if anything tries to reach Redmine."""

    def api(self, as_login: str | None = None) -> Any:
        raise AssertionError("the catalog tried to reach Redmine")

    def call(self, action: Any, *, what: str, as_login: str | None = None) -> Any:
        raise AssertionError(f"the catalog tried to reach Redmine for {what}")


def offline() -> OfflineGateway:
    return OfflineGateway("http://127.0.0.1:9", "not-a-key")


STATUSES = ["New", "In Progress", "Resolved", "Feedback", "Closed", "Rejected"]


def filled(
    tickets: Iterable[tuple[int, str]] = (),
    users: Iterable[tuple[int, str, str]] = (),
    groups: Iterable[tuple[int, str]] = (),
    *,
    enumerations: bool = True,
) -> Catalog:
    """A Catalog whose collections are filled by hand (newest ticket first, as refresh does)."""
    catalog = Catalog(offline(), "ops")
    catalog.load_tickets(TicketRow(i, s) for i, s in tickets)
    catalog._users = {login.lower(): Person(i, login, name) for i, login, name in users}
    catalog._groups = {name.lower(): Person(i, name, name, is_group=True) for i, name in groups}
    if enumerations:
        catalog._statuses = {n.lower(): Named(i, n) for i, n in enumerate(STATUSES, 1)}
        catalog._closed_status_ids = frozenset({5, 6})
        catalog._priorities = {
            n.lower(): Named(i, n) for i, n in enumerate(["Low", "Normal", "High"], 1)
        }
        catalog._trackers = {n.lower(): Named(i, n) for i, n in enumerate(["Bug", "Feature"], 1)}
        catalog._custom_fields = {"discord-thread": 1}
    return catalog


TICKETS = [
    (312, "Printer on floor 3 jammed"),
    (120, "Backup of mail server failed"),
    (45, "Ticket about rack 12 power"),
    (12, "Disk full on db-1"),
    (3, "VPN flapping at the office"),
    (1, "Rotate TLS certificates"),
]
USERS = [(5, "alice", "Alice Anders"), (6, "bob", "Bob Berg"), (7, "carol", "Carol Outsider")]
GROUPS = [(9, "ops-team"), (10, "network-team")]


# ---------------------------------------------------------------------------------- tickets
def test_id_prefix_ranks_before_words() -> None:
    catalog = filled(TICKETS)
    found = [ticket_id for _, ticket_id in catalog.match_tickets("12")]
    # 12 and 120 start with "12" (the exact id first); 45 and 312 only contain it.
    assert found[:2] == [12, 120]
    assert set(found[2:]) == {45, 312}


def test_hash_prefix_is_accepted() -> None:
    catalog = filled(TICKETS)
    assert catalog.match_tickets("#12") == catalog.match_tickets("12")
    assert ("#3 VPN flapping at the office", 3) in catalog.match_tickets(" #3 ")[:2]


def test_exact_id_is_offered_first_even_with_many_longer_ids() -> None:
    """Typing a whole id must offer that ticket. With 2,000 open tickets, "12" prefixes
    1200-1299 and 120-129 (110 newer tickets); only 25 choices fit, so #12 must lead."""
    catalog = filled([(n, f"ticket number {n}") for n in range(2000, 0, -1)])
    assert catalog.match_tickets("12")[0] == ("#12 ticket number 12", 12)
    assert catalog.match_tickets("#7")[0] == ("#7 ticket number 7", 7)


def test_every_word_must_match_in_any_order_any_case() -> None:
    catalog = filled(TICKETS)
    assert catalog.match_tickets("FULL disk") == [("#12 Disk full on db-1", 12)]
    assert catalog.match_tickets("  server   BACKUP ") == [
        ("#120 Backup of mail server failed", 120)
    ]
    assert catalog.match_tickets("disk vpn") == []
    assert catalog.match_tickets("nothing-like-this") == []


def test_empty_lists_the_newest_first() -> None:
    catalog = filled(TICKETS)
    assert [i for _, i in catalog.match_tickets("")] == [t for t, _ in TICKETS]


def test_the_threads_ticket_leads() -> None:
    catalog = filled(TICKETS)
    assert [i for _, i in catalog.match_tickets("", first=3)] == [3, 312, 120, 45, 12, 1]
    assert catalog.match_tickets("12", first=1)[0][1] == 1
    found = [i for _, i in catalog.match_tickets("disk", first=12)]
    assert found == [12]  # not listed twice
    assert catalog.match_tickets("disk", first=999) == [("#12 Disk full on db-1", 12)]


def test_at_most_25_choices() -> None:
    catalog = filled([(n, f"server {n} down") for n in range(1000, 0, -1)])
    for typed in ("", "server", "1", "down server"):
        assert len(catalog.match_tickets(typed)) == CHOICES_LIMIT
    assert len(catalog.match_tickets("1", first=500)) == CHOICES_LIMIT
    assert catalog.match_tickets("1", first=500)[0][1] == 500


def test_every_name_fits_discord() -> None:
    long = "x" * 300
    catalog = filled([(99999, long), (1, "short")])
    name, value = catalog.match_tickets("99999")[0]
    assert value == 99999
    assert len(name) == CHOICE_NAME_LIMIT
    assert name.startswith("#99999 xxx") and name.endswith("…")
    assert all(len(n) <= CHOICE_NAME_LIMIT for n, _ in catalog.match_tickets(""))


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
    assert len(clip("y" * 500, 100)) == 100


def test_add_ticket_shows_at_once_and_replaces() -> None:
    catalog = filled(TICKETS)
    catalog.add_ticket(400, "Brand new outage")
    assert catalog.match_tickets("")[0] == ("#400 Brand new outage", 400)
    assert catalog.match_tickets("outage") == [("#400 Brand new outage", 400)]
    catalog.add_ticket(12, "Disk full on db-2")  # same id again: one entry, new subject
    assert catalog.match_tickets("disk") == [("#12 Disk full on db-2", 12)]
    assert len(catalog.match_tickets("")) == len(TICKETS) + 1


def test_add_ticket_on_an_empty_catalog() -> None:
    catalog = Catalog(offline(), "ops")
    catalog.add_ticket(7, "first ever")
    assert catalog.match_tickets("7") == [("#7 first ever", 7)]


# ---------------------------------------------------------------------------------- people
def test_match_people_by_login_or_name_with_teams_marked() -> None:
    catalog = filled(users=USERS, groups=GROUPS)
    assert catalog.match_people("ali") == [("alice (Alice Anders)", "alice")]
    assert catalog.match_people("BERG") == [("bob (Bob Berg)", "bob")]
    assert catalog.match_people("@carol") == [("carol (Carol Outsider)", "carol")]
    assert catalog.match_people("ops") == [("ops-team (team)", "ops-team")]
    assert catalog.match_people("team", teams=False) == []
    labels = dict(catalog.match_people(""))
    assert set(labels.values()) == {"alice", "bob", "carol", "ops-team", "network-team"}
    assert catalog.match_teams("TEAM") == [
        ("ops-team", "ops-team"),
        ("network-team", "network-team"),
    ]
    assert catalog.match_teams("net") == [("network-team", "network-team")]


def test_match_people_limits_and_clips() -> None:
    users = [(n, f"user{n}", "N" * 200) for n in range(100)]
    catalog = filled(users=users)
    found = catalog.match_people("user")
    assert len(found) == CHOICES_LIMIT
    assert all(len(label) <= CHOICE_NAME_LIMIT for label, _ in found)


def test_autocomplete_before_loading_never_waits_for_redmine() -> None:
    catalog = Catalog(offline(), "ops")  # any Redmine call would raise AssertionError
    started = time.perf_counter()
    assert catalog.match_names("status", "") == []
    assert catalog.match_names("priority", "hi") == []
    assert catalog.match_people("a") == []
    assert catalog.match_teams("") == []
    assert catalog.match_tickets("12") == []
    assert time.perf_counter() - started < 0.05


def test_match_names_after_loading() -> None:
    catalog = filled()
    assert catalog.match_names("status", "") == STATUSES
    assert catalog.match_names("status", "RES") == ["In Progress", "Resolved"]
    assert catalog.match_names("priority", "h") == ["High"]
    assert catalog.match_names("tracker", "feat") == ["Feature"]
    assert catalog.match_names("tracker", "zzz") == []


# ---------------------------------------------------------------------------------- lookups
def test_lookups_by_name() -> None:
    catalog = filled(users=USERS, groups=GROUPS)
    assert catalog.person(" @Alice ").id == 5
    assert catalog.person("ops-team").is_group
    assert catalog.team(" OPS-TEAM ").id == 9
    assert catalog.status("in progress") == Named(2, "In Progress")
    assert catalog.is_closed(5) and not catalog.is_closed(1)
    assert catalog.custom_field_id("discord-thread") == 1
    with pytest.raises(NotFound, match=r"'alic'.*Did you mean: alice"):
        catalog.person("alic")
    with pytest.raises(NotFound, match=r"no team 'ops'.*ops-team"):
        catalog.team("ops")
    with pytest.raises(NotFound, match="Known: New, In Progress"):
        catalog.status("Done")
    with pytest.raises(NotFound, match="discord-sync"):
        catalog.custom_field_id("discord-sync")


# ---------------------------------------------------------------------------------- real refresh
@pytest.mark.redmine
def test_refresh_from_the_real_redmine(redmine: RedmineServer) -> None:
    catalog = Catalog(RedmineGateway(redmine.url, redmine.admin_key, timeout=5), "ops")
    assert catalog.match_names("status", "") == []
    catalog.refresh()

    logins = {login for _, login in catalog.match_people("", teams=False)}
    assert {"admin", "alice", "bob", "carol"} <= logins
    assert "dave" not in logins  # locked: not offered, not resolvable
    with pytest.raises(NotFound):
        catalog.person("dave")
    assert catalog.person("alice").name == "Alice Anders"
    assert catalog.team("ops-team").id == redmine.info["group"]["id"]
    assert catalog.names("status") == list(redmine.info["statuses"])
    assert catalog.is_closed(redmine.info["statuses"]["Closed"])
    assert catalog.is_closed(redmine.info["statuses"]["Rejected"])
    assert not catalog.is_closed(redmine.info["statuses"]["Resolved"])
    assert catalog.names("priority") == list(redmine.info["priorities"])
    assert catalog.names("tracker") == list(redmine.info["trackers"])
    for name, field_id in redmine.info["custom_fields"].items():
        assert catalog.custom_field_id(name) == field_id

    open_ids = [ticket_id for _, ticket_id in catalog.match_tickets("")]
    assert open_ids == sorted(open_ids, reverse=True)
    assert redmine.issue_id("Disk full on db-1") in {i for _, i in catalog.match_tickets("disk")}
    assert catalog.match_tickets("old backup job") == []  # closed: not offered
