"""What Redmine knows by name, kept in memory: users, teams, statuses, priorities, trackers,
custom fields and the open tickets.

Two uses: turning the names people type into Redmine ids (one lookup, no round trip), and
answering autocomplete from memory, so a keystroke never costs a Redmine request. The bot
refreshes it in the background; the CLI loads only the collections a command needs.
A refresh builds new dicts and swaps them in whole, so readers never see a half-built one.

The open tickets are refreshed incrementally: a full load (page by page, keeping only a
compact row per ticket, see netbot.tickets.index) at the first refresh, every
`FULL_REFRESH_EVERY`-th one and on demand (`refresh_tickets(full=True)`); in between, only
the tickets updated since the last refresh began (any status, so closures leave the open
set). The periodic full load is what notices tickets deleted or moved to another project,
which an update query cannot see.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections.abc import Iterable
from typing import Any

from netbot.core.errors import NotFound
from netbot.core.text import clip
from netbot.redmine import RedmineGateway
from netbot.tickets.format import echo, missing_project
from netbot.tickets.index import CHOICES_LIMIT, EMPTY, TicketIndex, TicketRow
from netbot.tickets.records import Named, Person

log = logging.getLogger(__name__)

__all__ = ["CHOICES_LIMIT", "CHOICE_NAME_LIMIT", "Catalog", "TicketRow", "clip"]

CHOICE_NAME_LIMIT = 100  # Discord's maximum length of a choice's name


class Catalog:
    """Name-to-id lookups and autocomplete over one Redmine project."""

    def __init__(self, gateway: RedmineGateway, project: str) -> None:
        self.gateway = gateway
        self.project = project
        self._users: dict[str, Person] | None = None  # by login, lower case
        self._groups: dict[str, Person] | None = None  # by name, lower case
        # Users and teams asked of Redmine one by one, by lower-case login or name, before
        # the lists are loaded (tickets.py never loads them for a list).
        self._looked_up: dict[str, Person | None] = {}
        self._statuses: dict[str, Named] | None = None
        self._closed_status_ids: frozenset[int] = frozenset()
        self._priorities: dict[str, Named] | None = None
        self._trackers: dict[str, Named] | None = None
        self._custom_fields: dict[str, int] | None = None
        # The index of the open tickets, and the tickets created here since it was built
        # (id -> (order added, subject)) so that they show at once (a refresh that began after
        # one was added drops it): one pair, replaced whole, so a reader sees both of one moment.
        self._tickets: tuple[TicketIndex, dict[int, tuple[int, str]]] = (EMPTY, {})
        self._added = itertools.count()
        self._since: dt.datetime | None = None  # when the last ticket refresh began
        self._refreshes = 0
        self._refreshing = threading.Lock()  # one ticket refresh at a time
        self._replacing = threading.Lock()  # `_tickets` is replaced from two threads

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        """Reload everything (the bot calls this in a worker thread, periodically)."""
        self._load_people()
        self._load_enumerations()
        self._load_custom_fields()
        self.refresh_tickets()

    def refresh_tickets(self, *, full: bool = False) -> None:
        """Bring the open tickets up to date (a full load when due, see the module), then
        rebuild the index and swap it in. Runs in a worker thread: no part runs on the loop."""
        with self._refreshing:
            began = dt.datetime.now(dt.UTC)
            mark = next(self._added)
            full = full or self._since is None or self._refreshes % FULL_REFRESH_EVERY == 0
            rows: Iterable[TicketRow]
            if full:
                rows = self._fetch_open()
            else:
                assert self._since is not None
                rows = self._fetch_changes(self._since - REFRESH_OVERLAP)
            self._refreshes += 1
            self._swap(TicketIndex(rows), mark)
            self._since = began

    @property
    def ticket_count(self) -> int:
        """How many open tickets are held (created here since the last refresh aside)."""
        return len(self._tickets[0])

    def load_tickets(self, tickets: Iterable[TicketRow]) -> None:
        """Replace the open tickets with `tickets` (for tests and benches, with no Redmine)."""
        self._swap(TicketIndex(tickets), next(self._added))

    def _swap(self, index: TicketIndex, mark: int) -> None:
        with self._replacing:
            recent = self._tickets[1]
            self._tickets = (index, {i: entry for i, entry in recent.items() if entry[0] > mark})

    def _fetch_open(self) -> list[TicketRow]:
        """Every open ticket of the project, one page at a time."""
        pages = self.gateway.issue_pages(
            {"project_id": self.project, "status_id": "open"},
            what="the open tickets",
            missing=missing_project(self.project),
        )
        return [row(issue) for page in pages for issue in page]

    def _fetch_changes(self, since: dt.datetime) -> Iterable[TicketRow]:
        """The open tickets as they are now, from the ones held and the ones updated since
        `since`: an update to a closed status takes a ticket out."""
        changed: dict[int, TicketRow | None] = {}
        pages = self.gateway.issue_pages(
            {
                "project_id": self.project,
                "status_id": "*",
                "updated_on": f">={since.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
            },
            what="the updated tickets",
            missing=missing_project(self.project),
        )
        for page in pages:
            for issue in page:
                ticket = row(issue)
                changed[ticket.id] = None if self.is_closed(ticket.status_id) else ticket
        kept = (r for r in self._tickets[0].rows() if r.id not in changed)
        return itertools.chain(kept, (r for r in changed.values() if r is not None))

    def _load_people(self) -> None:
        api = self.gateway.api()

        def fetch() -> tuple[dict[str, Person], dict[str, Person]]:
            users = {
                u.login.lower(): Person(u.id, u.login, f"{u.firstname} {u.lastname}".strip())
                for u in api.user.filter(status=1)
            }
            groups = {
                g.name.lower(): Person(g.id, g.name, g.name, is_group=True) for g in api.group.all()
            }
            return users, groups

        self._users, self._groups = self.gateway.call(fetch, what="the user list")

    def _load_enumerations(self) -> None:
        api = self.gateway.api()

        def fetch() -> tuple[Any, Any, Any]:
            return (
                list(api.issue_status.all()),
                list(api.enumeration.filter(resource="issue_priorities")),
                list(api.tracker.all()),
            )

        statuses, priorities, trackers = self.gateway.call(fetch, what="the status lists")
        self._statuses = {s.name.lower(): Named(s.id, s.name) for s in statuses}
        self._closed_status_ids = frozenset(
            s.id for s in statuses if getattr(s, "is_closed", False)
        )
        self._priorities = {p.name.lower(): Named(p.id, p.name) for p in priorities}
        self._trackers = {t.name.lower(): Named(t.id, t.name) for t in trackers}

    def _load_custom_fields(self) -> None:
        api = self.gateway.api()
        fields = self.gateway.call(lambda: list(api.custom_field.all()), what="the custom fields")
        self._custom_fields = {f.name: f.id for f in fields}

    def add_ticket(self, ticket_id: int, subject: str) -> None:
        """Make a ticket created just now appear in autocomplete before the next refresh."""
        with self._replacing:
            index, recent = self._tickets
            self._tickets = (index, {**recent, ticket_id: (next(self._added), subject)})

    # ------------------------------------------------------------------ lookups
    def _people(self) -> tuple[dict[str, Person], dict[str, Person]]:
        if self._users is None or self._groups is None:
            self._load_people()
        assert self._users is not None and self._groups is not None
        return self._users, self._groups

    def person(self, name: str) -> Person:
        """A user by login, or a team (group) by name; NotFound names close matches."""
        key = name.strip().lstrip("@").lower()
        found = self.find_person(name)
        if found is None:
            users, groups = self._people()  # every login, for the suggestions
            raise NotFound(
                f"Redmine has no active user or team {echo(name)}.{self._suggest(key, [*users, *groups])}"
            )
        return found

    def find_person(self, name: str) -> Person | None:
        """The user whose login is `name`, else the team of that name, else None (no
        suggestions are looked for: a caller with another use for the name, such as a search).

        From memory once the lists are loaded (the bot refreshes them); before that (always,
        in tickets.py) asked of Redmine for this one name: the user with one request (not the
        whole user list, 20 requests with 2,000 users), a team with one more.
        """
        key = name.strip().lstrip("@").lower()
        if self._users is not None and self._groups is not None:
            return self._users.get(key) or self._groups.get(key)
        if not key:
            return None
        if key not in self._looked_up:
            self._looked_up[key] = self._user_by_login(key) or self._groups_by_name().get(key)
        return self._looked_up[key]

    def _user_by_login(self, key: str) -> Person | None:
        """The active user whose login is `key` (lower case), found with Redmine's `name`
        filter (a substring of login, names or mail), then matched exactly."""
        api = self.gateway.api()

        def fetch() -> Person | None:
            return next(
                (
                    Person(u.id, u.login, f"{u.firstname} {u.lastname}".strip())
                    for u in api.user.filter(status=1, name=key)
                    if u.login.lower() == key
                ),
                None,
            )

        return self.gateway.call(fetch, what="the user list")

    def _groups_by_name(self) -> dict[str, Person]:
        """The teams by lower-case name: loaded on first use (one request), without users."""
        if self._groups is None:
            api = self.gateway.api()
            groups = self.gateway.call(lambda: list(api.group.all()), what="the user list")
            self._groups = {
                g.name.lower(): Person(g.id, g.name, g.name, is_group=True) for g in groups
            }
        return self._groups

    def team(self, name: str) -> Person:
        groups = self._groups_by_name()
        found = groups.get(name.strip().lower())
        if found is None:
            raise NotFound(f"Redmine has no team {echo(name)}.{self._suggest(name, list(groups))}")
        return found

    def status(self, name: str) -> Named:
        return self._enumerated("status", name)

    def priority(self, name: str) -> Named:
        return self._enumerated("priority", name)

    def tracker(self, name: str) -> Named:
        return self._enumerated("tracker", name)

    def is_closed(self, status_id: int) -> bool:
        if self._statuses is None:
            self._load_enumerations()
        return status_id in self._closed_status_ids

    def custom_field_id(self, name: str) -> int:
        if self._custom_fields is None:
            self._load_custom_fields()
        assert self._custom_fields is not None
        if name not in self._custom_fields:
            raise NotFound(f"Redmine has no custom field {name!r}; an admin must create it.")
        return self._custom_fields[name]

    def status_name(self, status_id: int) -> str:
        """The name of a status id (the id itself if Redmine does not know it)."""
        found = (n.name for n in self._enumeration("status").values() if n.id == status_id)
        return next(found, str(status_id))

    def names(self, kind: str) -> list[str]:
        """Every status, priority or tracker name, in Redmine's order."""
        return [n.name for n in self._enumeration(kind).values()]

    def _enumeration(self, kind: str) -> dict[str, Named]:
        if self._statuses is None:
            self._load_enumerations()
        table = {"status": self._statuses, "priority": self._priorities, "tracker": self._trackers}
        return table[kind] or {}

    def _enumerated(self, kind: str, name: str) -> Named:
        table = self._enumeration(kind)
        found = table.get(name.strip().lower())
        if found is None:
            known = ", ".join(n.name for n in table.values())
            raise NotFound(f"Redmine has no {kind} {echo(name)}. Known: {clip(known, 500)}.")
        return found

    @staticmethod
    def _suggest(typed: str, candidates: list[str]) -> str:
        close = [c for c in candidates if typed.lower() in c or c in typed.lower()][:3]
        return f" Did you mean: {', '.join(clip(c, 60) for c in close)}?" if close else ""

    # ------------------------------------------------------------------ autocomplete
    def match_tickets(self, typed: str, first: int | None = None) -> list[tuple[str, int]]:
        """Open tickets for what was typed: an id prefix, or words of the subject.

        `first` (the ticket of the thread the user is in) leads the list; then tickets whose
        id starts with the typed digits (the exact id, then the shortest, newest first); then
        the tickets whose `#<id> <subject>` holds every typed word, in any case: those
        created here since the last refresh (the latest first), then the newest.
        From the index: a few lookups, never a scan, at most 25 choices formatted.
        """
        index, recent = self._tickets  # one moment's, whatever a refresh does meanwhile
        needle = typed.strip().lstrip("#").lower()
        words = needle.split()
        by_digits = needle.isdigit()

        def subject(ticket_id: int) -> str | None:
            entry = recent.get(ticket_id)
            return entry[1] if entry else index.subject(ticket_id)

        def prefixed(ticket_id: int) -> bool:
            return by_digits and str(ticket_id).startswith(needle)

        def listed_elsewhere(ticket_id: int) -> bool:  # shown first, or newer in `recent`
            return ticket_id == first or ticket_id in recent

        lead = first if first is not None and subject(first) is not None else None
        fresh = [  # the ones created here since the last refresh: the latest first
            i
            for i in sorted(recent, key=lambda i: recent[i][0], reverse=True)
            if i != first
            and (prefixed(i) or all(w in f"#{i} {recent[i][1]}".lower() for w in words))
        ]
        by_id = sorted(
            index.by_id_prefix(needle, listed_elsewhere) + [i for i in fresh if prefixed(i)],
            key=lambda i: (len(str(i)), -i),
        )
        by_words = [i for i in fresh if not prefixed(i)] + index.by_words(
            words, listed_elsewhere, unless_prefix=needle if by_digits else ""
        )
        ranked = ([lead] if lead is not None else []) + by_id + by_words
        return [(clip(f"#{i} {subject(i)}", CHOICE_NAME_LIMIT), i) for i in ranked[:CHOICES_LIMIT]]

    def match_people(self, typed: str, *, teams: bool = True) -> list[tuple[str, str]]:
        """Users (and teams) whose login or name contains what was typed; value is the login."""
        needle = typed.strip().lstrip("@").lower()
        users, groups = self._people_if_loaded()
        found: list[tuple[str, str]] = []
        for person in [*users.values(), *(groups.values() if teams else [])]:
            if needle in person.login.lower() or needle in person.name.lower():
                label = (
                    f"{person.name} (team)"
                    if person.is_group
                    else f"{person.login} ({person.name})"
                )
                found.append((clip(label, CHOICE_NAME_LIMIT), person.login))
                if len(found) == CHOICES_LIMIT:
                    break
        return found

    def match_teams(self, typed: str) -> list[tuple[str, str]]:
        _, groups = self._people_if_loaded()
        needle = typed.strip().lower()
        return [
            (clip(g.name, CHOICE_NAME_LIMIT), g.name)
            for g in groups.values()
            if needle in g.name.lower()
        ][:CHOICES_LIMIT]

    def match_names(self, kind: str, typed: str) -> list[str]:
        """Statuses, priorities or trackers containing what was typed."""
        if self._statuses is None:
            return []  # not loaded yet: autocomplete never waits for Redmine
        needle = typed.strip().lower()
        return [n for n in self.names(kind) if needle in n.lower()][:CHOICES_LIMIT]

    def _people_if_loaded(self) -> tuple[dict[str, Person], dict[str, Person]]:
        return self._users or {}, self._groups or {}


FULL_REFRESH_EVERY = 30  # ticket refreshes: with the default 120 s, a full load each hour
# Reach back this far before the last refresh began: Redmine's clock may lag the bot's.
REFRESH_OVERLAP = dt.timedelta(minutes=5)


def row(issue: dict[str, Any]) -> TicketRow:
    """The compact row kept of one issue of Redmine's /issues.json."""
    assignee = issue.get("assigned_to") or {}
    return TicketRow(issue["id"], issue["subject"], issue["status"]["id"], assignee.get("id", 0))
