"""The alert state in the database: rows in the alerts capability's own tables.

Why rows, and when they are written (the at-most-once argument):
- after each post that went out, ONE small transaction records that event's notification
  (its `alert_notifications` row and today's `alert_days` row, and the quakes document when
  it is a quake). A crash after the post and before this record repeats that one post on
  restart, as before; a crash after it repeats nothing, since the one-per-day rule finds it;
- at the end of a poll, ONE transaction moves the feed's cursor and forgets notifications and
  days older than `rules.KEEP_NOTIFIED_DAYS` (a DELETE by an indexed time, not a rewrite). A
  crash before it loses nothing: the page is read again from the old cursor and the
  notifications recorded already drop what was sent.
So a poll costs one small write per post plus one at its end, never a rewrite of everything
notified in the last week (the single JSON document this replaced, which was rewritten after
every post: quadratic in a busy page). The old document is moved into these rows by the
branch's first migration (`migrations/alerts_0001_state_rows.py`).

Each `Changes` is written in one transaction, so a crash leaves all of it or none.
Every call here blocks: run it in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from netbot.alerts.models import AlertCursor, AlertDay, AlertMeta, AlertNotification
from netbot.alerts.rules import AlertState
from netbot.chat import Post
from netbot.core.db import Database, upsert
from netbot.core.models import JsonValue

DIGEST_DAY, QUAKES = "digest_day", "quakes"  # alert_meta keys


@dataclass
class Changes:
    """What one transaction writes; `apply` makes the same change to a state in memory."""

    notified: dict[str, dt.datetime] = field(default_factory=dict)  # event id -> when
    days: set[dt.date] = field(default_factory=set)  # days with a notification
    cursors: dict[str, dt.datetime] = field(default_factory=dict)  # only ever forward
    digest_day: dt.date | None = None
    quakes: dict[str, Any] | None = None  # the quakes each source announced
    forget_before: tuple[dt.datetime, dt.date] | None = None  # see rules.forget_before
    # Posts that went out, for the mirror: (source "alerts"/"digests"/"good_news", key, post).
    mirrored: list[tuple[str, str, Post]] = field(default_factory=list)

    def apply(self, state: AlertState) -> None:
        """Change `state` in place as `save` changed the rows: O(changes), plus one pass over
        the notifications when forgetting."""
        state.last_notified.update(self.notified)
        state.cursors.update(self.cursors)
        days = state.notification_days | self.days
        if self.forget_before is not None:
            horizon, first_day = self.forget_before
            state.last_notified = {k: v for k, v in state.last_notified.items() if v >= horizon}
            days = frozenset(d for d in days if d >= first_day)
        state.notification_days = frozenset(days)
        if self.digest_day is not None:
            state.last_digest_day = self.digest_day


class PostMirror(Protocol):
    """Where a post that went out is also mirrored (the Slack bridge's outbox): called inside
    the transaction that records the post, so the mirror is kept exactly when the record is."""

    def post(self, session: Session, source: str, key: str, post: Post) -> None: ...


def save(db: Database, changes: Changes, mirror: PostMirror | None = None) -> None:
    """Write `changes` in one transaction (with their mirrors, when there is a `mirror`)."""
    with db.session() as session:
        if mirror is not None:
            for source, key, post in changes.mirrored:
                mirror.post(session, source, key, post)
        for feed, cursor in changes.cursors.items():
            upsert(session, AlertCursor, {"feed": feed, "cursor": cursor}, keys=("feed",))
        for event_id, when in changes.notified.items():
            row = {"event_id": event_id, "last_notified": when}
            upsert(session, AlertNotification, row, keys=("event_id",))
        for day in changes.days:
            if session.get(AlertDay, day) is None:
                session.add(AlertDay(day=day))
        if changes.digest_day is not None:
            row = {"key": DIGEST_DAY, "value": changes.digest_day.isoformat()}
            upsert(session, AlertMeta, row, keys=("key",))
        if changes.quakes is not None:
            upsert(session, AlertMeta, {"key": QUAKES, "value": changes.quakes}, keys=("key",))
        if changes.forget_before is not None:
            horizon, first_day = changes.forget_before
            session.execute(
                delete(AlertNotification).where(AlertNotification.last_notified < horizon)
            )
            session.execute(delete(AlertDay).where(AlertDay.day < first_day))


def load(db: Database) -> AlertState:
    """The saved state (an empty one before the first poll)."""
    with db.session() as session:
        cursors = session.execute(select(AlertCursor.feed, AlertCursor.cursor))
        notified = session.execute(
            select(AlertNotification.event_id, AlertNotification.last_notified)
        )
        digest_day = session.get(AlertMeta, DIGEST_DAY)
        return AlertState(
            cursors={feed: cursor for feed, cursor in cursors},
            last_notified={event_id: when for event_id, when in notified},
            notification_days=frozenset(session.scalars(select(AlertDay.day)).all()),
            last_digest_day=(
                dt.date.fromisoformat(str(digest_day.value)) if digest_day is not None else None
            ),
        )


def load_quakes(db: Database) -> JsonValue:
    """The quakes each source announced, as `UsgsWatch.to_json` wrote them (None if none)."""
    with db.session() as session:
        entry = session.get(AlertMeta, QUAKES)
        return None if entry is None else entry.value
