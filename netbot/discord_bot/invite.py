"""The bot's invite link: the scopes and exactly the permissions the enabled cogs declare.

Capabilities declare their permissions as plain `discord.Permissions` flag names
(`Capability.discord_permissions`, since the core never imports discord); the integer
Discord expects in the link is computed here, from the cogs the configuration switches on.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from urllib.parse import urlencode

import discord

from netbot.core.capability import Capability
from netbot.core.config import CoreConfig
from netbot.discord_bot.bot import COGS

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
SCOPES = ("bot", "applications.commands")


def permissions_value(names: Iterable[str]) -> int:
    """The permission integer for flag names; ValueError names a flag py-cord does not know."""
    flags = set(names)
    unknown = sorted(name for name in flags if name not in discord.Permissions.VALID_FLAGS)
    if unknown:
        raise ValueError(f"unknown Discord permission(s): {', '.join(unknown)}")
    return discord.Permissions(**dict.fromkeys(flags, True)).value


def enabled_permissions(config: CoreConfig, cogs: Iterable[Capability] | None = None) -> list[str]:
    """The flag names the cogs switched on in `config` declare (by default every cog the bot
    knows, core included), sorted, each once."""
    cogs = COGS if cogs is None else cogs
    return sorted(
        {name for cog in cogs if config.switched_on(cog.name) for name in cog.discord_permissions}
    )


def application_id_from_token(token: str) -> int | None:
    """The bot's user id (its application's id, for any bot made since 2019), read from the
    token's first segment (the id in base64): no Discord login needed. None if unreadable."""
    first = token.strip().split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() else None


def invite_url(client_id: int, permissions: int) -> str:
    """The OAuth2 link that adds the bot with its slash commands and `permissions`."""
    query = {"client_id": client_id, "scope": " ".join(SCOPES), "permissions": permissions}
    return f"{AUTHORIZE_URL}?{urlencode(query)}"
