"""`/netbot status` and `/netbot help`: the bot describing itself.

Status answers "is the bot healthy and which backends work?" without leaving Discord, with a
Refresh button; help lists every command the bot has loaded, with autocomplete.
"""

import discord
from discord.ext import commands

from netbot.core.status import command_help, help_topics, status_lines
from netbot.discord_bot import NetBot, fit_embed

REFRESH_ID = "netbot:status:refresh"


async def status_embed(bot: NetBot) -> discord.Embed:
    runtime = bot.runtime
    database_ok = await runtime.database_probe.reachable()
    lines = status_lines(runtime.health.snapshot(database_ok), bot.loaded_cogs)
    # Sent by a button as well as by the command, so fitted here, not only by the context.
    return fit_embed(discord.Embed(title="netbot status", description="\n".join(lines)))


class StatusView(discord.ui.View):
    """The Refresh button under a status reply (persistent: survives restarts)."""

    def __init__(self, bot: NetBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Refresh", style=discord.ButtonStyle.secondary, custom_id=REFRESH_ID)
    async def refresh(self, _button: discord.ui.Button, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(embed=await status_embed(self.bot), view=self)


class Core(commands.Cog):
    netbot = discord.SlashCommandGroup("netbot", "About netbot itself")

    def __init__(self, bot: NetBot) -> None:
        self.bot = bot
        bot.add_view(StatusView(bot))

    @netbot.command(description="Health of the bot and its backends")
    async def status(self, ctx: discord.ApplicationContext) -> None:
        await ctx.respond(
            embed=await status_embed(self.bot), view=StatusView(self.bot), ephemeral=True
        )

    async def _topics(self, ctx: discord.AutocompleteContext) -> list[str]:
        return help_topics(self._commands(), ctx.value or "")

    @netbot.command(name="help", description="What a command does and its options")
    @discord.option("command", description="A command name", autocomplete=_topics)
    async def help_(self, ctx: discord.ApplicationContext, command: str) -> None:
        await ctx.respond(command_help(self._commands(), command), ephemeral=True)

    def _commands(self) -> dict[str, tuple[str, list[str]]]:
        """Every leaf slash command: qualified name -> (description, option names)."""
        found = {}
        for cmd in self.bot.walk_application_commands():
            if isinstance(cmd, discord.SlashCommand):
                found[cmd.qualified_name] = (cmd.description, [str(o.name) for o in cmd.options])
        return found


def setup(bot: NetBot) -> None:
    bot.add_cog(Core(bot))
