"""A Kontur Event API event, reduced to what the rules and the messages read.

The Event API returns rich nested JSON; `parse_event` picks the few fields netbot uses and
checks their types once, so the rules engine and the messages work on typed values and never
trip on what a feed sent. An event that does not check out is refused with a one-line reason:
the caller logs it, counts it and moves past it, so one malformed event never stops the feed.

The CURRENT severity and the exposed population come from the latest episode: the event-level
`severity` is the maximum over all episodes, which would keep notifying about events that have
since calmed down. The latest episode is the one updated last, as the API's LATEST filter picks
it (`order by updatedAt desc limit 1`); without that filter episodes come oldest first, so
their position says nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from netbot.core.times import parse_time

#: Kontur event ids are UUIDs; a longer id is refused (the map link must fit Discord's 2048).
MAX_EVENT_ID = 100
#: No count or area on Earth comes near this; a bigger number is a broken feed, not a disaster.
MAX_NUMBER = 1e15
#: The analytics the messages and rules read, in episodeDetails and eventDetails.
ANALYTICS_KEYS = (
    "population",
    "populatedAreaKm2",
    "totalPopulatedAreaKm2",
    "urbanCorePopulation",
    "urbanCoreAreaKm2",
    "industrialAreaKm2",
    "forestAreaKm2",
    "hotspotDaysPerYearMax",
)
_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


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
    episode_details: dict[str, float] | None  # latest episode's analytics; None = not enriched
    event_details: dict[str, float]  # analytics "from the beginning"
    raw: dict[str, Any] = field(compare=False, repr=False)
    has_episode: bool = True


class EventProblem(ValueError):
    """Why a feed element is no usable event; `event_id` when it had a usable one."""

    def __init__(self, why: str, event_id: str | None = None) -> None:
        super().__init__(why)
        self.event_id = event_id

    def line(self, index: int) -> str:
        """One log line naming the event (or, without a usable id, its place on the page)."""
        return f"event {self.event_id}: {self}" if self.event_id else f"data[{index}]: {self}"


def number(value: Any) -> float | None:
    """A finite JSON number within MAX_NUMBER as a float, else None (booleans are no numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > MAX_NUMBER:  # float() of 10**400 overflows
        return None
    result = float(value)
    return result if math.isfinite(result) and abs(result) <= MAX_NUMBER else None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(container: dict[str, Any], key: str) -> str | None:
    """The text under `key`; None when absent, null or empty; ValueError for anything else."""
    value = container.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise ValueError(f"{key} is a {_kind(value)}, not text")


def _time(container: dict[str, Any], key: str) -> dt.datetime | None:
    value = container.get(key)
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(f"{key} is not a usable timestamp") from None


def _analytics(container: dict[str, Any], key: str) -> dict[str, float] | None:
    """The known analytics of `container[key]` as numbers; null values are left out."""
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{key} is a {_kind(value)}, not an object")
    result = {}
    for name in ANALYTICS_KEYS:
        if value.get(name) is None:
            continue
        if (amount := number(value[name])) is None:
            raise ValueError(f"{key}.{name} is not a number within ±{MAX_NUMBER:.0e}")
        result[name] = amount
    return result


def _version(raw: dict[str, Any]) -> int:
    value = raw.get("version")
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValueError("version is not a whole number within 0..2^31")
    return value


def _ordering_time(episode: dict[str, Any], key: str) -> dt.datetime:
    try:
        return parse_time(episode.get(key))
    except ValueError:
        return _EPOCH


def latest_episode(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The episode updated last (then ended, then started last), or None without episodes."""
    episodes = raw.get("episodes") if isinstance(raw, dict) else None
    candidates = [e for e in episodes if isinstance(e, dict)] if isinstance(episodes, list) else []
    return max(
        candidates,
        key=lambda e: tuple(_ordering_time(e, k) for k in ("updatedAt", "endedAt", "startedAt")),
        default=None,
    )


def _episode(raw: dict[str, Any]) -> dict[str, Any] | None:
    episodes = raw.get("episodes")
    if episodes is None:
        return None
    if not isinstance(episodes, list) or not all(isinstance(e, dict) for e in episodes):
        raise ValueError("episodes is not a list of objects")
    return latest_episode(raw)


def _event_id(raw: dict[str, Any]) -> str:
    event_id = raw.get("eventId")
    if not isinstance(event_id, str) or not event_id:
        raise ValueError("no eventId")
    if len(event_id) > MAX_EVENT_ID:
        raise ValueError(
            f"eventId {event_id[:40]!r}… is {len(event_id)} characters (at most {MAX_EVENT_ID})"
        )
    return event_id


def parse_event(raw: Any) -> DisasterEvent:
    """A DisasterEvent from one element of the API's `data`; EventProblem says what is wrong."""
    if not isinstance(raw, dict):
        raise EventProblem(f"a {_kind(raw)}, not an object")
    try:
        event_id = _event_id(raw)
    except ValueError as exc:
        raise EventProblem(str(exc)) from None
    try:
        updated_at = _time(raw, "updatedAt")
        if updated_at is None:
            raise ValueError("no updatedAt")
        latest = _episode(raw)
        current = latest or {}
        return DisasterEvent(
            event_id=event_id,
            version=_version(raw),
            name=_text(raw, "name") or _text(current, "name") or "Unnamed event",
            description=_text(raw, "description") or _text(current, "description"),
            type=_text(raw, "type") or _text(current, "type") or "OTHER",
            severity=_text(current, "severity") or _text(raw, "severity") or "UNKNOWN",
            max_severity=_text(raw, "severity") or "UNKNOWN",
            updated_at=updated_at,
            started_at=_time(raw, "startedAt"),
            ended_at=_time(raw, "endedAt"),
            episode_details=_analytics(current, "episodeDetails"),
            event_details=_analytics(raw, "eventDetails") or {},
            raw=raw,
            has_episode=latest is not None,
        )
    except ValueError as exc:
        raise EventProblem(str(exc), event_id) from None


def parse_events(data: list[Any]) -> tuple[list[DisasterEvent], list[str]]:
    """Every usable event, and one problem line per element that is not."""
    events, problems = [], []
    for index, item in enumerate(data):
        try:
            events.append(parse_event(item))
        except EventProblem as problem:
            problems.append(problem.line(index))
    return events, problems


def page_warning(events: list[DisasterEvent]) -> str | None:
    """Why a page is suspect as a whole: none of its events carries an episode.

    The Event API sends no episodes unless asked for LATEST; without them every event looks
    unenriched and is skipped for "no population", silently. One warning says why instead.
    """
    if not events or any(e.has_episode for e in events):
        return None
    return (
        f"none of the page's {len(events)} event(s) carries an episode, so no current "
        "severity or population is known (was episodeFilterType=LATEST applied?)"
    )
