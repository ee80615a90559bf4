"""Tickets as Discord messages: embeds, the pager's buttons and their custom ids.

Everything from Redmine or from people goes through `outside()`: a subject such as
`[Reset your password](http://evil.example)` is shown as that text, never as a link, and
never pings anyone.

A pager button's custom id carries a short key and a page number ("tickets:page:<key>:2");
the list the key stands for (kind, value, status) is kept in `PageKeys`, so any search term,
however long and whatever characters it has, pages correctly. After a restart the keys are
gone and the button says the list expired.
"""

import hashlib
import json
from collections import OrderedDict

import discord

from netbot.core.text import clip, outside
from netbot.tickets.format import detail_facts, list_lines
from netbot.tickets.records import Change, TicketDetail, TicketPage

PAGE_PREFIX = "tickets:page"
LINK_PREFIX = "tickets:link"
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_LIMIT = 1024
DESCRIPTION_SHOWN = 1000
PAGE_KEYS_KEPT = 5000  # lists whose pager still works; the oldest are forgotten first

ListState = tuple[str, str, str]  # kind ("me", "user", "team", "search"), value, status


class PageKeys:
    """The lists pager buttons stand for, by a short key derived from the list itself.

    The same list always gets the same key, so the store grows only with distinct lists,
    and at most PAGE_KEYS_KEPT of them are kept (least recently used forgotten first).
    """

    def __init__(self, limit: int = PAGE_KEYS_KEPT) -> None:
        self._lists: OrderedDict[str, ListState] = OrderedDict()
        self._limit = limit

    def key(self, kind: str, value: str, status: str) -> str:
        """The key of a list, remembered from now on."""
        state = (kind, value, status)
        key = hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16]
        self._lists[key] = state
        self._lists.move_to_end(key)
        while len(self._lists) > self._limit:
            self._lists.popitem(last=False)
        return key

    def get(self, key: str) -> ListState | None:
        """The list a key stands for, or None once it is forgotten (a restart)."""
        state = self._lists.get(key)
        if state is not None:
            self._lists.move_to_end(key)
        return state

    def clear(self) -> None:
        self._lists.clear()


def page_id(key: str, page: int) -> str:
    """custom_id of a pager button: short whatever the list is (Discord allows 100)."""
    return f"{PAGE_PREFIX}:{key}:{page}"


def parse_page_id(custom_id: str) -> tuple[str, int] | None:
    """(key, page) of a pager button; None for a malformed id (or an older netbot's)."""
    key, _, page = custom_id.removeprefix(f"{PAGE_PREFIX}:").partition(":")
    return (key, int(page)) if page.isdigit() else None


def page_embed(page: TicketPage, base_url: str) -> discord.Embed:
    lines = list_lines(page, base_url) or ["No tickets."]
    embed = discord.Embed(
        title=clip(outside(page.title), EMBED_TITLE_LIMIT),
        description=clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT),
    )
    embed.set_footer(text=f"Page {page.page} of {page.pages} · {page.total} ticket(s)")
    return embed


def pager(page: TicketPage, key: str) -> discord.ui.View | None:
    """Previous/Next buttons for the list `key` stands for, or None when one page holds it."""
    if page.pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    for label, target in (("Previous", page.page - 1), ("Next", page.page + 1)):
        view.add_item(
            discord.ui.Button(
                label=label,
                custom_id=page_id(key, target),
                disabled=not 1 <= target <= page.pages,
            )
        )
    return view


def detail_embed(ticket: TicketDetail) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"#{ticket.id} {outside(ticket.subject)}", EMBED_TITLE_LIMIT),
        url=ticket.url,
        description=clip(outside(ticket.description, DESCRIPTION_SHOWN), EMBED_DESCRIPTION_LIMIT)
        or None,
    )
    for label, value in detail_facts(ticket):
        embed.add_field(name=label, value=clip(outside(value), FIELD_LIMIT), inline=True)
    for note in ticket.notes[-3:]:
        embed.add_field(
            name=clip(
                f"{outside(note.author)}, {note.created_on:%Y-%m-%d %H:%M} UTC", FIELD_NAME_LIMIT
            ),
            value=clip(outside(note.text, FIELD_LIMIT), FIELD_LIMIT) or "(empty)",
            inline=False,
        )
    return embed


def change_message(change: Change) -> str:
    """'[#12](url) Disk full: status: New -> In Progress.', Redmine's text shown as text."""
    what = "; ".join(outside(line, 200) for line in change.changes) or "nothing changed"
    subject = outside(change.ticket.subject, 200)
    return f"[#{change.ticket.id}]({change.ticket.url}) {subject}: {what}."


def link_request(display_name: str, login: str) -> str:
    """The public message asking an admin to approve a link request."""
    return (
        f"{outside(display_name, 100)} asks to act as Redmine user {code(login)}. "
        "An admin can approve or deny."
    )


def code(text: str) -> str:
    """`text` as an inline code span (nothing inside one is Markdown or a mention).

    For Redmine logins, which cannot hold a backtick; one is replaced all the same.
    """
    return f"`{clip(text, 100).replace('`', 'ˋ')}`"


def link_buttons(discord_user_id: int, request_id: str) -> discord.ui.View:
    """Approve/Deny for one request: the custom id names the user and the request shown."""
    view = discord.ui.View(timeout=None)
    for action, style in (
        ("approve", discord.ButtonStyle.success),
        ("deny", discord.ButtonStyle.danger),
    ):
        view.add_item(
            discord.ui.Button(
                label=action.capitalize(),
                style=style,
                custom_id=f"{LINK_PREFIX}:{action}:{discord_user_id}:{request_id}",
            )
        )
    return view


def parse_link_id(custom_id: str) -> tuple[str, int, str] | None:
    """(action, user id, request id) of an Approve/Deny button; None if malformed or from an
    older netbot whose buttons named no request."""
    parts = custom_id.removeprefix(f"{LINK_PREFIX}:").split(":")
    if len(parts) != 3 or parts[0] not in ("approve", "deny") or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def thread_name(ticket_id: int, subject: str) -> str:
    """'#12: subject', cut to Discord's 100-character limit for channel names."""
    return clip(f"#{ticket_id}: {subject}", 100)
