"""`/ticket`: Redmine tickets from Discord (the same commands as tickets.py)."""

from cogs.tickets.cog import Tickets
from netbot.discord_bot import NetBot


def setup(bot: NetBot) -> None:
    bot.add_cog(Tickets(bot))
