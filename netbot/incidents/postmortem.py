"""The post-mortem document: one Markdown file, built from what the database holds.

Summary, impact, severity history, lead and participants, the timeline with dates and time
zone, duration, time to acknowledge and to resolve, and the action items. Text people typed
is escaped (`outside`), so a title cannot break the document's structure or ping anyone
when the file is previewed in chat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from netbot.chat.markdown import render
from netbot.core.runtime import Workers
from netbot.core.text import clip, outside
from netbot.incidents.messages import Messages, span, when
from netbot.incidents.records import Incident, Participant, TimelineEntry

if TYPE_CHECKING:
    from netbot.tickets import TicketsServices

SUBJECT_MAX = 255  # Redmine's subject column


def filename(incident: Incident) -> str:
    return f"postmortem-incident-{incident.id}.md"


def render_postmortem(
    incident: Incident,
    timeline: Sequence[TimelineEntry],
    participants: Sequence[Participant],
    messages: Messages,
    now: dt.datetime,
) -> str:
    """The whole document."""
    tz: ZoneInfo = messages.tz
    lines = [f"# Post-mortem: incident #{incident.id}: {outside(incident.title)}", ""]
    facts = [
        ("Severity", incident.severity),
        ("Status", messages.status(incident.status)),
        ("Declared", when(incident.declared_at, tz)),
        ("Identified", when(incident.identified_at, tz) if incident.identified_at else "not yet"),
        ("Resolved", when(incident.resolved_at, tz) if incident.resolved_at else "not yet"),
        ("Closed", when(incident.closed_at, tz) if incident.closed_at else "not yet"),
        ("Duration", span(incident.duration(now))),
        ("Time to acknowledge", _since(incident, incident.identified_at)),
        ("Time to resolve", _since(incident, incident.resolved_at)),
        ("Lead", _who(incident.lead_id)),
        ("Comms", _who(incident.comms_id)),
    ]
    lines += [f"- **{name}:** {value}" for name, value in facts]
    lines += ["", "## Summary", "", outside(incident.summary) or "_none given_"]
    lines += ["", "## Impact", "", outside(incident.impact) or "_none given_"]
    if incident.resolution:
        lines += ["", "## Resolution", "", outside(incident.resolution)]
    lines += ["", "## Severity history", ""]
    severities = [e for e in timeline if e.kind == "change" and e.field in ("declared", "severity")]
    for entry in severities:
        lines.append(f"- {when(entry.at, tz)}: {outside(entry.new or '')}")
    lines += ["", "## People", ""]
    for person in participants:
        roles = [r for r, uid in (("lead", incident.lead_id), ("comms", incident.comms_id))
                 if uid == person.user_id]  # fmt: skip
        how = "invited" if person.invited else "joined"
        role = f" ({', '.join(roles)})" if roles else ""
        lines.append(f"- <@{person.user_id}>{role}: {how} {when(person.joined_at, tz)}")
    lines += ["", f"## Timeline (times in {tz.key})", ""]
    for entry in timeline:
        if entry.kind != "action":
            lines.append(f"- **{when(entry.at, tz)}** {render(messages.entry_text(entry))}")
    actions = [e for e in timeline if e.kind == "action"]
    lines += ["", "## Action items", ""]
    lines += [f"- [ ] {outside(e.text)} (<@{e.actor_id}>)" for e in actions] or ["_none yet_"]
    return "\n".join(lines) + "\n"


def _since(incident: Incident, moment: dt.datetime | None) -> str:
    return span(moment - incident.declared_at) if moment else "not yet"


def _who(user_id: int | None) -> str:
    return f"<@{user_id}>" if user_id else "nobody"


class RedminePostmortem:
    """Opens a post-mortem as a Redmine ticket through the tickets capability's service
    (as netbot itself), then asks the chat side to open the ticket's thread, so the threader
    keeps the ticket and its discussion in sync. Private incidents get no ticket: who may
    read a Redmine project is not who was invited."""

    def __init__(
        self,
        tickets: TicketsServices,
        workers: Workers,
        open_thread: Callable[[int, str], Awaitable[object]] | None = None,
    ) -> None:
        self.tickets = tickets
        self.workers = workers
        self.open_thread = open_thread

    async def __call__(self, incident: Incident, markdown: str) -> int | None:
        if incident.private:
            return None
        subject = clip(f"Post-mortem: incident #{incident.id}: {incident.title}", SUBJECT_MAX)
        created = await self.workers.run(
            "redmine", self.tickets.service.create_once, None, subject, markdown
        )
        if self.open_thread is not None:
            await self.open_thread(created.ticket.id, subject)
        return created.ticket.id
