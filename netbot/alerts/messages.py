"""What an alert says, as plain data: title, map link, description and analytics rows.

One `AlertMessage` serves every target (Discord embeds here; Slack and others through
`as_text`). The rows follow Disaster Ninja's notification spec: urban core, total population,
industrial area, forest area, and wildfire days for wildfires only; a row whose values both
format to 0 is hidden, and a "currently"/"from beginning" pair that formats the same is
shown once. Numbers use DN's `#,###.##` pattern.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from netbot.alerts.events import DisasterEvent

MAP_LINK = "https://disaster.ninja/active/?event={event_id}"


@dataclass(frozen=True)
class AlertMessage:
    event_id: str
    title: str
    link: str
    description: str | None
    rows: list[str]


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
    prefix = "[Update] " if event.version > 1 else ""
    return AlertMessage(
        event_id=event.event_id,
        title=f"{prefix}{event.name}",
        link=MAP_LINK.format(event_id=event.event_id),
        description=event.description,
        rows=rows(event),
    )


def us_date(day: dt.date) -> str:
    return day.strftime("%m/%d/%Y")


def digest_header(day: dt.date) -> str:
    return f"Disaster digest for {us_date(day)} (no severe events happened during this time)"


def good_news(day: dt.date) -> str:
    return f"Good news! No extreme or severe events happened for {us_date(day)}"


def as_text(message: AlertMessage) -> str:
    """The message as plain text with a Markdown link, for targets without embeds."""
    parts = [f"[{message.title}]({message.link})"]
    if message.description:
        parts.append(message.description)
    parts.extend(message.rows)
    return "\n".join(parts)


def digest_text(header: str, events: list[DisasterEvent]) -> str:
    lines = [header] + [
        f"{n}. [{e.name}]({MAP_LINK.format(event_id=e.event_id)})" for n, e in enumerate(events, 1)
    ]
    return "\n".join(lines)
