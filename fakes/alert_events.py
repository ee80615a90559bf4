"""Synthetic Kontur Event API events for tests and benches, in the API's dict shape.

`make_event` returns one element of the API's `data` (what `parse_event` reads); `event`
parses it. All values are invented; only the key names follow the API. Times are given as
aware datetimes (or ISO text) and written the way the API writes them: `Z` by default, or
`+00:00` with `offset="+00:00"`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from netbot.alerts.events import DisasterEvent, parse_event

NOW = dt.datetime(2025, 3, 14, 12, 0, 30, tzinfo=dt.UTC)

_DEFAULT = object()


def iso(moment: dt.datetime | str | None, offset: str = "Z") -> str | None:
    """API text for `moment`: UTC, milliseconds, and `Z` or the given offset suffix."""
    if moment is None or isinstance(moment, str):
        return moment
    utc = moment.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"
    return text + ("Z" if offset == "Z" else offset)


def details(population: float | None = 10000, **extra: Any) -> dict[str, Any]:
    """An episodeDetails dict; `population=None` leaves the key out."""
    result: dict[str, Any] = {} if population is None else {"population": population}
    result.update(extra)
    return result


def make_event(
    event_id: str = "00000000-0000-4000-8000-000000000001",
    *,
    type: str = "FLOOD",
    severity: str = "SEVERE",
    current_severity: str | None = None,
    population: float | None = 10000,
    updated_at: dt.datetime | str = NOW - dt.timedelta(minutes=5),
    started_at: dt.datetime | str | None = NOW - dt.timedelta(days=1),
    ended_at: dt.datetime | str | None = None,
    version: int = 1,
    name: str | None = None,
    description: str | None = "A synthetic event.",
    episode_details: Any = _DEFAULT,
    event_details: dict[str, Any] | None = None,
    episode_description: str | None = None,
    offset: str = "Z",
) -> dict[str, Any]:
    """One synthetic event. The latest episode's severity is `current_severity` (default:
    `severity`); its episodeDetails is `episode_details` if given (None: null), else
    `{"population": population}` (population None: an empty dict)."""
    if episode_details is _DEFAULT:
        episode_details = details(population)
    name = name if name is not None else f"Synthetic {type.lower()} {event_id[-4:]}"
    episode = {
        "name": name,
        "description": episode_description,
        "type": type,
        "severity": current_severity or severity,
        "startedAt": iso(started_at, offset),
        "endedAt": iso(ended_at, offset),
        "updatedAt": iso(updated_at, offset),
        "sourceUpdatedAt": iso(updated_at, offset),
        "active": ended_at is None,
        "episodeDetails": episode_details,
        "geometries": {"type": "FeatureCollection", "features": []},
    }
    return {
        "eventId": event_id,
        "version": version,
        "name": name,
        "properName": None,
        "description": description,
        "type": type,
        "severity": severity,
        "active": ended_at is None,
        "startedAt": iso(started_at, offset),
        "endedAt": iso(ended_at, offset),
        "updatedAt": iso(updated_at, offset),
        "location": "Nowhere",
        "urls": [],
        "loss": {},
        "severityData": {},
        "eventDetails": event_details if event_details is not None else {},
        "observations": [],
        "episodes": [episode],
        "bbox": [0.0, 0.0, 1.0, 1.0],
        "centroid": [0.5, 0.5],
    }


def event(event_id: str = "00000000-0000-4000-8000-000000000001", **kwargs: Any) -> DisasterEvent:
    """`make_event(...)` parsed into a DisasterEvent."""
    return parse_event(make_event(event_id, **kwargs))
