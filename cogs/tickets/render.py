"""Tickets as Discord messages: embeds, the pager's buttons and their custom ids.

Custom ids carry everything a button needs ("tickets:page:team:ops-team:open:2"), so buttons
keep working after a restart and no state is kept per message.
"""

import discord

from netbot.text import clip, quiet
from netbot.tickets.format import detail_facts, list_lines
from netbot.tickets.records import Change, TicketDetail, TicketPage

PAGE_PREFIX = "tickets:page"
LINK_PREFIX = "tickets:link"
EMBED_DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024


def page_id(kind: str, value: str, status: str, page: int) -> str:
    """custom_id of a pager button (Discord allows 100 characters)."""
    return clip(f"{PAGE_PREFIX}:{kind}:{value}:{status}:{page}", 100)


def parse_page_id(custom_id: str) -> tuple[str, str, str, int]:
    _, _, kind, value, status, page = custom_id.split(":", 5)
    return kind, value, status, int(page)


def page_embed(page: TicketPage, base_url: str) -> discord.Embed:
    lines = list_lines(page, base_url) or ["No tickets."]
    embed = discord.Embed(
        title=clip(page.title, 256),
        description=clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT),
    )
    embed.set_footer(text=f"Page {page.page} of {page.pages} · {page.total} ticket(s)")
    return embed


def pager(page: TicketPage, kind: str, value: str, status: str) -> discord.ui.View | None:
    """Previous/Next buttons, or None when everything fits on one page."""
    if page.pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    for label, target in (("Previous", page.page - 1), ("Next", page.page + 1)):
        view.add_item(
            discord.ui.Button(
                label=label,
                custom_id=page_id(kind, value, status, target),
                disabled=not 1 <= target <= page.pages,
            )
        )
    return view


def detail_embed(ticket: TicketDetail) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"#{ticket.id} {ticket.subject}", 256),
        url=ticket.url,
        description=clip(quiet(ticket.description), 1000) or None,
    )
    for label, value in detail_facts(ticket):
        embed.add_field(name=label, value=clip(quiet(value), FIELD_LIMIT), inline=True)
    for note in ticket.notes[-3:]:
        embed.add_field(
            name=clip(f"{quiet(note.author)}, {note.created_on:%Y-%m-%d %H:%M} UTC", 256),
            value=clip(quiet(note.text), FIELD_LIMIT) or "(empty)",
            inline=False,
        )
    return embed


def change_message(change: Change) -> str:
    what = "; ".join(change.changes) or "nothing changed"
    subject = quiet(clip(change.ticket.subject, 200))
    return f"[#{change.ticket.id}]({change.ticket.url}) {subject}: {what}."


def link_buttons(discord_user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action, style in (
        ("approve", discord.ButtonStyle.success),
        ("deny", discord.ButtonStyle.danger),
    ):
        view.add_item(
            discord.ui.Button(
                label=action.capitalize(),
                style=style,
                custom_id=f"{LINK_PREFIX}:{action}:{discord_user_id}",
            )
        )
    return view


def thread_name(ticket_id: int, subject: str) -> str:
    """'#12: subject', cut to Discord's 100-character limit for channel names."""
    return clip(f"#{ticket_id}: {subject}", 100)
