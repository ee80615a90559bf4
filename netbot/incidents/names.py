"""Incident space names: `inc-YYYYMMDD-<n>-<slug>`, given once and never changed.

Discord allows about two renames per ten minutes per channel, so nothing that changes
(status, severity) is ever part of the name. The slug comes from the title, which is outside
text: it is folded to lower-case ASCII letters, digits and single hyphens, so no title can
produce a mention, Markdown, a path or an empty name, and the whole stays within Discord's
100 characters.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

MAX_NAME = 100
PREFIX = "inc"
FALLBACK_SLUG = "incident"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(title: str, room: int) -> str:
    """`title` as a slug of at most `room` characters: accents dropped, everything that is
    not a letter or digit turned into one hyphen, cut at a hyphen where possible; a title
    with nothing usable gives "incident"."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = _NOT_SLUG.sub("-", folded.lower()).strip("-")
    if len(words) > room:
        cut = words[:room]
        words = cut.rsplit("-", 1)[0] if "-" in cut[room // 2 :] else cut
        words = words.strip("-")
    return words or FALLBACK_SLUG[:room]


def space_name(number: int, declared_at: dt.datetime, title: str, tz: ZoneInfo) -> str:
    """The space's name: the declaring day (in the display time zone), the incident's
    number, and the title's slug, at most 100 characters."""
    if number < 1:
        raise ValueError(f"an incident number is positive: {number}")
    head = f"{PREFIX}-{declared_at.astimezone(tz):%Y%m%d}-{number}-"
    return head + slug(title, MAX_NAME - len(head))
