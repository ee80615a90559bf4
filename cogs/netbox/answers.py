"""What every NetBox command and button shares: the services, the index's refresh, access
checks, NetBox calls off the event loop, and answers rendered with their buttons.

A command makes a key (see netbot/netbox/lookups.py) and answers it with `answer`; a button
carries a key in its custom id (`nb:o:`, `nb:p:`, `nb:s:`, see render.py) and is answered
here by `on_interaction`, whatever process made it: buttons work after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord.ext import commands

from cogs.netbox import render
from netbot.core.errors import BackendUnavailable, Refused, UserError
from netbot.core.health import Streak
from netbot.discord_bot import NetBot, as_text, requiring
from netbot.netbox import REFRESH_JOB, Card, ListPage, build, command_of, paged_key

log = logging.getLogger(__name__)
T = TypeVar("T")

MIN_TYPED_FOR_MISS = 3  # an autocomplete miss on this much text asks for a refresh


class Answers(commands.Cog):
    """The NetBox cog's machinery; the commands themselves are in cog.py."""

    def __init__(self, bot: NetBot) -> None:
        self.bot = bot
        self.services = build(bot.runtime, self._on_miss)
        self.settings = self.services.settings
        self.lookups = self.services.lookups
        self.catalog = self.services.catalog
        self.ready = asyncio.Event()  # set after the first successful index refresh
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refreshing: asyncio.Task[None] | None = None
        # the refresh's own failure streak: a command's failure (also noted in the health)
        # must not swallow the one log line that says the index is not loading
        self._refresh_streak = Streak()
        bot.runtime.supervisor.every(
            REFRESH_JOB, self.settings.index_refresh_seconds, self.refresh_index,
            each_process=True,
        )  # fmt: skip

    async def aclose(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
        self.services.close()

    # ------------------------------------------------------------------ the index
    async def refresh_index(self) -> None:
        """The `netbox.refresh` job: reload every name. A failure is logged once per
        failure streak and shown in the health; the job never raises."""
        health = self.bot.runtime.health
        try:
            await self.bot.runtime.workers.run("netbox-index", self.catalog.refresh)
        except Exception as exc:  # the refresh must outlive any failure, bugs included
            message = exc.message if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            health.failure("netbox", message)
            if self._refresh_streak.failed():
                log.error(
                    "netbox: index refresh failing: %s", message,
                    exc_info=not isinstance(exc, UserError),
                )  # fmt: skip
            return
        if self._refresh_streak.succeeded():
            log.info("netbox: index refresh recovered")
        health.success("netbox")
        self.ready.set()

    def _on_miss(self) -> None:
        """A name the index did not know: refresh it soon (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._refresh_after_miss)

    def _refresh_after_miss(self) -> None:
        if (
            self._refreshing is None or self._refreshing.done()
        ) and self.catalog.miss_refresh_due():
            self._refreshing = asyncio.create_task(self.refresh_index(), name="netbox:miss")

    def complete(self, kind: str, typed: str) -> list[discord.OptionChoice]:
        """Up to 25 names of `kind` from the index; a miss on a few letters asks for a
        refresh (the object may be newer than the index)."""
        choices = self.catalog.index.complete(kind, typed)
        if not choices and len(typed.strip()) >= MIN_TYPED_FOR_MISS:
            self._refresh_after_miss()
        return [discord.OptionChoice(c.label, c.label) for c in choices]

    # ------------------------------------------------------------------ helpers
    def check_access(self, who: discord.User | discord.Member | None, command: str) -> None:
        """Refused unless `netbox.access` lets one of their roles use `command`."""
        if who is None:
            raise UserError("Discord did not say who you are; try again.")
        if self.bot.is_admin(who):
            return
        roles = {role.id for role in getattr(who, "roles", [])}
        if not self.settings.may_use(command, roles):
            raise Refused(f"Your roles do not allow /netbox {command}; ask an admin.")

    async def netbox_call(self, call: Callable[..., T], /, *args: Any) -> T:
        """A blocking NetBox call on the NetBox workers; its errors as text, health noted."""
        self._loop = asyncio.get_running_loop()  # for `_on_miss`, called from `call`'s worker
        try:
            with as_text():
                result = await self.bot.runtime.workers.run("netbox", call, *args)
        except BackendUnavailable as exc:
            self.bot.runtime.health.failure("netbox", exc.message)
            raise
        self.bot.runtime.health.success("netbox")
        return result

    def message(self, answer: Card | ListPage, key: str, *, shared: bool = False) -> render.Message:
        now = self.bot.runtime.clock.now()
        if isinstance(answer, Card):
            return render.card_message(answer, key, now, shared=shared)
        neighbours = (
            paged_key(key, answer.page - 1) if answer.page > 1 else None,
            paged_key(key, answer.page + 1) if answer.page < answer.pages else None,
        )
        return render.list_message(answer, key, neighbours, now, shared=shared)

    async def answer(
        self, ctx: discord.ApplicationContext, command: str, key: Callable[[], str]
    ) -> None:
        """Check access, defer, make the key (blocking: it may ask NetBox), answer its card."""
        self.check_access(ctx.author, command)
        await ctx.defer(ephemeral=True)
        made = await self.netbox_call(key)
        found = await self.netbox_call(self.lookups.open, made)
        await ctx.respond(ephemeral=True, **self.message(found, made).kwargs())

    def key_of(self, kind: str, text: str) -> Callable[[], str]:
        return lambda: f"{kind}:{self.lookups.resolve(kind, text)}"

    # ------------------------------------------------------------------ buttons
    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        parsed = render.parse_custom_id(interaction.custom_id or "")
        if interaction.type is not discord.InteractionType.component or parsed is None:
            return
        action, key = parsed
        try:
            self.check_access(interaction.user, command_of(key))
            if action == render.PAGE:
                await interaction.response.defer()
                found = await self.netbox_call(self.lookups.open, key)
                await interaction.edit_original_response(**self.message(found, key).kwargs())
            elif action == render.OPEN:
                await interaction.response.defer(ephemeral=True, invisible=False)
                found = await self.netbox_call(self.lookups.open, key)
                await interaction.followup.send(ephemeral=True, **self.message(found, key).kwargs())
            else:
                await self.share(interaction, key)
        except Exception as exc:
            await self.bot.report_failure(interaction, exc, f"button {interaction.custom_id}")

    async def share(self, interaction: discord.Interaction, key: str) -> None:
        """Post the card to the channel for everyone, naming who shared it (no ping)."""
        channel = interaction.channel
        if channel is None or not hasattr(channel, "send") or interaction.user is None:
            raise UserError("There is no channel here to share the card in.")
        await interaction.response.defer(ephemeral=True, invisible=False)
        found = await self.netbox_call(self.lookups.open, key)
        message = self.message(found, key, shared=True)
        await requiring(
            "Send Messages", "share this card",
            channel.send(
                content=f"Shared by {interaction.user.mention}",
                allowed_mentions=discord.AllowedMentions.none(), **message.kwargs(),
            ),
        )  # fmt: skip
        await interaction.followup.send("Shared in this channel.", ephemeral=True)
