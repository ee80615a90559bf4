"""`/slack status`: the Slack bridge's per-channel backlog, for admins.

The bridge itself (netbot/slack) is built here on the runtime: its drainer runs as the
supervisor job `slack.drain`. Alerts and incidents receive its outbox hook from
`netbot.slack.mirror`, not from this cog.
"""

import datetime as dt

import discord
from discord.ext import commands

from netbot.core.errors import Refused
from netbot.core.text import outside
from netbot.discord_bot import NetBot
from netbot.slack import LaneReport, build, lane_reports


class Slack(commands.Cog):
    slack = discord.SlashCommandGroup("slack", "The Slack bridge")

    def __init__(self, bot: NetBot) -> None:
        self.bot = bot
        self.bridge = build(bot.runtime)

    async def aclose(self) -> None:
        """Close the Slack client's HTTP session (called by NetBot.close)."""
        await self.bridge.close()

    @slack.command(description="Per Slack channel: backlog, oldest pending, last success and error")
    async def status(self, ctx: discord.ApplicationContext) -> None:
        if not self.bot.is_admin(ctx.author):
            raise Refused("Only admins can see the Slack bridge's status.")
        await ctx.defer(ephemeral=True)
        runtime = self.bot.runtime
        reports = await runtime.workers.run("database", lane_reports, runtime.database)
        now = runtime.clock.now()
        lines = [_line(report, now) for report in reports] or ["Nothing mirrored yet."]
        await ctx.respond("\n".join(lines)[:1900], ephemeral=True)


def _line(report: LaneReport, now: dt.datetime) -> str:
    age = report.oldest_age(now)
    parts = [
        f"**{outside(report.lane)}**: {report.backlog} waiting",
        f"oldest {_span(age)} old" if age is not None else "",
        f"last success {_ago(report.last_success, now)}",
    ]
    if report.last_error is not None:
        parts.append(f"last error {_ago(report.last_error_at, now)}: "
                     f"{outside(report.last_error, 200)}")  # fmt: skip
    return " · ".join(part for part in parts if part)


def _ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    return "never" if moment is None else f"{_span(now - moment)} ago"


def _span(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}min"
    return f"{seconds // 3600}h"


def setup(bot: NetBot) -> None:
    bot.add_cog(Slack(bot))
