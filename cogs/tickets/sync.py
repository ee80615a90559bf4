"""`/ticket sync N` and the "Sync status" button under a thread's ticket card: what the
threader (threader.py, its own process) last did for the ticket, read from the shared
database. The button is answered by the threader's cog (cogs/threader.py)."""

import discord

from netbot.threader import STATUS_PREFIX


def status_button(ticket_id: int) -> discord.ui.View:
    """A persistent button (its custom id carries the ticket): the threader cog answers it."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Sync status",
            style=discord.ButtonStyle.secondary,
            custom_id=f"{STATUS_PREFIX}{ticket_id}",
        )
    )
    return view
