"""`/alerts`: disaster alerts posted to a channel, with operator commands.

The alert engine (netbot/alerts) is built on the runtime with a `DiscordTarget` for the
configured channel; its poll runs on the runtime's supervisor. The commands only show the
engine's status and ask it to post a sample.
"""

import dataclasses
import datetime as dt

import discord
from discord.ext import commands

from netbot.alerts import AlertsConfig, build
from netbot.chat import Action, Post, PostRef, Target
from netbot.core.errors import Refused, UserError
from netbot.discord_bot import DiscordTarget, NetBot
from netbot.incidents import DECLARE_FROM_ALERT
from netbot.slack import mirror


class WithDeclareButton:
    """Alert posts (warning cards) carry "Declare incident", which opens the incidents'
    declare form prefilled from the alert (cogs/incidents answers the button by its id)."""

    BUTTON = Action("Declare incident", DECLARE_FROM_ALERT, "danger")

    def __init__(self, target: Target) -> None:
        self.target, self.name = target, target.name

    async def post(self, post: Post) -> PostRef:
        if post.accent == "warning":
            post = dataclasses.replace(post, actions=(self.BUTTON,))
        return await self.target.post(post)

    async def edit(self, ref: PostRef, post: Post) -> None:
        await self.target.edit(ref, post)

    async def delete(self, ref: PostRef) -> None:
        await self.target.delete(ref)


class Alerts(commands.Cog):
    alerts = discord.SlashCommandGroup("alerts", "Disaster alerts")

    def __init__(self, bot: NetBot) -> None:
        self.bot = bot
        self.channel_id = bot.runtime.config.section("alerts", AlertsConfig).channel_id
        if self.channel_id is None:
            raise UserError("alerts.channel_id is not set in the configuration")
        target: Target = DiscordTarget(bot, self.channel_id, "the alerts channel")
        if bot.runtime.config.switched_on("incidents"):
            target = WithDeclareButton(target)
        # Each alert also goes to Slack when the bridge is on (written with its record).
        self.engine = build(bot.runtime, target, mirror(bot.runtime))

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
