"""What `/slack status` shows: per lane, the backlog, the oldest pending row's age, the last
success and the last error (read from the database, so it survives restarts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from netbot.core.db import Database
from netbot.slack.models import LaneStatus, OutboxRow


@dataclass(frozen=True)
class LaneReport:
    lane: str  # a Slack channel id, or "@incident:<id>" for an incident's own channel
    backlog: int
    oldest_pending: dt.datetime | None
    last_success: dt.datetime | None
    last_error: str | None
    last_error_at: dt.datetime | None

    def oldest_age(self, now: dt.datetime) -> dt.timedelta | None:
        return None if self.oldest_pending is None else now - self.oldest_pending


def lane_reports(database: Database) -> list[LaneReport]:
    """Every lane that has pending rows or a recorded outcome, by name. Blocking."""
    with database.session() as session:
        pending = {
            lane: (count, oldest)
            for lane, count, oldest in session.execute(
                select(OutboxRow.lane, func.count(), func.min(OutboxRow.created_at))
                .where(OutboxRow.state == "pending")
                .group_by(OutboxRow.lane)
            )
        }
        statuses = {s.lane: s for s in session.scalars(select(LaneStatus))}
    reports = []
    for lane in sorted(pending.keys() | statuses.keys()):
        count, oldest = pending.get(lane, (0, None))
        status = statuses.get(lane)
        reports.append(
            LaneReport(
                lane,
                count,
                oldest,
                status.last_success if status else None,
                status.last_error if status else None,
                status.last_error_at if status else None,
            )
        )
    return reports
