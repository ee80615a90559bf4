"""What an alert says, as plain data: title, map link, description and analytics rows.

One `AlertMessage` serves every target: `alert_post`, `digest_post` and `good_news_post` turn
it into platform-neutral `netbot.chat.Post`s, which each chat target renders (`as_text` is the
plain-Markdown rendering). The rows follow Disaster Ninja's notification spec: urban core, total population,
industrial area, forest area, and wildfire days for wildfires only; a row whose values both
format to 0 is hidden, and a "currently"/"from beginning" pair that formats the same is
shown once. Numbers use DN's `#,###.##` pattern.

A message holds plain text, and so do its Posts: only netbot's own words (a prefix, a header)
are marked `Own`; the target escapes the rest (Discord: `netbot.core.text.outside`), so an
event name containing `](` cannot close the bot's own link and a description cannot carry a
masked link. The Markdown renderings here (`markdown_title`, `markdown_body`, `as_text`,
the digest) escape the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from netbot.alerts.events import DisasterEvent
from netbot.chat import Link, Own, Piece, Post, Text
from netbot.chat.markdown import render

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


SAMPLE = AlertMessage(
    event_id="sample",
    prefix="[Test] ",
    name="Orange flood alert in Exampleland",
    link="https://disaster.ninja/active/",
    description="A sample alert from /alerts test: if you can read this, alerts reach this channel.",
    rows=["Total population: 12,345 people on 67.8 km².", "Forest area: 9.1 km²."],
)


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


def title_text(message: AlertMessage) -> Text:
    """The title as chat text: netbot's prefix and suffix around the feed's name, which is
    what gives way when the title is too long."""
    return (Own(message.prefix), message.name, Own(message.suffix))


def body_text(message: AlertMessage) -> Text:
    """Description, then one row a line; all outside text (rows carry the feed's numbers).
    The description comes first, so it is what gives way when the body is too long."""
    parts: list[Piece] = [message.description] if message.description else []
    for row in message.rows:
        parts.extend([Own("\n"), row] if parts else [row])
    return tuple(parts)


def alert_post(message: AlertMessage) -> Post:
    """An alert: the name links to the map; description and rows fill the body."""
    return Post(
        title=title_text(message), link=message.link, body=body_text(message), accent="warning"
    )


def digest_post(header: str, messages: list[AlertMessage]) -> Post:
    """The digest: netbot's header, then one numbered link per event (as many as fit)."""
    return Post(title=Own(header), listing=tuple(Link(title_text(m), m.link) for m in messages))


def good_news_post(day: dt.date) -> Post:
    """The day's good news, as a plain message."""
    return Post(body=Own(good_news(day)))


def markdown_title(message: AlertMessage, room: int | None = None) -> str:
    """The title as Markdown, the feed's name escaped; at most `room` characters."""
    return render(title_text(message), room)


def markdown_body(message: AlertMessage, room: int | None = None) -> str:
    """Description and rows as Markdown, all escaped; the description is cut first when
    `room` is short."""
    return render(body_text(message), room)


def as_text(message: AlertMessage) -> str:
    """The message as Markdown text with a link, for targets without embeds."""
    return "\n".join(
        part
        for part in (f"[{markdown_title(message)}]({message.link})", markdown_body(message))
        if part
    )
