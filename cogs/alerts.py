"""`/alerts`: disaster alerts posted to a channel, with operator commands.

The cog wires the alert engine (netbot/alerts/engine.py) to Discord: `ChannelPublisher` is
the Discord mirror target, and the commands show the engine's status and post a sample.
"""

import asyncio
import datetime as dt

import discord
from discord.ext import commands

from netbot.alerts.engine import AlertEngine, Clock, SystemClock, UsgsWatch
from netbot.alerts.kontur import KonturClient
from netbot.alerts.messages import AlertMessage
from netbot.alerts.rules import Rules
from netbot.alerts.usgs import UsgsClient
from netbot.bot import NetBot
from netbot.errors import Refused, UserError
from netbot.text import clip, quiet

SAMPLE = AlertMessage(
    event_id="sample",
    title="[Test] Orange flood alert in Exampleland",
    link="https://disaster.ninja/active/",
    description="A sample alert from /alerts test: if you can read this, alerts reach this channel.",
    rows=["Total population: 12,345 people on 67.8 km².", "Forest area: 9.1 km²."],
)


def alert_embed(message: AlertMessage) -> discord.Embed:
    """The name links to the Disaster Ninja map; description and rows fill the body."""
    body = "\n".join(quiet(part) for part in [message.description, *message.rows] if part)
    return discord.Embed(
        title=clip(quiet(message.title), 256),
        url=message.link,
        description=clip(body, 4096) or None,
        colour=discord.Colour.orange(),
    )


class ChannelPublisher:
    """Posts alerts into one Discord channel. Feed content never pings anyone: the bot's
    default `allowed_mentions` is none, and titles are defused with `quiet` as well."""

    def __init__(self, bot: NetBot, channel_id: int) -> None:
        self.bot, self.channel_id = bot, channel_id

    async def _channel(self) -> discord.abc.Messageable:
        channel = self.bot.get_channel(self.channel_id)
        return channel or await self.bot.fetch_channel(self.channel_id)

    async def alert(self, message: AlertMessage) -> None:
        channel = await self._channel()
        await channel.send(embed=alert_embed(message))

    async def digest(self, header: str, messages: list[AlertMessage]) -> None:
        lines = [f"{n}. [{clip(quiet(m.title), 200)}]({m.link})" for n, m in enumerate(messages, 1)]
        embed = discord.Embed(title=clip(header, 256), description=clip("\n".join(lines), 4096))
        channel = await self._channel()
        await channel.send(embed=embed)

    async def good_news(self, text: str) -> None:
        channel = await self._channel()
        await channel.send(text)


class Alerts(commands.Cog):
    alerts = discord.SlashCommandGroup("alerts", "Disaster alerts")

    def __init__(self, bot: NetBot, clock: Clock | None = None) -> None:
        self.bot = bot
        runtime = bot.runtime
        settings = runtime.config.alerts
        if settings.channel_id is None:
            raise UserError("alerts.channel_id is not set in the configuration")
        self.source = KonturClient(
            api_url=settings.api_url,
            token_url=settings.token_url,
            username=runtime.secrets.kontur_username,
            password=runtime.secrets.kontur_password,
            client_id=settings.client_id,
            page_limit=settings.page_limit,
        )
        usgs = None
        if settings.usgs.enabled:
            usgs = UsgsWatch(UsgsClient(settings.usgs.feed_url), settings.usgs)
        self.engine = AlertEngine(
            source=self.source,
            publisher=ChannelPublisher(bot, settings.channel_id),
            database=runtime.database,
            rules_=Rules.from_config(settings, runtime.config.timezone),
            feeds=list(settings.feeds),
            poll_seconds=settings.poll_seconds,
            digest_time=settings.digest_clock,
            clock=clock or SystemClock(),
            health=runtime.health,
            usgs=usgs,
        )
        self._task: asyncio.Task[None] | None = None

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.engine.run())

    async def aclose(self) -> None:
        """Stop the loop and close the HTTP sessions (called by NetBot.close)."""
        if self._task is not None:
            self._task.cancel()
        await self.source.close()
        if self.engine.usgs is not None:
            await self.engine.usgs.client.close()

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
            f"Today: {engine.today.notified} alert(s), {engine.today.skipped} skipped, {engine.today.polls} poll(s)",
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
        await self.engine.publisher.alert(SAMPLE)
        await ctx.respond(
            f"Posted a sample alert to <#{self.bot.runtime.config.alerts.channel_id}>."
        )


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "never"
    return f"<t:{int(moment.timestamp())}:f> ({moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)"


def setup(bot: NetBot) -> None:
    bot.add_cog(Alerts(bot))
