"""Timestamps as the Kontur Event API writes them: `Z` or `+00:00`, with or without millis.

Every parsed moment is normalised to UTC at once: a moment that does not fit in UTC (year 9999
with a negative offset) is refused here, as bad input, rather than overflowing later when the
state is saved or compared.
"""

from __future__ import annotations

import datetime as dt


def parse_time(value: str) -> dt.datetime:
    """An aware UTC datetime from ISO text; naive text is taken as UTC (GDACS writes it so).

    ValueError for anything that is not such text, including moments beyond UTC's range.
    """
    if not isinstance(value, str):
        raise ValueError(f"a timestamp must be text, not {type(value).__name__}")
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"timestamp {value[:40]!r} is out of range in UTC") from None


def format_time(moment: dt.datetime) -> str:
    """ISO text in UTC with milliseconds and `Z`, the form the Event API's `after` takes."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
