"""The incident domain's records: plain frozen data, what the service takes and hands back.

The chat side (cogs/incidents) builds requests from Discord input and renders these records;
it never sees a table row. Times are aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from netbot.incidents.config import Stage

TimelineKind = Literal["change", "message", "note", "action"]

# The custom id of the "Declare incident" button on alert posts: the alerts cog adds it, the
# incidents cog answers it (cogs never import each other, so it lives here).
DECLARE_FROM_ALERT = "incidents:declare"
# The shortest resolution closing takes: the service checks it, the Close button's form asks it.
MIN_RESOLUTION = 3


@dataclass(frozen=True)
class SpaceRef:
    """Where an incident's conversation happens: a channel (channel mode) or a forum post
    (a thread, forum mode). `space_id` is what messages in it carry as their channel id."""

    space_id: int
    name: str
    parent_id: int | None = None  # the category (channel mode) or the forum channel


@dataclass(frozen=True)
class HeadlineRef:
    """The one headline post of an incident, edited in place."""

    channel_id: int
    message_id: int


@dataclass(frozen=True)
class Incident:
    """One incident as it stands now."""

    id: int
    guild_id: int
    title: str
    summary: str
    impact: str
    severity: str
    status: Stage
    private: bool
    reporter_id: int
    lead_id: int | None
    comms_id: int | None
    declared_at: dt.datetime
    identified_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str
    space: SpaceRef | None  # None until the chat side created it
    headline: HeadlineRef | None
    ticket_id: int | None
    postmortem_at: dt.datetime | None  # when a post-mortem was produced

    @property
    def is_open(self) -> bool:
        return self.status != "closed"

    @property
    def is_active(self) -> bool:
        """Still being worked on (not resolved, not closed): reminders to update apply."""
        return self.status not in ("resolved", "closed")

    def duration(self, now: dt.datetime) -> dt.timedelta:
        """Declared until resolved (or until now, while unresolved)."""
        return (self.resolved_at or now) - self.declared_at


@dataclass(frozen=True)
class DeclareRequest:
    """What a declare form (or the alerts' "Declare incident" button) submits.

    `key` makes declaring idempotent: the same form submitted twice, or a retried
    interaction, carries the same key and gets the one incident back.
    """

    key: str
    guild_id: int
    reporter_id: int
    title: str
    summary: str = ""
    impact: str = ""
    severity: str | None = None  # None: the lowest configured
    lead_id: int | None = None  # None: the reporter
    private: bool = False


@dataclass(frozen=True)
class SpacePlan:
    """What the chat side creates for a new incident: the space, named once and never
    renamed, its topic set once, visible to these people and roles (only to them when
    `private`). The service then posts the one message that mentions the invitees."""

    name: str
    topic: str
    private: bool
    users: tuple[int, ...]
    roles: tuple[int, ...]
    severity: str  # forum mode: the tags to apply
    status: str


@dataclass(frozen=True)
class Participant:
    user_id: int
    joined_at: dt.datetime
    invited: bool  # by configuration (or a command) rather than joining themselves


@dataclass(frozen=True)
class SpaceMessage:
    """A chat message in (or added from) an incident's space, as the timeline keeps it."""

    message_id: int
    channel_id: int
    author_id: int
    author_name: str
    text: str
    at: dt.datetime  # when it was written (the timeline's order), not when it was pinned
    attachments: tuple[str, ...] = ()  # links
    url: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an incident's timeline: a recorded change, a message, a note or an
    action item. Ordered by `at` (the message's own time for messages)."""

    id: int
    incident_id: int
    kind: TimelineKind
    at: dt.datetime
    actor_id: int | None
    text: str
    field: str | None = None  # for changes: which field ("status", "severity", ...)
    old: str | None = None
    new: str | None = None
    message_id: int | None = None
    author_name: str | None = None
    attachments: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class IncidentPage:
    """One page of `/incident list`."""

    items: tuple[Incident, ...]
    page: int  # from 1
    pages: int
    total: int


@dataclass(frozen=True)
class SeverityStats:
    """Time to acknowledge (declared -> identified) and to resolve, for one severity."""

    severity: str
    count: int
    acknowledged: int  # how many have reached identified (the others do not count below)
    ack_mean: dt.timedelta | None
    ack_p90: dt.timedelta | None
    resolved: int
    resolve_mean: dt.timedelta | None
    resolve_p90: dt.timedelta | None


@dataclass(frozen=True)
class Postmortem:
    """A post-mortem document, as posted into the space (and optionally a ticket)."""

    filename: str
    markdown: str
    ticket_id: int | None = None
    ticket_error: str | None = None  # the error id, when opening its ticket failed


@dataclass(frozen=True)
class Button:
    """A button an incident post carries. The chat side gives it a custom id carrying the
    incident id and `action_id`, and hands a click back to `IncidentService.act`, so it
    keeps working after a restart."""

    label: str
    action_id: str  # short (<= 40 characters): it travels inside a custom id
    style: Literal["primary", "secondary", "success", "danger"] = "secondary"


@dataclass(frozen=True)
class ActionPrompt:
    """An action that needs a line of text first (the Close button asks for the
    resolution): the chat side shows a one-field form, then calls `act` with the text."""

    label: str
    min_length: int = 1
    max_length: int = 1000


@dataclass(frozen=True)
class SpaceEvent:
    """Something that happened in an incident's space, for `@event_handler(kind)`."""

    kind: str  # one of netbot.incidents.extensions.EVENT_KINDS
    user_id: int | None
    message: SpaceMessage | None = None
    message_id: int | None = None
    emoji: str | None = None


@dataclass(frozen=True)
class Reminder:
    """A reminder that fell due, as posted (kept for tests and logs)."""

    incident_id: int
    kind: str
    count: int  # 1 for the first of its kind
    at: dt.datetime
