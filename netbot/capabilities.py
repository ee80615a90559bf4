"""The registry of capabilities, and the configuration composed from them.

Core is not a capability; everything else (tickets, alerts, and later the threader, NetBox,
incidents, the Slack bridge) declares itself in its own package (`CAPABILITY`) and is listed
in CAPABILITIES below, in load order: adding a capability adds one line there.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netbot import alerts, incidents, netbox, slack, threader, tickets
from netbot.core import config as core_config
from netbot.core.capability import Capability, EnvVar
from netbot.core.config import CoreConfig, Section

if TYPE_CHECKING:  # SQLAlchemy only where tables are wanted: tickets.py reads the config without
    from sqlalchemy import MetaData

CAPABILITIES: tuple[Capability, ...] = (
    tickets.CAPABILITY,
    alerts.CAPABILITY,
    slack.CAPABILITY,
    netbox.CAPABILITY,
    incidents.CAPABILITY,
    threader.CAPABILITY,
)

# Tables shared by several capabilities (who is who), declared outside any one of them.
SHARED_MODELS: tuple[str, ...] = ("netbot.identity.models",)


def sections() -> dict[str, type[Section]]:
    return {c.name: c.settings for c in CAPABILITIES if c.settings is not None}


NetbotConfig: type[CoreConfig] = core_config.compose(sections())


def parse_config(data: Any, path: str | Path = "<config>") -> CoreConfig:
    """Validate YAML data against the whole configuration; ConfigError lists every problem."""
    return core_config.parse_config(data, NetbotConfig, path)


def load_config(path: str | Path) -> CoreConfig:
    """Read and validate the YAML file at `path` against the whole configuration."""
    return core_config.load_config(path, NetbotConfig)


def env_vars() -> tuple[EnvVar, ...]:
    """Every environment variable some capability needs."""
    return tuple(var for c in CAPABILITIES for var in c.env)


def migration_dirs() -> tuple[Path, ...]:
    """The migration folders of the capabilities that keep their own history."""
    return tuple(c.migrations for c in CAPABILITIES if c.migrations is not None)


def metadata() -> MetaData:
    """`Base.metadata` with every capability's tables declared on it."""
    from netbot.core.models import Base

    for module in (*SHARED_MODELS, *(c.models for c in CAPABILITIES if c.models)):
        importlib.import_module(module)
    return Base.metadata
