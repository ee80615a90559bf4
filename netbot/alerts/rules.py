"""Disaster Ninja's notification rules as pure functions over events, state and "now".

Nothing here does I/O or reads a clock, so the bot, the replay command and the tests get the
same answers for the same inputs. The rules (see the fixtures' README for the source):
0. ignore events dated more than FUTURE_ALLOWANCE ahead of now;
1. skip events whose updatedAt is at or before the feed's cursor (already processed);
2. the type must be one of the configured types;
3. the CURRENT severity (latest episode) must be one of the configured severities;
4. the latest episode's population must be >= the minimum (no enrichment: skip);
5. skip events that ended more than `ended_max_days` ago;
6. optionally skip names starting with a configured prefix (e.g. "Green");
7. at most one notification per event per calendar day in the configured time zone.
Digest: on a day with no notification, events of the digest severities updated in the last
24 hours (type and name filters apply, population does not), oldest first, at most N.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from netbot.alerts.config import AlertsConfig
from netbot.alerts.events import DisasterEvent

KEEP_NOTIFIED_DAYS = 8  # one-per-day needs only today; a week more helps operators
#: How far ahead of our clock a feed date may be (clock skew); anything later is ignored, as a
#: cursor moved to year 9999 would silence the feed for good.
FUTURE_ALLOWANCE = dt.timedelta(minutes=10)
ALREADY_TODAY = "already notified today"
AHEAD_REASON = f"updatedAt is more than {FUTURE_ALLOWANCE.seconds // 60} minutes ahead of now"


@dataclass(frozen=True)
class Rules:
    types: frozenset[str]
    severities: frozenset[str]
    min_population: int
    ended_max_days: int
    skip_name_prefixes: tuple[str, ...]
    digest_severities: frozenset[str]
    digest_max_events: int
    tz: ZoneInfo

    @classmethod
    def from_config(cls, alerts: AlertsConfig, timezone: str = "UTC") -> Rules:
        return cls(
            types=frozenset(alerts.types),
            severities=frozenset(alerts.severities),
            min_population=alerts.min_population,
            ended_max_days=alerts.ended_max_days,
            skip_name_prefixes=tuple(alerts.skip_name_prefixes),
            digest_severities=frozenset(alerts.digest_severities),
            digest_max_events=alerts.digest_max_events,
            tz=ZoneInfo(timezone),
        )

    def day(self, moment: dt.datetime) -> dt.date:
        """The calendar day of `moment` in the configured time zone."""
        return moment.astimezone(self.tz).date()


@dataclass
class AlertState:
    """What must survive a restart: cursors, when each event was last notified, which days
    had notifications, and the last day a digest went out. The functions here never change
    one; the engine updates its own copy in place, row by row as it saves them (copying
    thousands of notifications per post is what made a busy poll quadratic)."""

    cursors: dict[str, dt.datetime] = field(default_factory=dict)
    last_notified: dict[str, dt.datetime] = field(default_factory=dict)
    notification_days: frozenset[dt.date] = frozenset()
    last_digest_day: dt.date | None = None


@dataclass(frozen=True)
class PollOutcome:
    """Each event with the reason it was skipped (None: notify), oldest first; the new state."""

    decisions: list[tuple[DisasterEvent, str | None]]
    state: AlertState

    @property
    def notify(self) -> list[DisasterEvent]:
        return [event for event, reason in self.decisions if reason is None]


def skip_reason(
    event: DisasterEvent, state: AlertState, now: dt.datetime, rules: Rules, feed: str
) -> str | None:
    """Why `event` gets no notification now, or None if it gets one."""
    cursor = state.cursors.get(feed)
    if cursor is not None and event.updated_at <= cursor:
        return "already processed: updatedAt is at or before the cursor"
    if event.type not in rules.types:
        return f"type {event.type} is not notified"
    if event.severity not in rules.severities:
        return f"current severity {event.severity} is not notified"
    population = (event.episode_details or {}).get("population")
    if population is None:
        return "no enrichment: the latest episode has no population"
    if population < rules.min_population:
        return f"latest episode population {population} is below {rules.min_population}"
    if event.ended_at is not None and event.ended_at < now - dt.timedelta(
        days=rules.ended_max_days
    ):
        return f"ended more than {rules.ended_max_days} days ago"
    if event.name.startswith(rules.skip_name_prefixes):
        return "name starts with a skipped prefix"
    last = state.last_notified.get(event.event_id)
    if last is not None and rules.day(last) == rules.day(now):
        return ALREADY_TODAY
    return None


def poll(
    events: list[DisasterEvent], state: AlertState, now: dt.datetime, rules: Rules, feed: str
) -> PollOutcome:
    """Apply the rules to one poll's events (any order), oldest first; the new state records
    the notifications and moves the cursor to the newest updatedAt seen that is not ahead of
    now (plus FUTURE_ALLOWANCE). Linear in the page plus one pass over `state`: the events
    notified in this poll are kept aside and the state is copied and pruned once."""
    decisions: list[tuple[DisasterEvent, str | None]] = []
    notified_now: set[str] = set()
    horizon = now + FUTURE_ALLOWANCE
    for event in sorted(events, key=lambda e: e.updated_at):
        if event.updated_at > horizon:
            decisions.append((event, AHEAD_REASON))
            continue
        reason = skip_reason(event, state, now, rules, feed)
        if reason is None and event.event_id in notified_now:
            reason = ALREADY_TODAY  # an earlier version of it in this page, notified just now
        elif reason is None:
            notified_now.add(event.event_id)
        decisions.append((event, reason))
    newest = max((e.updated_at for e in events if e.updated_at <= horizon), default=None)
    return PollOutcome(
        decisions, advance(notified_all(state, notified_now, now, rules), feed, newest)
    )


def forget_before(now: dt.datetime, rules: Rules) -> tuple[dt.datetime, dt.date]:
    """What is old enough to forget at `now`: notifications before the first value, days
    before the second."""
    horizon = now - dt.timedelta(days=KEEP_NOTIFIED_DAYS)
    return horizon, rules.day(horizon)


def notified(state: AlertState, event_id: str, now: dt.datetime, rules: Rules) -> AlertState:
    """The state after a notification about `event_id` went out at `now`."""
    return notified_all(state, (event_id,), now, rules)


def notified_all(
    state: AlertState, event_ids: Collection[str], now: dt.datetime, rules: Rules
) -> AlertState:
    """The state after notifications about `event_ids` went out at `now`, what is older than
    KEEP_NOTIFIED_DAYS forgotten: one copy, however many notifications."""
    horizon, first_day = forget_before(now, rules)
    last = {k: v for k, v in state.last_notified.items() if v >= horizon}
    last.update(dict.fromkeys(event_ids, now))
    days = frozenset(d for d in state.notification_days if d >= first_day)
    if event_ids:
        days |= {rules.day(now)}
    return replace(state, last_notified=last, notification_days=days)


def advance(state: AlertState, feed: str, newest: dt.datetime | None) -> AlertState:
    """Move the feed's cursor forward to `newest` (never backwards)."""
    cursor = state.cursors.get(feed)
    if newest is None or (cursor is not None and newest <= cursor):
        return state
    return replace(state, cursors={**state.cursors, feed: newest})


def digest_due(state: AlertState, now: dt.datetime, rules: Rules) -> bool:
    """A digest goes out once on a day that had no notification."""
    today = rules.day(now)
    return today not in state.notification_days and state.last_digest_day != today


def digest_events(
    events: list[DisasterEvent], now: dt.datetime, rules: Rules
) -> list[DisasterEvent]:
    """The digest's events: digest severities, updated within 24 h, oldest first, capped."""
    since = now - dt.timedelta(hours=24)
    newest = {
        e.event_id: e for e in sorted(events, key=lambda e: e.updated_at)
    }  # latest version wins
    chosen = [
        e
        for e in newest.values()
        if e.type in rules.types
        and e.severity in rules.digest_severities
        and since <= e.updated_at <= now
        and not e.name.startswith(rules.skip_name_prefixes)
    ]
    return sorted(chosen, key=lambda e: e.updated_at)[: rules.digest_max_events]
