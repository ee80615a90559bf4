"""`/netbox` and `/site`: NetBox lookups from Discord."""

from cogs.netbox.cog import Netbox
from netbot.discord_bot import NetBot


def setup(bot: NetBot) -> None:
    bot.add_cog(Netbox(bot))
