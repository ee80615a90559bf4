"""A Kontur Event API event, reduced to what the rules and the messages read.

The Event API returns rich nested JSON; `parse_event` picks the few fields netbot uses and
checks them once, so the rules engine works on typed values and never trips on a missing key.
The CURRENT severity and the exposed population come from the latest episode
(`episodes[0]` with episodeFilterType=LATEST): the event-level `severity` is the maximum
over all episodes, which would keep notifying about events that have since calmed down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from netbot.alerts.timeparse import parse_time


@dataclass(frozen=True)
class DisasterEvent:
    event_id: str
    version: int
    name: str
    description: str | None
    type: str
    severity: str  # current: the latest episode's
    max_severity: str  # the event's: the maximum over all episodes
    updated_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    episode_details: dict[str, Any] | None  # latest episode's analytics; None = not enriched
    event_details: dict[str, Any]  # analytics "from the beginning"
    raw: dict[str, Any] = field(compare=False, repr=False)


def _time(value: Any) -> dt.datetime | None:
    return parse_time(value) if isinstance(value, str) and value else None


def _mapping(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def parse_event(raw: dict[str, Any]) -> DisasterEvent:
    """A DisasterEvent from one element of the API's `data`; ValueError names what is wrong."""
    try:
        event_id = str(raw["eventId"])
        updated_at = parse_time(raw["updatedAt"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"event without a valid eventId/updatedAt: {exc}") from None
    episodes = raw.get("episodes") or []
    latest = episodes[0] if episodes and isinstance(episodes[0], dict) else {}
    description = raw.get("description") or latest.get("description") or None
    return DisasterEvent(
        event_id=event_id,
        version=int(raw.get("version") or 1),
        name=str(raw.get("name") or latest.get("name") or "Unnamed event"),
        description=description,
        type=str(raw.get("type") or latest.get("type") or "OTHER"),
        severity=str(latest.get("severity") or raw.get("severity") or "UNKNOWN"),
        max_severity=str(raw.get("severity") or "UNKNOWN"),
        updated_at=updated_at,
        started_at=_time(raw.get("startedAt")),
        ended_at=_time(raw.get("endedAt")),
        episode_details=_mapping(latest.get("episodeDetails")),
        event_details=_mapping(raw.get("eventDetails")) or {},
        raw=raw,
    )


def parse_events(data: list[Any]) -> tuple[list[DisasterEvent], list[str]]:
    """Every parsable event, and one problem line per element that is not."""
    events, problems = [], []
    for index, item in enumerate(data):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            events.append(parse_event(item))
        except ValueError as exc:
            problems.append(f"data[{index}]: {exc}")
    return events, problems
