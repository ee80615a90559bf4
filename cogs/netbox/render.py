"""NetBox cards and lists as Discord messages: embeds within Discord's limits, the buttons
whose custom ids carry the whole key of what they open, and tables too long as text files.

A button's custom id is `nb:<action>:<key>`: `o` opens the key's card (ephemeral), `p` turns
a list's page in place, `s` shares the card in the channel. The key is all the state there
is (see netbot/netbox/lookups.py), so buttons keep working after a restart.

Everything NetBox says goes through `outside()`: a device named `[click](http://evil)` or
`@everyone` is shown as that text, never as a link or a ping.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import discord

from netbot.core.text import clip, outside
from netbot.netbox import Card, ListPage, Table

PREFIX = "nb"
OPEN, PAGE, SHARE = "o", "p", "s"
CUSTOM_ID_LIMIT = 100
TITLE_LIMIT = 256
FIELD_LIMIT = 1024
DESCRIPTION_SHOWN = 1000
TOTAL_LIMIT = 6000
BUTTON_LABEL_LIMIT = 80
ROW_BUTTONS = 20  # four rows of five; the fifth row holds Previous, Next and Share


@dataclass
class Message:
    """What to send: one embed, its buttons, and the files of tables it could not hold."""

    embed: discord.Embed
    view: discord.ui.View | None
    files: list[discord.File] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"embed": self.embed}
        if self.view is not None:
            out["view"] = self.view
        if self.files:
            out["files"] = self.files
        return out


def custom_id(action: str, key: str) -> str | None:
    """The custom id of a button for `key`; None when the key is too long to carry."""
    text = f"{PREFIX}:{action}:{key}"
    return text if len(text) <= CUSTOM_ID_LIMIT else None


def parse_custom_id(text: str) -> tuple[str, str] | None:
    """(action, key) of one of these buttons; None for anyone else's."""
    prefix, _, rest = text.partition(":")
    action, _, key = rest.partition(":")
    if prefix != PREFIX or action not in (OPEN, PAGE, SHARE) or not key:
        return None
    return action, key


def age(moment: dt.datetime | None, now: dt.datetime) -> str:
    """How old the data is, for a card's footer."""
    if moment is None:
        return "Live from NetBox"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        ago = "just now"
    elif seconds < 3600:
        ago = f"{seconds // 60} min ago"
    else:
        ago = f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"From netbot's index of NetBox, read {ago}"


def card_message(card: Card, key: str, now: dt.datetime, *, shared: bool = False) -> Message:
    """The card as one embed; each table shows the lines that fit and, when some do not,
    is attached whole as a text file."""
    embed = discord.Embed(
        title=clip(outside(card.title), TITLE_LIMIT),
        url=card.url or None,
        description=clip(outside(card.description, DESCRIPTION_SHOWN), 4096) or None,
    )
    for fact in card.facts:
        value = fact.value if fact.own else outside(fact.value, 300)
        if fact.url:
            value = f"[{value}]({fact.url})"
        embed.add_field(name=clip(fact.label, 256), value=clip(value, FIELD_LIMIT), inline=True)
    footer = age(card.cached_at, now)
    embed.set_footer(text=footer)
    used = (
        len(embed.title or "")
        + len(embed.description or "")
        + len(footer)
        + sum(len(f.name) + len(f.value) for f in embed.fields)
    )
    files: list[discord.File] = []
    tables = card.tables
    room = max(0, TOTAL_LIMIT - used - 100)
    for n, table in enumerate(tables):
        share = min(FIELD_LIMIT, room // (len(tables) - n)) if room else 0
        name = clip(outside(table.title), 256)
        value, complete = _lines(table, share - len(name))
        if not complete:
            files.append(_file(card, table))
            value += "\n(all of it in the attached file)" if value else ""
        if value:
            embed.add_field(name=name, value=value, inline=False)
            room -= len(name) + len(value)
    view = None if shared else _card_view(key)
    return Message(embed, view, files)


def _lines(table: Table, room: int) -> tuple[str, bool]:
    """As many escaped lines as fit in `room` characters (leaving room for a note);
    whether all of them did."""
    shown: list[str] = []
    size = 0
    note = 45
    for n, row in enumerate(table.rows):
        line = outside(row, 200)
        last = n == len(table.rows) - 1
        if size + len(line) + 1 > room - (0 if last else note):
            more = len(table.rows) - n
            return "\n".join(shown) + f"\n… and {more} more", False
        shown.append(line)
        size += len(line) + 1
    return "\n".join(shown), True


def _file(card: Card, table: Table) -> discord.File:
    """A table as a plain text file (text in a file is never Markdown, so it stays raw)."""
    slug = "".join(c if c.isalnum() else "-" for c in f"{card.title}-{table.title}".lower())
    header = f"{card.title}: {table.title}\n\n"
    data = (header + "\n".join(table.rows) + "\n").encode()
    return discord.File(io.BytesIO(data), filename=clip(slug.strip("-"), 80) + ".txt")


def _card_view(key: str) -> discord.ui.View | None:
    share = custom_id(SHARE, key)
    if share is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Share", custom_id=share))
    return view


def list_message(
    page: ListPage, key: str, neighbours: tuple[str | None, str | None], now: dt.datetime,
    *, shared: bool = False,
) -> Message:  # fmt: skip
    """A list page: one line per row, a button per row opening its card, and (unless shared)
    Previous/Next for the neighbouring pages' keys and Share."""
    lines = [f"{n}. {outside(line, 150)}" for n, (line, _) in enumerate(page.rows, start=1)]
    embed = discord.Embed(
        title=clip(outside(page.title), TITLE_LIMIT),
        description=clip("\n".join(lines) or "Nothing found.", 4096),
    )
    embed.set_footer(
        text=f"Page {page.page} of {page.pages} · {page.total} in all · {age(page.cached_at, now)}"
    )
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    for n, (line, row_key) in enumerate(page.rows[:ROW_BUTTONS], start=1):
        button_id = custom_id(OPEN, row_key)
        if button_id is None or button_id in seen:
            continue
        seen.add(button_id)
        label = clip(f"{n}. {line}", BUTTON_LABEL_LIMIT)
        view.add_item(discord.ui.Button(label=label, custom_id=button_id, row=(n - 1) // 5))
    if not shared:
        previous, following = neighbours
        for label, target in (("Previous", previous), ("Next", following)):
            button_id = custom_id(PAGE, target) if target else None
            if page.pages > 1:
                view.add_item(discord.ui.Button(
                    label=label, custom_id=button_id or f"{PREFIX}:{PAGE}:none:{label}",
                    disabled=button_id is None, row=4,
                ))  # fmt: skip
        share = custom_id(SHARE, key)
        if share is not None:
            view.add_item(discord.ui.Button(label="Share", custom_id=share, row=4))
    return Message(embed, view if view.children else None)
