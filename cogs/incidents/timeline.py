"""The timeline from the conversation, and the extension events of incident spaces.

A message joins its incident's timeline by the configured reaction (a pushpin by default) or
the message command "Add to timeline"; taking the reaction back or deleting the message
removes it, editing the message updates it. The entry keeps the message's own time, so the
timeline reads in the order things were said, not the order they were pinned. Messages in a
space also go to the extensions (keyword handlers, `@event_handler`).

Raw events, not the cached ones: they arrive for messages older than py-cord's cache (a
pin on yesterday's message), and work after a restart. No `from __future__ import
annotations`: py-cord reads the message command's parameter annotation.
"""

import logging
from typing import Any

import discord
from discord.ext import commands

from cogs.incidents.desk import Desk
from netbot.core.errors import UserError, new_error_id
from netbot.discord_bot import as_text, requiring
from netbot.incidents import SpaceEvent, SpaceMessage

log = logging.getLogger(__name__)

NOT_A_SPACE = "Add to timeline works on messages in an incident's channel."


def space_message(message: discord.Message) -> SpaceMessage:
    """A Discord message as the timeline keeps it: text, author, time, attachments as links."""
    return SpaceMessage(
        message_id=message.id,
        channel_id=message.channel.id,
        author_id=message.author.id,
        author_name=message.author.display_name,
        text=message.content,
        at=message.created_at,
        attachments=tuple(a.url for a in message.attachments),
        url=message.jump_url,
    )


class IncidentTimeline(commands.Cog):
    """Reactions, message commands, edits and deletes in incident spaces."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def _is_pin(self, emoji: discord.PartialEmoji) -> bool:
        return str(emoji) == self.desk.settings.timeline_reaction

    async def _guarded(self, what: str, call: Any) -> None:
        """A listener never raises into py-cord: one log line with an error id instead.
        Then `on_incident_event_handled(what)` is dispatched, for whoever waits for the
        timeline to have taken an event in (other cogs, tests)."""
        try:
            await call
        except UserError as exc:
            log.info("error %s in incident %s: %s", new_error_id(), what, exc.message)
        except Exception:
            log.exception("error %s in incident %s", new_error_id(), what)
        finally:
            self.desk.bot.dispatch("incident_event_handled", what)

    # ------------------------------------------------------------------ the timeline
    @discord.message_command(name="Add to timeline")
    async def add_to_timeline(
        self, ctx: discord.ApplicationContext, message: discord.Message
    ) -> None:
        incident_id = await self.desk.incident_in(message.channel.id)
        if incident_id is None:
            raise UserError(NOT_A_SPACE)
        with as_text():
            await self.desk.service.timeline_add_message(
                incident_id, ctx.author.id, space_message(message)
            )
        await self._mark(message.channel.id, message.id, on=True)
        await ctx.respond(f"Added to the timeline of incident #{incident_id}.", ephemeral=True)

    async def _mark(self, channel_id: int, message_id: int, *, on: bool) -> None:
        """The bot's own timeline reaction shows which messages are on the timeline."""
        http, emoji = self.desk.bot.http, self.desk.settings.timeline_reaction
        if on:
            await requiring(
                "Add Reactions",
                "mark the message",
                http.add_reaction(channel_id, message_id, emoji),
            )
        else:
            await http.remove_own_reaction(channel_id, message_id, emoji)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        await self._guarded("reaction", self._reacted(event, added=True))

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        await self._guarded("reaction removal", self._reacted(event, added=False))

    async def _reacted(self, event: discord.RawReactionActionEvent, *, added: bool) -> None:
        if self.desk.bot.user is not None and event.user_id == self.desk.bot.user.id:
            return
        incident_id = await self.desk.incident_in(event.channel_id)
        if incident_id is None:
            return
        service = self.desk.service
        if self._is_pin(event.emoji):
            if added:
                channel = self.desk.bot.get_partial_messageable(event.channel_id)
                message = await channel.fetch_message(event.message_id)
                await service.timeline_add_message(
                    incident_id, event.user_id, space_message(message)
                )
            else:
                await service.timeline_remove_message(event.message_id, incident_id)
            await self._mark(event.channel_id, event.message_id, on=added)
        kind = "reaction_add" if added else "reaction_remove"
        await service.on_event(
            incident_id,
            SpaceEvent(kind, event.user_id, message_id=event.message_id, emoji=str(event.emoji)),
        )

    @commands.Cog.listener()
    async def on_raw_message_edit(self, event: discord.RawMessageUpdateEvent) -> None:
        await self._guarded("message edit", self._edited(event))

    async def _edited(self, event: discord.RawMessageUpdateEvent) -> None:
        data: dict[str, Any] = dict(event.data)
        if "content" not in data:  # an embed unfurled, a pin: not an edit of the words
            return
        if not data["content"] and not self.desk.bot.intents.message_content:
            return  # without the Message Content intent every edit looks empty
        incident_id = await self.desk.incident_in(event.channel_id)
        if incident_id is None:
            return
        links = tuple(str(a.get("url", "")) for a in data.get("attachments") or [])
        await self.desk.service.timeline_update_message(
            event.message_id, str(data["content"]), links
        )
        await self.desk.service.on_event(
            incident_id, SpaceEvent("message_edit", None, message_id=event.message_id)
        )

    @commands.Cog.listener()
    async def on_raw_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        await self._guarded("message delete", self._deleted(event))

    async def _deleted(self, event: discord.RawMessageDeleteEvent) -> None:
        incident_id = await self.desk.incident_in(event.channel_id)
        if incident_id is None:
            return
        await self.desk.service.timeline_remove_message(event.message_id, incident_id)
        await self.desk.service.on_event(
            incident_id, SpaceEvent("message_delete", None, message_id=event.message_id)
        )

    # ------------------------------------------------------------------ extensions
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        await self._guarded("message", self._said(message))

    async def _said(self, message: discord.Message) -> None:
        incident_id = await self.desk.incident_in(message.channel.id)
        if incident_id is not None:
            await self.desk.service.on_message(incident_id, space_message(message))
