"""NetBox's names in memory, for autocomplete and search without a round trip per keystroke.

Discord wants autocomplete answered within 3 s (and it cannot be deferred); a NetBox query per
keystroke is both too slow on a big install and a load on NetBox. The index holds every
site, device, IP address, prefix, VLAN, circuit, rack and tenant by name, is rebuilt in the
background by the supervisor (and on demand after a miss), and is swapped in with one
assignment, so readers never see a half-built one.

Per kind, the names are kept sorted (lower case) for prefix matches by binary search, and
joined into one string searched with `str.find` (C speed) for matches inside a name; a
keystroke reads at most 25 hits, never every name. A name held by several objects (`sw1`
at two sites) is labelled with its context, `sw1 (Seattle-3)`, never with a bare id.
"""

from __future__ import annotations

import datetime as dt
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from netbot.core.text import clip

CHOICES_LIMIT = 25  # Discord's maximum number of autocomplete choices
NAME_LIMIT = 100  # Discord's limit on a choice's name and value
# The kinds, in the order search ranks them when names match equally well.
KINDS = ("site", "device", "ip", "prefix", "vlan", "circuit", "rack", "tenant")


class Entry(NamedTuple):
    """One NetBox object as the index knows it: enough to label and to fetch it."""

    kind: str
    id: int
    name: str
    context: str  # what tells equal names apart: a site, a VRF, a provider, a region


class _Kind:
    """The entries of one kind, with the lookups autocomplete needs (see the module)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = sorted(entries, key=lambda e: (e.name.lower(), e.context.lower(), e.id))
        keys = [e.name.lower() for e in self.entries]
        self.keys = keys
        self._text = "\n".join(keys) + "\n"
        self._starts = array("q", [0] * len(keys))
        at = 0
        for n, key in enumerate(keys):
            self._starts[n] = at
            at += len(key) + 1
        counts: dict[str, int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        repeated: dict[tuple[str, str], int] = {}
        for e in self.entries:
            pair = (e.name.lower(), e.context.lower())
            repeated[pair] = repeated.get(pair, 0) + 1
        self.labels = [
            _label(e, counts[key] > 1, repeated[(key, e.context.lower())] > 1)
            for e, key in zip(self.entries, keys, strict=True)
        ]
        self.by_label = {label.lower(): n for n, label in enumerate(self.labels)}

    def __len__(self) -> int:
        return len(self.entries)

    def matches(self, typed: str, limit: int = CHOICES_LIMIT) -> list[tuple[int, int]]:
        """Up to `limit` (rank, position): names starting with `typed` (rank 1, or 0 when
        equal to it) in name order, then names holding it (rank 2), in name order too.

        The names starting with it are one run of the sorted names, so one span of the
        joined text: the search for names holding it skips that span instead of finding
        (and discarding) each of them again."""
        typed = " ".join(typed.lower().split())
        found: list[tuple[int, int]] = []
        start = bisect_left(self.keys, typed)
        end = bisect_right(self.keys, typed + "\U0010ffff", lo=start)
        for n in range(start, min(end, start + limit)):
            found.append((0 if self.keys[n] == typed else 1, n))
        if not typed or len(found) == limit:
            return found
        text_end = len(self._text)
        skip_from = self._starts[start] if start < len(self.keys) else text_end
        skip_to = self._starts[end] if end < len(self.keys) else text_end
        at = self._text.find(typed, 0, skip_from)
        while len(found) < limit:
            if at == -1:
                if skip_from >= text_end:
                    break
                at, skip_from = self._text.find(typed, skip_to), text_end
                continue
            n = bisect_right(self._starts, at) - 1
            found.append((2, n))
            following = self._starts[n] + len(self.keys[n]) + 1
            at = self._text.find(typed, following, skip_from)
        return found

    def resolve(self, text: str) -> list[int]:
        """The positions `text` names: its exact label, else every object of that name."""
        wanted = text.strip().lower()
        if wanted in self.by_label:
            return [self.by_label[wanted]]
        start = bisect_left(self.keys, wanted)
        return list(range(start, bisect_right(self.keys, wanted, lo=start)))


def _label(entry: Entry, ambiguous: bool, same_context: bool) -> str:
    """`sw1`, or `sw1 (Seattle-3)` when another object has the name, or with the id last
    when even the context does not tell them apart; cut to Discord's 100 characters."""
    if not ambiguous:
        return clip(entry.name, NAME_LIMIT)
    context = entry.context or "no site"
    if same_context:
        context = f"{context}, id {entry.id}"
    suffix = f" ({clip(context, 60)})"
    return clip(entry.name, NAME_LIMIT - len(suffix)) + suffix


@dataclass(frozen=True)
class Choice:
    """An autocomplete choice or a search hit: shown as `label`, fetched by kind and id."""

    kind: str
    id: int
    label: str
    rank: int = 0


@dataclass
class NameIndex:
    """Every kind's entries, when they were read, and the lookups over them."""

    kinds: dict[str, _Kind] = field(default_factory=dict)
    refreshed_at: dt.datetime | None = None

    @classmethod
    def build(cls, entries: Iterable[Entry], at: dt.datetime) -> NameIndex:
        by_kind: dict[str, list[Entry]] = {kind: [] for kind in KINDS}
        for entry in entries:
            by_kind[entry.kind].append(entry)
        return cls({kind: _Kind(rows) for kind, rows in by_kind.items()}, at)

    def __len__(self) -> int:
        return sum(len(k) for k in self.kinds.values())

    def counts(self) -> dict[str, int]:
        return {kind: len(k) for kind, k in self.kinds.items()}

    def complete(self, kind: str, typed: str) -> list[Choice]:
        """Up to 25 choices of `kind` for what is typed so far."""
        index = self.kinds.get(kind)
        if index is None:
            return []
        return [
            Choice(kind, index.entries[n].id, index.labels[n], rank)
            for rank, n in index.matches(typed)
        ]

    def resolve(self, kind: str, text: str) -> list[Choice]:
        """The objects of `kind` that `text` (a label or a name) names; several when the
        name is ambiguous, none when the index does not know it."""
        index = self.kinds.get(kind)
        if index is None:
            return []
        return [Choice(kind, index.entries[n].id, index.labels[n]) for n in index.resolve(text)]

    def search(self, term: str, kinds: Sequence[str] = KINDS, limit: int = 50) -> list[Choice]:
        """Objects of every kind matching `term`, best first: an exact name, then a name
        starting with it, then one holding it; equal matches in KINDS order, then by name."""
        hits: list[tuple[int, int, int, Choice]] = []
        for order, kind in enumerate(kinds):
            index = self.kinds.get(kind)
            if index is None:
                continue
            for rank, n in index.matches(term, limit):
                entry = index.entries[n]
                hits.append((rank, order, n, Choice(kind, entry.id, index.labels[n], rank)))
        hits.sort(key=lambda hit: hit[:3])
        return [hit[3] for hit in hits[:limit]]


EMPTY = NameIndex()
