"""What the incident service says: the headline, the space's topic and first message,
change notices, reminders and timeline lines, as platform-neutral `Post`s and text.

Titles, summaries, impacts, resolutions and message texts are outside text (typed by people):
they stay plain `str` pieces in a Post, which the chat target escapes; people are shown as
mentions inside `Own` pieces, and no post pings anyone unless its `mentions` say so (only the
first message in a new space does, for the invitees).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from netbot.chat import Accent, Field, Mentions, Own, Piece, Post, Text
from netbot.core.text import clip, outside
from netbot.incidents.config import IncidentsConfig
from netbot.incidents.records import Incident, TimelineEntry

TOPIC_MAX = 1024
NOTICE_MAX = 1000


def person(user_id: int | None) -> Own:
    """A mention that shows a name and pings nobody (allowed_mentions stays empty)."""
    return Own(f"<@{user_id}>" if user_id else "nobody")


def when(moment: dt.datetime, tz: ZoneInfo) -> str:
    """A time with its date and zone, so a multi-day timeline reads unambiguously."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def span(delta: dt.timedelta) -> str:
    """ "2d 3h 4m", "5h 0m", "12m": a duration as people read it."""
    minutes = max(int(delta.total_seconds()) // 60, 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


class Messages:
    """The service's wording, for one configuration (status names, time zone)."""

    def __init__(self, settings: IncidentsConfig, tz: ZoneInfo) -> None:
        self.settings = settings
        self.tz = tz

    def status(self, stage: str) -> str:
        return self.settings.statuses.of(stage)

    def topic(self, incident: Incident, quote: Callable[[str, int], str] = outside) -> str:
        """Set once at creation (Discord rate-limits topic edits like renames): what does
        not change, and where the live state is. `quote` makes the title safe where the
        topic is shown: Discord Markdown by default; `clip` (the raw title) for a mirror
        that escapes for its own platform."""
        text = (
            f"Incident #{incident.id}: {quote(incident.title, 200)} | declared "
            f"{when(incident.declared_at, self.tz)} as {incident.severity} | live status, "
            "severity and lead: the headline post and /incident timeline"
        )
        return clip(text, TOPIC_MAX)

    def headline(self, incident: Incident, now: dt.datetime) -> Post:
        """The one post per incident in the headline channel, edited on every change."""
        title: Text = (Own(f"#{incident.id} "), incident.title)
        if incident.private:  # the headline channel is public: title and details stay inside
            title = Own(f"#{incident.id} Private incident")
        fields = [
            Field(Own("Severity"), incident.severity, inline=True),
            Field(Own("Status"), Own(self.status(incident.status)), inline=True),
            Field(Own("Lead"), person(incident.lead_id), inline=True),
            Field(Own("Comms"), person(incident.comms_id), inline=True),
            Field(Own("Duration"), Own(span(incident.duration(now))), inline=True),
        ]
        if incident.space is not None:
            fields.append(Field(Own("Space"), Own(f"<#{incident.space.space_id}>"), inline=True))
        if incident.ticket_id is not None:
            fields.append(Field(Own("Ticket"), Own(f"#{incident.ticket_id}"), inline=True))
        body: Text = ()
        if incident.private:
            body = Own("Private incident: details in its space, for the people invited.")
        else:
            if incident.summary:
                fields.append(Field(Own("Summary"), incident.summary))
            if incident.impact:
                fields.append(Field(Own("Impact"), incident.impact))
        if incident.resolution:
            fields.append(Field(Own("Resolution"), incident.resolution))
        footer = Own(f"Declared {when(incident.declared_at, self.tz)}")
        accent: Accent | None = "warning" if incident.is_active else None
        return Post(title=title, body=body, fields=tuple(fields), footer=footer, accent=accent)

    def welcome(self, incident: Incident, users: tuple[int, ...], roles: tuple[int, ...]) -> Post:
        """The space's first message: the one deliberate mention of everyone invited."""
        who = " ".join([*(f"<@{u}>" for u in users), *(f"<@&{r}>" for r in roles)])
        lead = f"<@{incident.lead_id}>" if incident.lead_id else "unclaimed"
        body: list[Piece] = [
            Own(f"**Incident #{incident.id}** ({incident.severity}): "),
            incident.title,
            Own(f"\nLead: {lead}"),
        ]
        if incident.summary:
            body += [Own("\nSummary: "), incident.summary]
        if incident.impact:
            body += [Own("\nImpact: "), incident.impact]
        if who:
            body.append(Own(f"\nInvited: {who}"))
        return Post(body=tuple(body), mentions=Mentions(users=users, roles=roles))

    def notice(self, entry: TimelineEntry) -> Post:
        """A recorded change, said in the space (nobody pinged)."""
        return Post(body=self.entry_text(entry))

    def entry_text(self, entry: TimelineEntry) -> tuple[Piece, ...]:
        """One timeline entry as chat text (without its time)."""
        if entry.kind == "change":
            return self._change(entry)
        parts: list[Piece]
        if entry.kind == "message":
            parts = [entry.author_name or "someone", Own(": ")]
        else:
            label = "Action item: " if entry.kind == "action" else "Note: "
            parts = [Own(label), person(entry.actor_id), Own(": ")]
        parts.append(clip(entry.text, NOTICE_MAX))
        if entry.attachments:
            parts += [Own(" (attachments: "), " ".join(entry.attachments), Own(")")]
        return tuple(parts)

    def _change(self, entry: TimelineEntry) -> tuple[Piece, ...]:
        what = entry.field or "?"
        by = person(entry.actor_id)
        if what == "declared":
            return (Own("Declared by "), by, Own(f" as {entry.new or '?'}"))
        if what in ("lead", "comms"):
            new = person(int(entry.new)) if entry.new else Own("nobody")
            return (Own(f"{what.capitalize()}: "), new, Own(" (set by "), by, Own(")"))
        if what == "status":
            old, new_status = self.status(entry.old or ""), self.status(entry.new or "")
            arrow = Own(f"Status: {old} \N{RIGHTWARDS ARROW} {new_status} by ")
            reason: tuple[Piece, ...] = (Own(": "), entry.text) if entry.text else ()
            return (arrow, by, *reason)
        return (
            Own(f"{what.capitalize()} set by "),
            by,
            Own(": "),
            clip(entry.new or "", NOTICE_MAX),
        )

    def timeline_line(self, entry: TimelineEntry) -> tuple[Piece, ...]:
        """`2026-12-03 10:04 CET` and the entry: a timeline line with its date and zone."""
        return (Own(f"`{when(entry.at, self.tz)}` "), *self.entry_text(entry))

    def reminder(self, incident: Incident, kind: str, count: int, now: dt.datetime) -> Post:
        """A reminder of the service's own (update, lead, close, post-mortem)."""
        age = span(incident.duration(now))
        texts = {
            "update": f"Reminder: post an update (status, summary or a note) for incident "
            f"#{incident.id}; it has been running {age}.",
            "lead": f"Reminder: incident #{incident.id} has no lead. Claim it with /incident lead.",
            "close": f"Reminder: incident #{incident.id} is "
            f"{self.status('resolved').lower()} but not closed; close it with /incident close.",
            "postmortem": f"Reminder: incident #{incident.id} has no post-mortem yet; write it "
            "with /incident postmortem.",
        }
        return Post(body=Own(texts[kind] + (f" (reminder {count})" if count > 1 else "")))
