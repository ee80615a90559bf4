"""What the NetBox commands show, as plain records: the cog renders them, tests read them.

Text in them is NetBox's, unescaped: the cog passes every string through `outside()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fact:
    """One labelled line of a card (`Status: Active`)."""

    label: str
    value: str
    url: str | None = None  # shown as a link labelled `value`
    own: bool = False  # netbot's own words and numbers, shown as they are (not NetBox's text)


@dataclass(frozen=True)
class Table:
    """Rows too many for a card are shown in part and attached whole as a text file."""

    title: str
    rows: list[str]


@dataclass(frozen=True)
class Card:
    """One object's card: a title linking to NetBox, facts, lists, and how old it is."""

    kind: str
    title: str
    url: str | None
    facts: list[Fact] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    description: str = ""
    # None: fetched live just now; else the moment the cached data was read from NetBox.
    cached_at: dt.datetime | None = None


@dataclass(frozen=True)
class ListPage:
    """One page of a longer list (sites, devices found): each row a line and an object."""

    title: str
    rows: list[tuple[str, str]]  # (line, card key of the object)
    page: int
    pages: int
    total: int
    cached_at: dt.datetime | None = None
