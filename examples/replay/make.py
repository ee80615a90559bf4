"""Writes this folder's example inputs for `python -m netbot.alerts replay` (see README.md).

Invented events (fakes/alert_events.py), one per rule, so the replay shows each decision.
Run from the project root: `.venv/bin/python -m examples.replay.make`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fakes.alert_events import details, make_event

HERE = Path(__file__).resolve().parent
POLL1 = dt.datetime(2025, 3, 14, 12, 0, 30, tzinfo=dt.UTC)
POLL2 = dt.datetime(2025, 3, 14, 12, 31, tzinfo=dt.UTC)
DIGEST = dt.datetime(2025, 3, 15, 23, 59, tzinfo=dt.UTC)


def ident(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def minutes_before(moment: dt.datetime, minutes: int) -> dt.datetime:
    return moment - dt.timedelta(minutes=minutes)


STATE: dict[str, Any] = {
    "cursorUpdatedAt": "2025-03-14T11:00:00Z",
    "lastNotifiedAt": {ident(9): "2025-03-13T08:00:00Z"},
    "notificationDays": ["2025-03-13"],
}
PAGE1 = [
    make_event(ident(1), name="Example flood",
               episode_details=details(25000, populatedAreaKm2=61.5),
               updated_at=minutes_before(POLL1, 30)),
    make_event(ident(2), name="Example small wildfire", type="WILDFIRE", severity="MINOR",
               updated_at=minutes_before(POLL1, 25)),
    make_event(ident(3), name="Example remote quake", type="EARTHQUAKE", severity="EXTREME",
               population=300, updated_at=minutes_before(POLL1, 20)),
    make_event(ident(4), name="Example drought", type="DROUGHT",
               updated_at=minutes_before(POLL1, 15)),
    make_event(ident(5), name="Example old flood", updated_at=minutes_before(POLL1, 90)),
]  # fmt: skip
PAGE2 = [
    make_event(ident(1), name="Example flood", population=40000, version=2,
               updated_at=minutes_before(POLL2, 10)),
    make_event(ident(6), name="Example cyclone", type="CYCLONE", severity="EXTREME",
               episode_details=details(90000, populatedAreaKm2=310), updated_at=minutes_before(POLL2, 5)),
]  # fmt: skip
DIGEST_PAGE = [
    make_event(ident(7), name="Example moderate flood", severity="MODERATE",
               updated_at=DIGEST - dt.timedelta(hours=20)),
    make_event(ident(8), name="Example moderate wildfire", type="WILDFIRE", severity="MODERATE",
               updated_at=DIGEST - dt.timedelta(hours=3)),
]  # fmt: skip


def write(name: str, data: Any) -> None:
    (HERE / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write("state.json", STATE)
    write("page1.json", {"pageMetadata": {"nextAfterValue": None}, "data": PAGE1})
    write("page2.json", {"pageMetadata": {"nextAfterValue": None}, "data": PAGE2})
    write("digest.json", {"pageMetadata": {"nextAfterValue": None}, "data": DIGEST_PAGE})
