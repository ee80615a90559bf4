"""The ticket commands, shared by the Discord cog and tickets.py so the two never disagree.

Every method takes `actor`, the Redmine login to act as (None: the key's owner), and plain
values; it returns records from `netbot.tickets.records` or raises a `UserError` whose
message is meant for people. Writes are checked before they are sent (a status the workflow
does not allow, a closed ticket) and verified after (Redmine can answer 204 and silently keep
the old status), so a refused change is reported, never reported as done.

A write whose answer was lost may have been saved, so retrying must not do it twice: a note
identical to one the same person added in the last DUPLICATE_WINDOW is not added again, and
a new ticket identical to one they created in that window is that ticket (`create_once`).

These are blocking calls (python-redmine uses requests); the bot runs them in a thread.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from netbot.core.errors import Refused, UserError
from netbot.core.times import parse_time
from netbot.redmine import OutcomeUnknown, RedmineGateway
from netbot.tickets.catalog import Catalog
from netbot.tickets.format import echo, missing_project
from netbot.tickets.records import (
    Change,
    Created,
    Note,
    Person,
    TicketDetail,
    TicketPage,
    TicketSummary,
)
from netbot.tickets.wiring import THREAD_FIELD

NOTES_SHOWN = 5
STATUS_NEW, STATUS_IN_PROGRESS, STATUS_RESOLVED = "New", "In Progress", "Resolved"
EDITABLE_FIELDS = ("status", "priority", "tracker", "subject", "due_date")
# How far back an identical note or ticket by the same person counts as the same write
# (a retry after an answer was lost), rather than a new one.
DUPLICATE_WINDOW = dt.timedelta(minutes=10)
NOTE_ALREADY_ADDED = "this note was already added a moment ago; not added twice"

_ONE_TICKET = re.compile(r"\s*#?(\d+)\s*")
_CHOICE_NAME = re.compile(r"\s*#(\d+)\s+\S")  # an autocomplete choice's name: "#12 Disk full"
_SEVERAL_TICKETS = re.compile(r"\s*#?\d+(?:\s*[,;\s]\s*#?\d+)+\s*")
# Characters that show nothing: controls, format characters (zero-width spaces and joiners,
# BiDi marks, U+2060, U+FEFF) and separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def parse_ticket_id(text: str) -> int:
    """A ticket number from what a person typed: "12", "#12", or a choice name "#12 Disk full".

    Several numbers ("12 34", "12,13") are refused rather than read as the first one.
    """
    if _SEVERAL_TICKETS.fullmatch(text):
        raise UserError(f"{echo(text.strip())} names several tickets; give one ticket number.")
    match = _ONE_TICKET.fullmatch(text) or _CHOICE_NAME.match(text)
    if match is not None:
        return int(match.group(1))
    raise UserError(
        f"{echo(text.strip())} is not a ticket number; type a number or pick one from the list."
    )


def has_visible_text(text: str) -> bool:
    """Whether `text` shows anything: not only whitespace, zero-width or control characters."""
    return any(unicodedata.category(c) not in _INVISIBLE_CATEGORIES for c in text)


def _subject(text: str) -> str:
    """A subject as Redmine gets it (stripped, at most 255); UserError if it shows nothing."""
    if not has_visible_text(text):
        raise UserError("A ticket needs a subject with visible text.")
    return text.strip()[:255]


def _name(resource: Any, attribute: str) -> str | None:
    value = getattr(resource, attribute, None)
    return getattr(value, "name", None) if value is not None else None


class TicketService:
    """Ticket commands over one Redmine project."""

    def __init__(
        self,
        gateway: RedmineGateway,
        catalog: Catalog,
        project: str,
        thread_field: str = THREAD_FIELD,
    ) -> None:
        self.gateway = gateway
        self.catalog = catalog
        self.project = project
        self.thread_field = thread_field

    # ------------------------------------------------------------------ reads
    def list_tickets(
        self,
        actor: str | None,
        *,
        user: str | None = None,
        team: str | None = None,
        status: str = "open",
        page: int = 1,
        page_size: int = 10,
    ) -> TicketPage:
        """My (and my teams') tickets by default; or a user's, or a team's; by status.

        `status` is "open", "closed", "all" or a status name.
        """
        assigned: int | str
        if team:
            assignee = self.catalog.team(team)
            assigned, title = assignee.id, f"{assignee.name}'s tickets"
        elif user:
            assignee = self.catalog.person(user)
            assigned, title = assignee.id, f"{assignee.login}'s tickets"
        else:
            assigned, title = "me", "My and my teams' tickets"
        filters: dict[str, Any] = {
            "assigned_to_id": assigned,
            "status_id": self._status_filter(status),
        }
        return self._page(actor, filters, page, page_size, f"{title} ({status})")

    def search(
        self, actor: str | None, term: str, *, page: int = 1, page_size: int = 10
    ) -> TicketPage:
        """Tickets whose subject or text contains `term`, open and closed, newest first."""
        term = term.strip()
        if not term:
            raise UserError("Give some words to search for.")
        if page < 1:
            raise UserError("Pages start at 1.")
        api = self.gateway.api(actor)

        def run() -> tuple[list[int], int]:
            # The project's search endpoint, called directly: python-redmine's `search`
            # drops total_count, which paging needs.
            params = {"q": term, "issues": 1, "limit": page_size, "offset": (page - 1) * page_size}
            found = api.engine.request(
                "get", f"{api.url}/projects/{self.project}/search.json", params=params
            )
            return [r["id"] for r in found["results"] if r["type"].startswith("issue")], found[
                "total_count"
            ]

        ids, total = self.gateway.call(
            run,
            what=f"the search for {echo(term)}",
            as_login=actor,
            missing=missing_project(self.project),
        )
        tickets = (
            self._summaries(actor, {"issue_id": ",".join(map(str, ids)), "status_id": "*"})
            if ids
            else []
        )
        order = {ticket_id: n for n, ticket_id in enumerate(ids)}
        tickets.sort(key=lambda t: order.get(t.id, 0))
        return TicketPage(tickets, page, page_size, total, f"Search: {term}")

    def show(self, actor: str | None, ticket_id: int) -> TicketDetail:
        api = self.gateway.api(actor)
        issue = self.gateway.call(
            lambda: api.issue.get(ticket_id, include=["journals", "watchers"]),
            what=f"ticket {ticket_id}",
            as_login=actor,
        )
        return self._detail(issue)

    # ------------------------------------------------------------------ links
    def link_target(self, login: str) -> Person:
        """The Redmine user a Discord account may be linked to: a person, not a team."""
        person = self.catalog.person(login)
        if person.is_group:
            raise UserError(f"{echo(person.name)} is a team; link to a person's login.")
        return person

    def button_linkable(self, login: str) -> Person:
        """The user `login` names, if an admin may approve a request for it with a button.

        Never a Redmine administrator nor the owner of netbot's key: acting as them is
        acting with every power in Redmine, so an admin links those directly instead of
        approving with one click a message that names the login. Asked of Redmine each
        time (not the cache), as someone may have been made an administrator since.
        """
        person = self.link_target(login)
        api = self.gateway.api()
        user = self.gateway.call(lambda: api.user.get(person.id), what=f"user {echo(login)}")
        if getattr(user, "admin", False) or user.id == self._current_user(None):
            raise Refused(
                f"{echo(person.login)} is a Redmine administrator account (or netbot's own): "
                "a request to act as it is never approved with a button; an admin links it "
                "directly with /ticket link, naming you as the member."
            )
        return person

    # ------------------------------------------------------------------ writes
    def create_once(
        self,
        actor: str | None,
        subject: str,
        description: str = "",
        *,
        tracker: str | None = None,
        priority: str | None = None,
        team: str | None = None,
    ) -> Created:
        """A new ticket, unless this person created the same one a moment ago.

        "The same": same project, author, subject and description, created within
        DUPLICATE_WINDOW. Then that ticket is returned (`new` False) and nothing is sent, so
        a retry after a lost answer never makes a second ticket.
        """
        subject = _subject(subject)
        fields: dict[str, Any] = {
            "project_id": self.project,
            "subject": subject,
            "description": description,
        }
        if tracker:
            fields["tracker_id"] = self.catalog.tracker(tracker).id
        if priority:
            fields["priority_id"] = self.catalog.priority(priority).id
        if team:
            fields["assigned_to_id"] = self.catalog.team(team).id
        api = self.gateway.api(actor)
        twin = self._recent_twin(actor, subject, description)
        if twin is not None:
            return Created(self.show(actor, twin), new=False)
        issue = self.gateway.call(
            lambda: api.issue.create(**fields),
            what="the new ticket",
            as_login=actor,
            check="your newest tickets in Redmine",
        )
        self.catalog.add_ticket(issue.id, subject)
        return Created(
            self._read_back(actor, issue.id, f"Ticket #{issue.id} was created"), new=True
        )

    def assign(self, actor: str | None, ticket_id: int, assignee: str) -> Change:
        person = self.catalog.person(assignee)
        return self._update(actor, ticket_id, {"assigned_to_id": person.id}, open_only=True)

    def unassign(self, actor: str | None, ticket_id: int) -> Change:
        """Back to the pool: unassigned and New."""
        status = self.catalog.status(STATUS_NEW)
        return self._update(
            actor, ticket_id, {"assigned_to_id": "", "status_id": status.id}, open_only=True
        )

    def progress(self, actor: str | None, ticket_id: int) -> Change:
        """I am working on it: assigned to me, In Progress."""
        me = self._current_user(actor)
        status = self.catalog.status(STATUS_IN_PROGRESS)
        return self._update(
            actor, ticket_id, {"assigned_to_id": me, "status_id": status.id}, open_only=True
        )

    def resolve(self, actor: str | None, ticket_id: int) -> Change:
        status = self.catalog.status(STATUS_RESOLVED)
        return self._update(actor, ticket_id, {"status_id": status.id}, open_only=True)

    def note(self, actor: str | None, ticket_id: int, text: str) -> Change:
        """Add a note; the same note by the same person a moment ago is not added twice."""
        if not has_visible_text(text):
            raise UserError("The note is empty.")
        return self._update(actor, ticket_id, {"notes": text})

    def set_field(self, actor: str | None, ticket_id: int, field: str, value: str) -> Change:
        """Change one of EDITABLE_FIELDS; `value` is a name (status, ...), text or YYYY-MM-DD."""
        if field == "status":
            return self._update(actor, ticket_id, {"status_id": self.catalog.status(value).id})
        if field == "priority":
            return self._update(actor, ticket_id, {"priority_id": self.catalog.priority(value).id})
        if field == "tracker":
            return self._update(actor, ticket_id, {"tracker_id": self.catalog.tracker(value).id})
        if field == "subject":
            return self._update(actor, ticket_id, {"subject": _subject(value)})
        if field == "due_date":
            return self._update(actor, ticket_id, {"due_date": _due_date(value)})
        raise UserError(
            f"{echo(field)} cannot be changed here; choose one of {', '.join(EDITABLE_FIELDS)}."
        )

    def collaborate(self, actor: str | None, ticket_id: int) -> Change:
        """Add me as a watcher.

        Redmine lets anyone who can see a ticket watch it (its "Watch" link), but its REST
        API only offers "add a watcher", which needs the add_issue_watchers permission most
        roles lack. So: read the ticket as the person (proving they may see it), then add
        them with the bot's own key.
        """
        me = self._current_user(actor)
        self.show(actor, ticket_id)  # raises unless the person may see the ticket
        admin = self.gateway.api()

        def watch() -> bool:
            issue = admin.issue.get(ticket_id, include=["watchers"])
            if any(w.id == me for w in issue.watchers):
                return False
            issue.watcher.add(me)
            return True

        added = self.gateway.call(watch, what=f"ticket {ticket_id}", check=f"#{ticket_id}")
        return Change(
            self.show(actor, ticket_id), ["you now watch it" if added else "you already watch it"]
        )

    def link_thread(self, actor: str | None, ticket_id: int, thread: int | str) -> Change:
        """Record the ticket's Discord thread in its thread field (`threader.thread_field`): a thread
        id, or the threader's "create" value (`threader.create_value`), which asks the
        threader to open the thread itself."""
        field_id = self.catalog.custom_field_id(self.thread_field)
        return self._update(
            actor, ticket_id, {"custom_fields": [{"id": field_id, "value": str(thread)}]}
        )

    # ------------------------------------------------------------------ internals
    def _update(
        self, actor: str | None, ticket_id: int, fields: dict[str, Any], *, open_only: bool = False
    ) -> Change:
        """Check, write, re-read and verify one change to a ticket."""
        api = self.gateway.api(actor)
        what = f"ticket {ticket_id}"
        before_issue = self.gateway.call(
            lambda: api.issue.get(ticket_id, include=["allowed_statuses", "journals", "watchers"]),
            what=what,
            as_login=actor,
        )
        before = self._detail(before_issue)
        if open_only and before.is_closed:
            raise Refused(
                f"Ticket {ticket_id} is closed ({before.status}); reopen it first by changing its status."
            )
        target_status = fields.get("status_id")
        if target_status is not None and target_status != before.status_id:
            allowed = {s.id for s in getattr(before_issue, "allowed_statuses", [])}
            if target_status not in allowed:
                raise Refused(
                    f"Redmine's workflow does not let {actor or 'you'} move ticket {ticket_id} "
                    f"from {before.status} to {self.catalog.status_name(target_status)}."
                )
        if "notes" in fields and self._noted_just_now(actor, before_issue, fields["notes"]):
            return Change(before, [NOTE_ALREADY_ADDED])
        self.gateway.call(
            lambda: api.issue.update(ticket_id, **fields),
            what=what,
            as_login=actor,
            check=f"#{ticket_id}",
        )
        after = self._read_back(actor, ticket_id, f"Redmine took the change to ticket {ticket_id}")
        self._verify(before, after, fields)
        return Change(after, _differences(before, after, fields))

    def _read_back(self, actor: str | None, ticket_id: int, done: str) -> TicketDetail:
        """The ticket after a write Redmine accepted.

        If it cannot be read, the write still happened: say it is unconfirmed, never that
        nothing changed (a retry would do it twice).
        """
        try:
            return self.show(actor, ticket_id)
        except UserError as exc:
            raise OutcomeUnknown(
                f"{done}, but reading it back failed, so it is not confirmed; check "
                f"#{ticket_id} before retrying."
            ) from exc

    def _noted_just_now(self, actor: str | None, issue: Any, text: str) -> bool:
        """Whether the actor added this very note within DUPLICATE_WINDOW (a retried write)."""
        since = dt.datetime.now(dt.UTC) - DUPLICATE_WINDOW
        recent = [
            j
            for j in getattr(issue, "journals", [])
            if _same_text(getattr(j, "notes", "") or "", text) and parse_time(j.created_on) >= since
        ]
        return bool(recent) and any(j.user.id == self._current_user(actor) for j in recent)

    def _recent_twin(self, actor: str | None, subject: str, description: str) -> int | None:
        """A ticket the actor created within DUPLICATE_WINDOW with this subject and description."""
        api = self.gateway.api(actor)
        since = dt.datetime.now(dt.UTC) - DUPLICATE_WINDOW

        def find() -> int | None:
            newest = api.issue.filter(
                project_id=self.project, author_id="me", status_id="*", sort="id:desc", limit=10
            )
            return next(
                (
                    i.id
                    for i in newest
                    if i.subject == subject
                    and _same_text(getattr(i, "description", "") or "", description)
                    and parse_time(i.created_on) >= since
                ),
                None,
            )

        return self.gateway.call(
            find,
            what="your newest tickets",
            as_login=actor,
            missing=missing_project(self.project),
        )

    def _verify(self, before: TicketDetail, after: TicketDetail, fields: dict[str, Any]) -> None:
        """Raise Refused when Redmine answered success but kept the old value."""
        if "status_id" in fields and after.status_id != fields["status_id"]:
            raise Refused(
                f"Redmine kept ticket {after.id} at {after.status}: it refused the change to "
                f"{self.catalog.status_name(fields['status_id'])} (workflow or permissions)."
            )
        if "assigned_to_id" in fields:
            wanted = fields["assigned_to_id"] or None
            if (
                wanted != "me"
                and after.assignee_id != wanted
                and after.assignee_id == before.assignee_id
            ):
                raise Refused(f"Redmine refused to change the assignee of ticket {after.id}.")

    def _current_user(self, actor: str | None) -> int:
        api = self.gateway.api(actor)
        return self.gateway.call(
            lambda: api.user.get("current").id, what="your Redmine account", as_login=actor
        )

    def _status_filter(self, status: str) -> str | int:
        key = status.strip().lower()
        if key in ("open", "closed"):
            return key
        if key in ("all", "*", "any"):
            return "*"
        return self.catalog.status(status).id

    def _page(
        self, actor: str | None, filters: dict[str, Any], page: int, page_size: int, title: str
    ) -> TicketPage:
        if page < 1:
            raise UserError("Pages start at 1.")
        api = self.gateway.api(actor)

        def run() -> tuple[list[TicketSummary], int]:
            found = api.issue.filter(
                project_id=self.project, sort="updated_on:desc", limit=page_size,
                offset=(page - 1) * page_size, **filters,
            )  # fmt: skip
            rows = [self._summary(i) for i in found]
            return rows, found.total_count

        tickets, total = self.gateway.call(
            run, what="the ticket list", as_login=actor, missing=missing_project(self.project)
        )
        return TicketPage(tickets, page, page_size, total, title)

    def _summaries(self, actor: str | None, filters: dict[str, Any]) -> list[TicketSummary]:
        api = self.gateway.api(actor)
        return self.gateway.call(
            lambda: [
                self._summary(i) for i in api.issue.filter(project_id=self.project, **filters)
            ],
            what="the tickets",
            as_login=actor,
            missing=missing_project(self.project),
        )

    def _summary(self, issue: Any) -> TicketSummary:
        return TicketSummary(
            id=issue.id,
            subject=issue.subject,
            status=issue.status.name,
            priority=issue.priority.name,
            tracker=issue.tracker.name,
            assignee=_name(issue, "assigned_to"),
            updated_on=parse_time(issue.updated_on),
            is_closed=self._is_closed(issue.status),
        )

    def _is_closed(self, status: Any) -> bool:
        """Whether an issue's status is a closed one: Redmine 5 says so with each issue (so a
        list needs no status list); the catalog answers for an older Redmine."""
        closed = getattr(status, "is_closed", None)
        return bool(closed) if closed is not None else self.catalog.is_closed(status.id)

    def _detail(self, issue: Any) -> TicketDetail:
        journals = [j for j in getattr(issue, "journals", []) if getattr(j, "notes", "")]
        thread = next(
            (
                str(cf.value)
                for cf in getattr(issue, "custom_fields", [])
                if cf.name == self.thread_field and cf.value
            ),
            None,
        )
        assignee = getattr(issue, "assigned_to", None)
        due = getattr(issue, "due_date", None)
        return TicketDetail(
            id=issue.id,
            subject=issue.subject,
            description=getattr(issue, "description", "") or "",
            status=issue.status.name,
            status_id=issue.status.id,
            is_closed=self._is_closed(issue.status),
            priority=issue.priority.name,
            tracker=issue.tracker.name,
            project=issue.project.name,
            author=issue.author.name,
            assignee=assignee.name if assignee else None,
            assignee_id=assignee.id if assignee else None,
            watchers=[w.name for w in getattr(issue, "watchers", [])],
            created_on=parse_time(issue.created_on),
            updated_on=parse_time(issue.updated_on),
            due_date=dt.date.fromisoformat(str(due)) if due else None,
            notes=[Note(j.user.name, j.notes, parse_time(j.created_on)) for j in journals][
                -NOTES_SHOWN:
            ],
            url=f"{self.gateway.link_url}/issues/{issue.id}",
            thread_id=thread,
        )


def _due_date(value: str) -> str:
    value = value.strip()
    if value.lower() in ("", "none", "clear"):
        return ""
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise UserError(
            f"{echo(value)} is not a date; use YYYY-MM-DD, or 'none' to clear it."
        ) from None


def _same_text(stored: str, typed: str) -> bool:
    """Whether Redmine's copy of a text is what was typed (Redmine stores CRLF line breaks)."""

    def plain(text: str) -> str:
        return text.replace("\r\n", "\n").strip()

    return plain(stored) == plain(typed)


# Redmine field sent -> (label people read, how to read its value off a ticket)
_FIELD_LABELS: dict[str, tuple[str, Callable[[TicketDetail], object]]] = {
    "status_id": ("status", lambda t: t.status),
    "assigned_to_id": ("assignee", lambda t: t.assignee or "nobody"),
    "priority_id": ("priority", lambda t: t.priority),
    "tracker_id": ("tracker", lambda t: t.tracker),
    "subject": ("subject", lambda t: t.subject),
    "due_date": ("due date", lambda t: t.due_date or "none"),
    "custom_fields": ("Discord thread", lambda t: t.thread_id or "none"),
}


def _differences(before: TicketDetail, after: TicketDetail, fields: dict[str, Any]) -> list[str]:
    """Human lines for what changed, e.g. "status: New -> In Progress"."""
    lines = []
    for key, (label, read) in _FIELD_LABELS.items():
        if key in fields and read(before) != read(after):
            lines.append(f"{label}: {read(before)} -> {read(after)}")
    if "notes" in fields:
        lines.append("note added")
    return lines
