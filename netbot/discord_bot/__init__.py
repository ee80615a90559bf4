"""The Discord side of netbot: the bot factory, replies Discord accepts, the Discord chat target.

With `cogs/`, the only code that imports discord.
"""

from netbot.discord_bot.bot import (
    DEFAULT_RETRY_DELAYS,
    NOT_ALLOWED,
    SHUTTING_DOWN,
    DiscordProblem,
    DiscordRefused,
    DiscordUnreachable,
    NetBot,
    create_bot,
)
from netbot.discord_bot.invite import (
    application_id_from_token,
    enabled_permissions,
    invite_url,
    permissions_value,
)
from netbot.discord_bot.replies import (
    as_text,
    fit_embed,
    fit_message,
    reply_ephemeral,
    requiring,
    who,
)
from netbot.discord_bot.target import DiscordTarget

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "NOT_ALLOWED",
    "SHUTTING_DOWN",
    "DiscordProblem",
    "DiscordRefused",
    "DiscordTarget",
    "DiscordUnreachable",
    "NetBot",
    "application_id_from_token",
    "as_text",
    "create_bot",
    "enabled_permissions",
    "fit_embed",
    "fit_message",
    "invite_url",
    "permissions_value",
    "reply_ephemeral",
    "requiring",
    "who",
]
