"""The Discord side of netbot: the bot factory, replies Discord accepts, the Discord chat target.

With `cogs/`, the only code that imports discord.
"""

from netbot.discord_bot.bot import NOT_ALLOWED, SHUTTING_DOWN, NetBot, create_bot
from netbot.discord_bot.replies import fit_embed, fit_message, reply_ephemeral, requiring
from netbot.discord_bot.target import DiscordTarget

__all__ = [
    "NOT_ALLOWED",
    "SHUTTING_DOWN",
    "DiscordTarget",
    "NetBot",
    "create_bot",
    "fit_embed",
    "fit_message",
    "reply_ephemeral",
    "requiring",
]
