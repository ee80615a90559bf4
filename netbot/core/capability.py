"""How a capability declares itself: its name, cog, configuration section, environment
variables, tables and Discord permissions. Each capability package exports one `CAPABILITY`;
`netbot/capabilities.py` lists them, and the core reads only these declarations, never the packages themselves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netbot.core.config import Section
from netbot.core.secrets import EnvVar

__all__ = ["Capability", "EnvVar"]


@dataclass(frozen=True)
class Capability:
    """One capability: `name` is its configuration key and its `cogs.<name>` switch."""

    name: str
    cog: str  # the py-cord extension, e.g. "cogs.tickets"
    settings: type[Section] | None = None  # its section of the YAML file, under `name:`
    env: tuple[EnvVar, ...] = ()  # needed to load its cog; each missing one is named once
    models: str | None = None  # the module declaring its tables on netbot.core.models.Base
    # Its own migration history (a folder of Alembic revisions on a branch named after it,
    # each first one `depends_on` a core revision); None while its tables are in the core's.
    migrations: Path | None = None
    # The Discord permissions its cog uses, as py-cord's `discord.Permissions` flag names
    # (plain strings: the core never imports discord); the invite link asks for the union of
    # the enabled capabilities' (`python -m netbot invite-url`).
    discord_permissions: tuple[str, ...] = ()
    # Privileged gateway intents its cog reads ("message_content", "members"): the bot asks
    # Discord for them when the capability is switched on (they must be enabled in the
    # Developer Portal, else Discord refuses the connection and netbot says which toggle).
    privileged_intents: tuple[str, ...] = ()

    @property
    def requires(self) -> tuple[str, ...]:
        return tuple(var.name for var in self.env)
