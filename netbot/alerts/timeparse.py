"""Timestamps as the Kontur Event API writes them: `Z` or `+00:00`, with or without millis."""

from __future__ import annotations

import datetime as dt


def parse_time(value: str) -> dt.datetime:
    """An aware datetime from ISO text; naive text is taken as UTC (GDACS writes it so)."""
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def format_time(moment: dt.datetime) -> str:
    """ISO text in UTC with milliseconds and `Z`, the form the Event API's `after` takes."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
