"""Times in and out: every moment netbot handles is an aware UTC datetime.

One module for reading timestamps from outside (Redmine, Kontur, USGS, fixture files) and for
writing them (saved state, API queries, replay output), so every capability agrees on what a
timestamp looks like and a moment never silently changes when it is saved and read back.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Precision = Literal["auto", "seconds", "milliseconds", "exact"]


def parse_time(value: object) -> dt.datetime:
    """An aware UTC datetime from ISO text (`Z` or an offset; naive text is taken as UTC).

    An aware or naive datetime is accepted as it is (naive: UTC). ValueError for anything else,
    including moments beyond UTC's range (year 9999 with a negative offset): refused here, as
    bad input, rather than overflowing later when the moment is saved or compared.
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError(f"a timestamp must be text, not {type(value).__name__}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"timestamp {str(value)[:40]!r} is out of range in UTC") from None


def iso_utc(moment: dt.datetime, precision: Precision = "exact") -> str:
    """ISO text in UTC ending in `Z`.

    - "exact": milliseconds, or microseconds when there are any below the millisecond, so a
      saved cursor comes back exactly as it was;
    - "milliseconds" / "seconds": always that precision (what an API's query parameter takes);
    - "auto": milliseconds when there are any, else seconds (compact output for people).
    """
    utc = moment.astimezone(dt.UTC)
    if precision == "exact":
        spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    elif precision == "auto":
        spec = "milliseconds" if utc.microsecond else "seconds"
    else:
        spec = precision
    return utc.isoformat(timespec=spec).replace("+00:00", "Z")
