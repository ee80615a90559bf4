"""`/alerts`: disaster alerts posted to a channel, with operator commands.

The cog wires the alert engine (netbot/alerts/engine.py) to Discord: `ChannelPublisher` is
the Discord mirror target, and the commands show the engine's status and post a sample.
"""

import asyncio
import datetime as dt
from typing import Any

import discord
from discord.ext import commands

from netbot.alerts.engine import AlertEngine, Clock, Rejected, SystemClock, UsgsWatch
from netbot.alerts.kontur import KonturClient
from netbot.alerts.messages import AlertMessage, markdown_body, markdown_title
from netbot.alerts.rules import Rules
from netbot.alerts.usgs import UsgsClient
from netbot.core.errors import Refused, UserError
from netbot.core.text import clip
from netbot.discord_bot import NetBot, requiring

# Discord's limits for an embed's title and description, and for a digest line's link label.
TITLE_LIMIT, DESCRIPTION_LIMIT, LABEL_LIMIT = 256, 4096, 200

SAMPLE = AlertMessage(
    event_id="sample",
    prefix="[Test] ",
    name="Orange flood alert in Exampleland",
    link="https://disaster.ninja/active/",
    description="A sample alert from /alerts test: if you can read this, alerts reach this channel.",
    rows=["Total population: 12,345 people on 67.8 km².", "Forest area: 9.1 km²."],
)


def alert_embed(message: AlertMessage) -> discord.Embed:
    """The name links to the Disaster Ninja map; description and rows fill the body. The
    feed's text is escaped and cut to Discord's limits (`markdown_title`/`markdown_body`)."""
    return discord.Embed(
        title=markdown_title(message, TITLE_LIMIT),
        url=message.link,
        description=markdown_body(message, DESCRIPTION_LIMIT) or None,
        colour=discord.Colour.orange(),
    )


def digest_embed(header: str, messages: list[AlertMessage]) -> discord.Embed:
    """One numbered link per event, as many as fit: a line is never cut in half."""
    lines: list[str] = []
    for n, message in enumerate(messages, 1):
        line = f"{n}. [{markdown_title(message, LABEL_LIMIT)}]({message.link})"
        if sum(len(x) + 1 for x in [*lines, line]) - 1 > DESCRIPTION_LIMIT:
            break
        lines.append(line)
    return discord.Embed(title=clip(header, TITLE_LIMIT), description="\n".join(lines))


async def _send(channel: discord.abc.Messageable, **post: Any) -> None:
    """Send one message; a 400 (Discord refused the content) becomes `Rejected`."""
    try:
        await requiring(
            "Send Messages and Embed Links", "post in the alerts channel", channel.send(**post)
        )
    except discord.HTTPException as exc:
        if exc.status == 400:
            why = clip(" ".join(exc.text.split()), 200)  # one log line, however Discord words it
            raise Rejected(f"Discord answered HTTP 400 (code {exc.code}): {why}") from exc
        raise


class ChannelPublisher:
    """Posts alerts into one Discord channel. Feed content never pings anyone nor forms
    Markdown: the bot's default `allowed_mentions` is none, and feed text is escaped."""

    def __init__(self, bot: NetBot, channel_id: int) -> None:
        self.bot, self.channel_id = bot, channel_id

    async def _channel(self) -> discord.abc.Messageable:
        channel = self.bot.get_channel(self.channel_id)
        return channel or await self.bot.fetch_channel(self.channel_id)

    async def alert(self, message: AlertMessage) -> None:
        await _send(await self._channel(), embed=alert_embed(message))

    async def digest(self, header: str, messages: list[AlertMessage]) -> None:
        await _send(await self._channel(), embed=digest_embed(header, messages))

    async def good_news(self, text: str) -> None:
        await _send(await self._channel(), content=text)


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
