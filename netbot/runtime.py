"""The shared services every cog, the CLI and the side door are given: one object, built once."""

from __future__ import annotations

from dataclasses import dataclass, field

from netbot.config import NetbotConfig
from netbot.db import Database
from netbot.health import Health
from netbot.metrics import Metrics
from netbot.secrets import Secrets


@dataclass
class Runtime:
    """Configuration, secrets and the long-lived services, passed to the bot factory.

    Cogs reach it as `bot.runtime`; domain functions take only the parts they need.
    """

    config: NetbotConfig
    secrets: Secrets
    database: Database
    health: Health = field(default_factory=Health)
    metrics: Metrics = field(default_factory=Metrics)
