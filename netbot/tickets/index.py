"""The open tickets, in compact form, and an index that answers autocomplete without a scan.

Why: with 100,000 open tickets, a keystroke scanned one object per ticket on the event
loop (172 ms, during which the bot did nothing) and formatted every id match.
Here the tickets are parallel arrays in id order (ids and ids of status and assignee as
machine ints, subjects as one string each), and the index built from them answers:

- an id prefix by ranges of the sorted ids ("12" is 12, 120-129, 1200-1299, ...): a few
  binary searches, never a scan;
- words by a token index: every whitespace-separated token of `#<id> <subject>` (lower case)
  with the tickets holding it. A typed word matches a ticket when it is *inside* its text
  (the catalog's rule since the start: "ull" finds "full", "12" finds "#312"), which is when
  it is inside one of its tokens; the tokens containing the word are found by `str.find` on
  one string of all distinct tokens (C speed), and their tickets intersected across words.
  A word inside too many tokens (one letter, say) is too common to list: it is then only
  checked on the candidates of the other words, or the newest tickets are walked until 25
  match, which, the word being common, ends soon.

A `TicketIndex` never changes once built: the catalog builds a new one in its refresh's
worker thread and swaps it in with one assignment, so readers never see a half-built one.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

CHOICES_LIMIT = 25  # Discord's maximum number of autocomplete choices
# A word found in more tokens than this is matched by checking candidates rather than by
# listing its tickets: listing would cost more than it saves.
DENSE_TOKENS = 400
# Checking that a word is in one ticket's text costs about as much as reading this many
# positions into a set intersection.
CHECK_RATHER_THAN_READ = 12
SORT_AT_ONCE = 3_000  # fewer positions than this, from several tokens: sorted in one go
ID_CHARACTERS = "#0123456789"


class TicketRow(NamedTuple):
    """One open ticket as the catalog keeps it: what autocomplete and lists need.

    A named tuple, not a dataclass: a tuple of ints and strings leaves the garbage
    collector's view at its first pass, so 100,000 of them in flight during a refresh do
    not make the collector's full passes (which stop the event loop too) longer and more
    frequent."""

    id: int
    subject: str
    status_id: int = 0
    assignee_id: int = 0  # 0: nobody


class TicketIndex:
    """Open tickets in id order, with the lookups autocomplete needs (see the module)."""

    def __init__(self, rows: Iterable[TicketRow]) -> None:
        ordered = sorted(rows, key=lambda r: r.id)
        self.ids = array("q", (r.id for r in ordered))
        self.subjects = [r.subject for r in ordered]
        self.status_ids = array("q", (r.status_id for r in ordered))
        self.assignee_ids = array("q", (r.assignee_id for r in ordered))
        self._haystacks = [f"#{r.id} {r.subject}".lower() for r in ordered]
        postings: dict[str, list[int]] = {}
        for n, text in enumerate(self._haystacks):
            for token in set(text.split()[1:]):  # the `#<id>` token: see `_id_holders`
                postings.setdefault(token, []).append(n)
        self._postings = {token: array("i", at) for token, at in postings.items()}
        # every distinct token once, each on its own line: one string `str.find` searches
        self._tokens = "\n" + "\n".join(self._postings) + "\n"
        # the ids likewise ("#<id>" tokens are one per ticket: in the token index they would
        # be most of it), line n holding the n-th id
        self._id_text = "\n" + "\n".join(f"#{i}" for i in self.ids) + "\n"

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> Iterator[TicketRow]:
        for n, ticket_id in enumerate(self.ids):
            yield TicketRow(ticket_id, self.subjects[n], self.status_ids[n], self.assignee_ids[n])

    def subject(self, ticket_id: int) -> str | None:
        """The subject of an open ticket; None if it is not one."""
        n = bisect_left(self.ids, ticket_id)
        return self.subjects[n] if n < len(self.ids) and self.ids[n] == ticket_id else None

    # ------------------------------------------------------------------ id prefixes
    def by_id_prefix(self, digits: str, skip: Callable[[int], bool]) -> list[int]:
        """Up to 25 ids starting with `digits`: the shortest first, then the newest."""
        found: list[int] = []
        for start, end in self._prefix_ranges(digits):
            for n in range(end - 1, start - 1, -1):
                if not skip(self.ids[n]):
                    found.append(self.ids[n])
                    if len(found) == CHOICES_LIMIT:
                        return found
        return found

    def _prefix_ranges(self, digits: str) -> list[tuple[int, int]]:
        """The positions `[start, end)` of the ids starting with `digits`, one range per
        length of id ("12": 12, then 120-129, then 1200-1299, ...), shortest first."""
        if not digits.isascii() or not digits.isdigit() or digits.startswith("0") or not self:
            return []
        value, width = int(digits), len(digits)
        ranges = []
        for extra in range(len(str(self.ids[-1])) - width + 1):
            low, high = value * 10**extra, (value + 1) * 10**extra - 1
            ranges.append((bisect_left(self.ids, low), bisect_right(self.ids, high)))
        return ranges

    # ------------------------------------------------------------------ words
    def by_words(
        self, words: list[str], skip: Callable[[int], bool], *, unless_prefix: str = ""
    ) -> list[int]:
        """Up to 25 ids, newest first, whose `#<id> <subject>` holds every word, leaving out
        those `skip` names and those whose id starts with `unless_prefix` (digits).

        The tickets holding each word are intersected (sets, in C); the result, or with
        one word its tickets, is walked newest first; words in too many tokens to list
        (one letter, say) are checked on each ticket walked, and with no other word every
        ticket is walked (jumping over the ids starting with `unless_prefix`): such words
        being common, 25 are found soon.
        """
        listed: list[tuple[int, list[Sequence[int]]]] = []
        for word in set(words):
            holders = self._holders(word)
            if holders is not None:
                total = sum(len(h) for h in holders)
                if total == 0:
                    return []
                listed.append((total, holders))
        listed.sort(key=lambda pair: pair[0])
        driver = listed[0][1] if listed else None
        both: set[int] | None = None
        if len(listed) > 1:
            both = self._intersection([holders for _, holders in listed])
            if not both:
                return []
            if len(both) <= SORT_AT_ONCE:
                driver, both = [sorted(both)], None
        prefixed = self._prefix_ranges(unless_prefix)
        candidates = self._newest_first(driver, prefixed)
        if both is not None:  # many: the least held word's tickets, walked, are in it soon
            candidates = (n for n in candidates if n in both)
        if driver is not None and prefixed:
            candidates = (n for n in candidates if not any(a <= n < b for a, b in prefixed))
        # the hot loop of a walk over many tickets: the fewest Python steps per ticket
        texts, ids, distinct = self._haystacks, self.ids, list(set(words))
        first_word, other_words = (distinct[0], distinct[1:]) if distinct else ("", [])
        found: list[int] = []
        for n in candidates:
            text = texts[n]
            if first_word not in text or (other_words and not all(w in text for w in other_words)):
                continue
            if skip(ids[n]):
                continue
            found.append(ids[n])
            if len(found) == CHOICES_LIMIT:
                break
        return found

    @staticmethod
    def _intersection(words: list[list[Sequence[int]]]) -> set[int]:
        """The positions held for every word (each word's holders: one list per token), the
        least held first. A word held far more often than what is left is not intersected
        (its every position read) but left to the walk's check of each candidate."""
        found: set[int] = set().union(*words[0])
        for holders in words[1:]:
            if sum(len(h) for h in holders) > CHECK_RATHER_THAN_READ * len(found):
                break  # this word and the later ones, held even more
            if len(holders) == 1:
                found.intersection_update(holders[0])
            else:
                found = set().union(*(found.intersection(h) for h in holders))
            if not found:
                break
        return found

    def _newest_first(
        self, holders: list[Sequence[int]] | None, outside: list[tuple[int, int]]
    ) -> Iterable[int]:
        """The positions in `holders` (all but those in the `outside` ranges when None),
        newest first, each once."""
        if holders is None:
            return self._all_but(outside)
        if len(holders) == 1:
            return reversed(holders[0])
        if sum(len(h) for h in holders) <= SORT_AT_ONCE:
            return sorted(set().union(*holders), reverse=True)
        merged = heapq.merge(*(reversed(h) for h in holders), reverse=True)
        return (n for n, _ in itertools.groupby(merged))

    def _all_but(self, ranges: list[tuple[int, int]]) -> Iterator[int]:
        """Every position, newest first, jumping over `ranges`."""
        n = len(self.ids) - 1
        for start, end in sorted(ranges, reverse=True):
            yield from range(n, end - 1, -1)
            n = min(n, start - 1)
        yield from range(n, -1, -1)

    def _holders(self, word: str) -> list[Sequence[int]] | None:
        """The positions of the tickets holding `word`, as sorted lists (a ticket may be in
        several); None when it is in too many tokens to list."""
        holders: list[Sequence[int]] = []
        at = self._tokens.find(word)
        while at != -1:
            start = self._tokens.rfind("\n", 0, at) + 1
            end = self._tokens.find("\n", at)
            if len(holders) == DENSE_TOKENS:
                return None
            holders.append(self._postings[self._tokens[start:end]])
            at = self._tokens.find(word, end)
        if word.strip(ID_CHARACTERS) == "":  # it may be inside a `#<id>` too
            by_id = self._id_holders(word)
            if by_id is None:
                return None
            holders.append(by_id)
        return holders

    def _id_holders(self, word: str) -> list[int] | None:
        """The positions of the tickets whose `#<id>` holds `word`; None when too many."""
        found: list[int] = []
        at = self._id_text.find(word)
        while at != -1:
            start = self._id_text.rfind("\n", 0, at) + 1
            end = self._id_text.find("\n", at)
            if len(found) == DENSE_TOKENS:
                return None
            found.append(bisect_left(self.ids, int(self._id_text[start + 1 : end])))
            at = self._id_text.find(word, end)
        return found


EMPTY = TicketIndex(())
