"""What Redmine knows by name, kept in memory: users, teams, statuses, priorities, trackers,
custom fields and the open tickets.

Two uses: turning the names people type into Redmine ids (one lookup, no round trip), and
answering autocomplete from memory, so a keystroke never costs a Redmine request. The bot
refreshes it in the background; the CLI loads only the collections a command needs.
A refresh builds new dicts and swaps them in whole, so readers never see a half-built one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from netbot.core.errors import NotFound
from netbot.core.text import clip
from netbot.redmine import RedmineGateway
from netbot.tickets.format import echo, missing_project
from netbot.tickets.records import Named, Person

log = logging.getLogger(__name__)

CHOICES_LIMIT = 25  # Discord's maximum number of autocomplete choices
CHOICE_NAME_LIMIT = 100  # Discord's maximum length of a choice's name


@dataclass(frozen=True)
class OpenTicket:
    """The little autocomplete needs of an open ticket."""

    id: int
    subject: str
    haystack: str  # "#12 disk full on db-1": what typed words are matched against


class Catalog:
    """Name-to-id lookups and autocomplete over one Redmine project."""

    def __init__(self, gateway: RedmineGateway, project: str) -> None:
        self.gateway = gateway
        self.project = project
        self._users: dict[str, Person] | None = None  # by login, lower case
        self._groups: dict[str, Person] | None = None  # by name, lower case
        self._statuses: dict[str, Named] | None = None
        self._closed_status_ids: frozenset[int] = frozenset()
        self._priorities: dict[str, Named] | None = None
        self._trackers: dict[str, Named] | None = None
        self._custom_fields: dict[str, int] | None = None
        self._tickets: list[OpenTicket] = []

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        """Reload everything (the bot calls this in a worker thread, periodically)."""
        self._load_people()
        self._load_enumerations()
        self._load_custom_fields()
        self.refresh_tickets()

    def refresh_tickets(self) -> None:
        """Reload the project's open tickets, newest first."""
        api = self.gateway.api()

        def fetch() -> list[OpenTicket]:
            issues = api.issue.filter(project_id=self.project, status_id="open", sort="id:desc")
            return [ticket_entry(i.id, i.subject) for i in issues]

        self._tickets = self.gateway.call(
            fetch, what="the open tickets", missing=missing_project(self.project)
        )

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
        self._tickets = [ticket_entry(ticket_id, subject)] + [
            t for t in self._tickets if t.id != ticket_id
        ]

    # ------------------------------------------------------------------ lookups
    def _people(self) -> tuple[dict[str, Person], dict[str, Person]]:
        if self._users is None or self._groups is None:
            self._load_people()
        assert self._users is not None and self._groups is not None
        return self._users, self._groups

    def person(self, name: str) -> Person:
        """A user by login, or a team (group) by name; NotFound names close matches."""
        users, groups = self._people()
        key = name.strip().lstrip("@").lower()
        found = users.get(key) or groups.get(key)
        if found is None:
            raise NotFound(
                f"Redmine has no active user or team {echo(name)}.{self._suggest(key, [*users, *groups])}"
            )
        return found

    def team(self, name: str) -> Person:
        _, groups = self._people()
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
        id starts with the typed digits; then tickets whose subject has every typed word.
        """
        needle = typed.strip().lstrip("#").lower()
        words = needle.split()
        by_id: list[OpenTicket] = []
        by_words: list[OpenTicket] = []
        lead: OpenTicket | None = None
        for ticket in self._tickets:
            if ticket.id == first:
                lead = ticket
            elif needle.isdigit() and str(ticket.id).startswith(needle):
                by_id.append(ticket)
            elif len(by_words) < CHOICES_LIMIT and all(w in ticket.haystack for w in words):
                by_words.append(ticket)
        by_id.sort(key=lambda t: (len(str(t.id)), -t.id))  # the exact id, then the shortest
        ranked = ([lead] if lead else []) + by_id + by_words
        return [(clip(f"#{t.id} {t.subject}", CHOICE_NAME_LIMIT), t.id) for t in ranked][
            :CHOICES_LIMIT
        ]

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


def ticket_entry(ticket_id: int, subject: str) -> OpenTicket:
    return OpenTicket(ticket_id, subject, f"#{ticket_id} {subject}".lower())
