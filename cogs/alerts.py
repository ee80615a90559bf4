"""`/alerts`: disaster alerts posted to a channel, with operator commands.

The alert engine (netbot/alerts) is built on the runtime with a `DiscordTarget` for the
configured channel; its poll runs on the runtime's supervisor. The commands only show the
engine's status and ask it to post a sample.
"""

import datetime as dt

import discord
from discord.ext import commands

from netbot.alerts import AlertsConfig, build
from netbot.core.errors import Refused, UserError
from netbot.discord_bot import DiscordTarget, NetBot


class Alerts(commands.Cog):
    alerts = discord.SlashCommandGroup("alerts", "Disaster alerts")

    def __init__(self, bot: NetBot) -> None:
        self.bot = bot
        self.channel_id = bot.runtime.config.section("alerts", AlertsConfig).channel_id
        if self.channel_id is None:
            raise UserError("alerts.channel_id is not set in the configuration")
        target = DiscordTarget(bot, self.channel_id, "the alerts channel")
        self.engine = build(bot.runtime, target)

    async def aclose(self) -> None:
        """Close the engine's HTTP sessions (called by NetBot.close)."""
        await self.engine.close()

    @alerts.command(
        description="Alert engine status: last poll, cursors, today's counts, next digest"
    )
    async def status(self, ctx: discord.ApplicationContext) -> None:
        engine = self.engine
        now = engine.clock.now()
        health = self.bot.runtime.health.snapshot(True)["backends"]
        lines = [
            f"Last poll: {_when(engine.last_poll)}",
            *[f"Cursor {feed}: {_when(engine.state.cursors.get(feed))}" for feed in engine.feeds],
            f"Today: {engine.today.notified} alert(s), {engine.today.skipped} skipped, "
            f"{engine.today.problems} problem(s) logged, {engine.today.polls} poll(s)",
            f"Next digest check: {_when(engine.next_digest(now))} (sent only if no alert that day)",
        ]
        for source in ("kontur", "usgs", "discord"):
            if source in health:
                state = health[source]
                lines.append(
                    f"{source}: {'FAILING: ' + str(state['last_error']) if state['failing'] else 'ok'}"
                )
        await ctx.respond("\n".join(lines), ephemeral=True)

    @alerts.command(description="Post a sample alert to the alerts channel (admins)")
    async def test(self, ctx: discord.ApplicationContext) -> None:
        if not self.bot.is_admin(ctx.author):
            raise Refused("Only admins can post a test alert.")
        await ctx.defer(ephemeral=True)
        await self.engine.post_sample()
        await ctx.respond(f"Posted a sample alert to <#{self.channel_id}>.")


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "never"
    return f"<t:{int(moment.timestamp())}:f> ({moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)"


def setup(bot: NetBot) -> None:
    bot.add_cog(Alerts(bot))
