"""The threader's button in a ticket's thread: "Sync status" shows what `/ticket sync N`
shows. The sync itself runs in threader.py (REST, its own process); the bot only reads its
state from the shared database."""

import discord
from discord.ext import commands

from netbot.core.errors import Refused, UserError
from netbot.discord_bot import NetBot, reply_ephemeral
from netbot.threader import STATUS_PREFIX, status_text, sync_status


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
        try:
            if not self.bot.is_allowed(interaction.guild_id):
                raise Refused("netbot is not enabled in this server.")
            ticket = custom_id.removeprefix(STATUS_PREFIX)
            if not ticket.isdigit() or not 0 < int(ticket) < 2**31:
                raise UserError("This button names no ticket; use /ticket sync instead.")
            runtime = self.bot.runtime
            status = await runtime.workers.run(
                "database", sync_status, runtime.database, int(ticket)
            )
            await reply_ephemeral(interaction, status_text(status))
        except Exception as exc:
            await self.bot.report_failure(interaction, exc, f"button {custom_id}")


def setup(bot: NetBot) -> None:
    bot.add_cog(ThreaderStatus(bot))
