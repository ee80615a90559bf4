"""AlertState to and from JSON: the bot's database document and the fixtures' state file.

The whole state is one JSON document in the `state` table, written in one transaction, so a
crash leaves either the old or the new state, never a mix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from netbot.alerts.rules import AlertState
from netbot.core.db import Database
from netbot.core.times import iso_utc, parse_time

NAMESPACE, KEY = "alerts", "state"


def to_json(state: AlertState) -> dict[str, Any]:
    return {
        "cursors": {feed: iso_utc(t) for feed, t in state.cursors.items()},
        "last_notified": {event: iso_utc(t) for event, t in state.last_notified.items()},
        "notification_days": sorted(d.isoformat() for d in state.notification_days),
        "last_digest_day": state.last_digest_day.isoformat() if state.last_digest_day else None,
    }


def from_json(data: dict[str, Any]) -> AlertState:
    digest_day = data.get("last_digest_day")
    return AlertState(
        cursors={feed: parse_time(t) for feed, t in data.get("cursors", {}).items()},
        last_notified={event: parse_time(t) for event, t in data.get("last_notified", {}).items()},
        notification_days=frozenset(
            dt.date.fromisoformat(d) for d in data.get("notification_days", [])
        ),
        last_digest_day=dt.date.fromisoformat(digest_day) if digest_day else None,
    )


def from_fixture(data: dict[str, Any], feed: str) -> AlertState:
    """The state file format of the fixtures (`bot_state_before_page1.json`): one cursor."""
    cursor = data.get("cursorUpdatedAt")
    return AlertState(
        cursors={feed: parse_time(cursor)} if cursor else {},
        last_notified={event: parse_time(t) for event, t in data.get("lastNotifiedAt", {}).items()},
        notification_days=frozenset(
            dt.date.fromisoformat(d) for d in data.get("notificationDays", [])
        ),
    )


def load(db: Database) -> AlertState:
    data = db.get_state(NAMESPACE, KEY)
    return from_json(data) if isinstance(data, dict) else AlertState()


def save(db: Database, state: AlertState) -> None:
    db.set_state(NAMESPACE, KEY, to_json(state))
