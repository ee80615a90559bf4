"""Plain records the ticket commands return: what the bot renders and the CLI prints.

They hold ids and text only (no python-redmine resources, no Discord objects), so they are
easy to build in tests, to turn into JSON for `tickets.py --json`, and to cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Named:
    """Something Redmine knows by id and name: a status, priority, tracker, user or group."""

    id: int
    name: str


@dataclass(frozen=True)
class Person:
    """A Redmine user (or group: `is_group`), with the login people type."""

    id: int
    login: str
    name: str
    is_group: bool = False


@dataclass(frozen=True)
class TicketSummary:
    """One row of a ticket list."""

    id: int
    subject: str
    status: str
    priority: str
    tracker: str
    assignee: str | None
    updated_on: dt.datetime
    is_closed: bool = False


@dataclass(frozen=True)
class Note:
    author: str
    text: str
    created_on: dt.datetime


@dataclass(frozen=True)
class TicketDetail:
    """Everything `show` displays."""

    id: int
    subject: str
    description: str
    status: str
    status_id: int
    is_closed: bool
    priority: str
    tracker: str
    project: str
    author: str
    assignee: str | None
    assignee_id: int | None
    watchers: list[str]
    created_on: dt.datetime
    updated_on: dt.datetime
    due_date: dt.date | None
    notes: list[Note]
    url: str
    thread_id: str | None = None


@dataclass(frozen=True)
class TicketPage:
    """One page of a list or search, and where it sits in the whole result."""

    tickets: list[TicketSummary]
    page: int
    page_size: int
    total: int
    title: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class Change:
    """The outcome of a write: the ticket as Redmine now has it, and what changed."""

    ticket: TicketDetail
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Created:
    """The outcome of creating a ticket once: the ticket, and whether this call created it."""

    ticket: TicketDetail
    new: bool


def to_json(record: Any) -> Any:
    """A JSON-ready form of a record (dates as ISO text)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(asdict(record))
