"""`/incident`: declare, run and close incidents in Discord (netbot.incidents is the domain).

Three cogs share one `Desk`: the commands, the buttons (headline, reminders, alerts'
"Declare incident") and the timeline (reactions, the message command, edits, deletes,
extension events). The Discord spaces adapter is built first, then the service on it.
"""

import logging

from cogs.incidents.commands import IncidentCommands
from cogs.incidents.desk import Desk
from cogs.incidents.headline import IncidentButtons
from cogs.incidents.spaces import DiscordSpaces
from cogs.incidents.timeline import IncidentTimeline
from netbot.core.errors import UserError
from netbot.discord_bot import NetBot
from netbot.incidents import IncidentsConfig, build, unknown_invitees
from netbot.slack import mirror as slack_mirror

log = logging.getLogger(__name__)


def setup(bot: NetBot) -> None:
    settings = bot.runtime.config.section("incidents", IncidentsConfig)
    if settings.headline_channel_id is None:
        raise UserError("incidents.headline_channel_id is not set in the configuration")
    desk = Desk(bot, settings)
    spaces = DiscordSpaces(bot, settings)
    # Incident changes mirrored to Slack when the bridge is on (None otherwise).
    desk.service = build(bot.runtime, spaces, mirror=slack_mirror(bot.runtime))

    async def check_invitees() -> None:
        """Unknown auto-invite ids are said once at start-up, never a crash."""
        for guild in bot.guilds:
            if not bot.is_allowed(guild.id):
                continue
            members = {m.id for m in guild.members}
            roles = {r.id for r in guild.roles}
            for problem in unknown_invitees(settings, members, roles):
                log.warning("incidents configuration (guild %s): %s", guild.id, problem)

    bot.add_listener(check_invitees, "on_ready")
    bot.add_cog(IncidentCommands(desk))
    bot.add_cog(IncidentButtons(desk))
    bot.add_cog(IncidentTimeline(desk))
