"""What an alert says, as plain data: title, map link, description and analytics rows.

One `AlertMessage` serves every target (Discord embeds here; Slack and others through
`as_text`). The rows follow Disaster Ninja's notification spec: urban core, total population,
industrial area, forest area, and wildfire days for wildfires only; a row whose values both
format to 0 is hidden, and a "currently"/"from beginning" pair that formats the same is
shown once. Numbers use DN's `#,###.##` pattern.

A message holds plain text; every rendering into Markdown (`markdown_title`, `markdown_body`,
`as_text`, `digest_text`) escapes the feed's text with `netbot.core.text.outside`, so an event name
containing `](` cannot close the bot's own link and a description cannot carry a masked link.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from netbot.alerts.events import DisasterEvent
from netbot.core.text import clip, outside

MAP_LINK = "https://disaster.ninja/active/?event={event_id}"


def map_link(event_id: str) -> str:
    """The event's Disaster Ninja map; the id is URL-quoted, so it cannot end a Markdown link."""
    return MAP_LINK.format(event_id=quote(event_id, safe=""))


@dataclass(frozen=True)
class AlertMessage:
    """One alert as plain text. The title is `prefix + name + suffix`: `name` comes from the
    feed, `prefix` and `suffix` are netbot's own (`[Update] `, a magnitude...)."""

    event_id: str
    name: str
    link: str
    description: str | None
    rows: list[str]
    prefix: str = ""
    suffix: str = ""

    @property
    def title(self) -> str:
        return f"{self.prefix}{self.name}{self.suffix}"

    def as_dict(self) -> dict[str, Any]:
        """The message as JSON data (the replay command prints it)."""
        return {"event_id": self.event_id, "title": self.title, "link": self.link,
                "description": self.description, "rows": self.rows}  # fmt: skip


def number(value: Any) -> str:
    """DN's `#,###.##`: thousands separators, at most two decimals, no trailing zeros."""
    text = f"{float(value or 0):,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pair(label: str, current: Any, total: Any, unit: str, labels: tuple[str, str]) -> str | None:
    now, since = number(current), number(total)
    if now == "0" and since == "0":
        return None
    if now == since:
        return f"{label}: {now}{unit}."
    return f"{label}: {now}{unit} ({labels[0]}), {since}{unit} ({labels[1]})."


def _people(label: str, people: Any, area: Any) -> str | None:
    if number(people) == "0" and number(area) == "0":
        return None
    return f"{label}: {number(people)} people on {number(area)} km²."


def rows(event: DisasterEvent) -> list[str]:
    current = event.episode_details or {}
    total = event.event_details
    area = current.get("totalPopulatedAreaKm2")
    if area is None:  # the 2021 key; the live one since Nov 2021 is populatedAreaKm2
        area = current.get("populatedAreaKm2")
    candidates = [
        _people("Urban core", current.get("urbanCorePopulation"), current.get("urbanCoreAreaKm2"))
        if "urbanCorePopulation" in current or "urbanCoreAreaKm2" in current
        else None,
        _people("Total population", current.get("population"), area),
        _pair(
            "Industrial area",
            current.get("industrialAreaKm2"),
            total.get("industrialAreaKm2"),
            " km²",
            ("currently", "from beginning"),
        ),
        _pair(
            "Forest area",
            current.get("forestAreaKm2"),
            total.get("forestAreaKm2"),
            " km²",
            ("currently", "from beginning"),
        ),
    ]
    if event.type == "WILDFIRE":
        candidates.append(
            _pair(
                "Wildfire days in last year",
                current.get("hotspotDaysPerYearMax"),
                total.get("hotspotDaysPerYearMax"),
                "",
                ("episode", "event"),
            )
        )
    return [row for row in candidates if row]


def alert_message(event: DisasterEvent) -> AlertMessage:
    return AlertMessage(
        event_id=event.event_id,
        name=event.name,
        link=map_link(event.event_id),
        description=event.description,
        rows=rows(event),
        prefix="[Update] " if event.version > 1 else "",
    )


def us_date(day: dt.date) -> str:
    return day.strftime("%m/%d/%Y")


def digest_header(day: dt.date) -> str:
    return f"Disaster digest for {us_date(day)} (no severe events happened during this time)"


def good_news(day: dt.date) -> str:
    return f"Good news! No extreme or severe events happened for {us_date(day)}"


def fit(text: str, room: int) -> str:
    """`outside(text)`, cut so that the escaped result holds at most `room` characters."""
    keep = room
    while len(safe := outside(text, max(keep, 1))) > room and keep > 1:
        keep -= len(safe) - room  # each escape or defused mention adds one character
    return safe if len(safe) <= room else ""


def markdown_title(message: AlertMessage, room: int | None = None) -> str:
    """The title as Markdown, the feed's name escaped; at most `room` characters."""
    if room is None:
        return f"{message.prefix}{outside(message.name)}{message.suffix}"
    name_room = room - len(message.prefix) - len(message.suffix)
    return clip(f"{message.prefix}{fit(message.name, name_room)}{message.suffix}", room)


def markdown_body(message: AlertMessage, room: int | None = None) -> str:
    """Description and rows as Markdown, all escaped (rows carry the feed's numbers); the
    description is cut first when `room` is short."""
    rows_text = "\n".join(outside(row) for row in message.rows)
    if not message.description:
        return rows_text if room is None else clip(rows_text, room)
    if room is None:
        description = outside(message.description)
    else:
        description = fit(message.description, room - len(rows_text) - bool(rows_text))
    body = "\n".join(part for part in (description, rows_text) if part)
    return body if room is None else clip(body, room)


def as_text(message: AlertMessage) -> str:
    """The message as Markdown text with a link, for targets without embeds."""
    return "\n".join(
        part
        for part in (f"[{markdown_title(message)}]({message.link})", markdown_body(message))
        if part
    )


def digest_text(header: str, events: list[DisasterEvent]) -> str:
    lines = [header] + [
        f"{n}. [{outside(e.name)}]({map_link(e.event_id)})" for n, e in enumerate(events, 1)
    ]
    return "\n".join(lines)
