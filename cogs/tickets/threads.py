"""Discord's side of opening a ticket's thread: the `ThreadPort` the workflow asks for.

Only the platform-specific steps live here (find a thread even when py-cord's cache dropped
it, reopen, open, delete, each naming the permission Discord refused); the order and the
compensation are `netbot.tickets.workflows.ThreadWorkflow`'s.
"""

import discord

from cogs.tickets import render
from netbot.core.errors import UserError
from netbot.discord_bot import requiring
from netbot.tickets.workflows import FoundThread

NOT_IN_A_TEXT_CHANNEL = "Threads can only be opened from a text channel, not inside a thread."


class DiscordThreads:
    """Threads opened from one channel (the one a command was given in), through py-cord."""

    def __init__(self, client: discord.Client, channel: object) -> None:
        self.client = client
        self.channel = channel
        self._seen: dict[int, discord.Thread] = {}  # threads found or opened, by id

    def thread(self, thread_id: int) -> discord.Thread:
        """A thread this port found or opened (to post into it)."""
        return self._seen[thread_id]

    def check_place(self) -> None:
        self._text_channel()

    def _text_channel(self) -> discord.TextChannel:
        """The channel threads are opened from; UserError unless it is a text channel."""
        if not isinstance(self.channel, discord.TextChannel):
            raise UserError(NOT_IN_A_TEXT_CHANNEL)
        return self.channel

    async def fetch(self, thread_id: int) -> FoundThread | None:
        """Asked of Discord when it is not in py-cord's cache: archived threads (Discord
        archives idle ones) are dropped from the cache but still exist."""
        found = self.client.get_channel(thread_id)
        if not isinstance(found, discord.Thread):
            try:
                fetched = await self.client.fetch_channel(thread_id)
            except discord.NotFound:
                return None
            if not isinstance(fetched, discord.Thread):
                return None
            found = fetched
        self._seen[found.id] = found
        return FoundThread(found.id, bool(found.archived))

    async def unarchive(self, thread_id: int) -> None:
        thread = self._seen[thread_id]
        await requiring(
            "Send Messages in Threads",
            f"reopen the thread {thread.mention}",
            thread.edit(archived=False),
        )

    async def create(self, ticket_id: int, subject: str) -> int:
        created = await requiring(
            "Create Public Threads",
            "open a thread here",
            self._text_channel().create_thread(
                name=render.thread_name(ticket_id, subject),
                type=discord.ChannelType.public_thread,
            ),
        )
        self._seen[created.id] = created
        return created.id

    async def delete(self, thread_id: int, why: str) -> None:
        thread = self._seen.pop(thread_id)
        await requiring(
            "Manage Threads", f"delete the thread {thread.mention} that {why}", thread.delete()
        )
