"""The threader's button in a ticket's thread: "Sync status" shows what `/ticket sync N`
shows. The sync itself runs in threader.py (REST, its own process); the bot only reads its
state from the shared database."""

import discord
from discord.ext import commands

from netbot.core.errors import UserError
from netbot.discord_bot import NetBot, reply_ephemeral
from netbot.threader import STATUS_PREFIX, sync_report


class ThreaderStatus(commands.Cog):
    def __init__(self, bot: NetBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        custom_id = interaction.custom_id or ""
        if interaction.type is not discord.InteractionType.component or not custom_id.startswith(
            STATUS_PREFIX
        ):
            return
        # A guild off the allow-list never gets here: NetBot's gate refuses its components.
        try:
            ticket = custom_id.removeprefix(STATUS_PREFIX)
            if not ticket.isdigit() or not 0 < int(ticket) < 2**31:
                raise UserError("This button names no ticket; use /ticket sync instead.")
            await reply_ephemeral(interaction, await sync_report(self.bot.runtime, int(ticket)))
        except Exception as exc:
            await self.bot.report_failure(interaction, exc, f"button {custom_id}")


def setup(bot: NetBot) -> None:
    bot.add_cog(ThreaderStatus(bot))
