"""Disaster alerts: the Kontur Event API (and optionally USGS) by Disaster Ninja's rules.

The engine and its clients (aiohttp, SQLAlchemy, ...) are imported on first use of their
names, not here: `python -m netbot.alerts replay` runs this file too, and needs only the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netbot.alerts.config import AlertsConfig, UsgsConfig
from netbot.core.capability import Capability, EnvVar
from netbot.core.lazy import lazy_names

if TYPE_CHECKING:
    from netbot.alerts.engine import AlertEngine
    from netbot.alerts.kontur import KonturClient, KonturError
    from netbot.alerts.service import POLL_JOB, build

CAPABILITY = Capability(
    name="alerts",
    cog="cogs.alerts",
    settings=AlertsConfig,
    env=(
        EnvVar(
            "KONTUR_USERNAME",
            "your Kontur account (https://apps.kontur.io), with the read:feed role",
            False,
        ),
        EnvVar("KONTUR_PASSWORD", "the password of that Kontur account"),
    ),
    models="netbot.alerts.models",
    migrations=Path(__file__).parent / "migrations",
    # Alert and digest embeds in `alerts.channel_id`.
    discord_permissions=("view_channel", "send_messages", "embed_links"),
)

_LAZY = {"AlertEngine": "netbot.alerts.engine", "POLL_JOB": "netbot.alerts.service",
         "build": "netbot.alerts.service", "KonturClient": "netbot.alerts.kontur",
         "KonturError": "netbot.alerts.kontur"}  # fmt: skip


__getattr__ = lazy_names(__name__, _LAZY)


__all__ = [
    "CAPABILITY",
    "POLL_JOB",
    "AlertEngine",
    "AlertsConfig",
    "KonturClient",
    "KonturError",
    "UsgsConfig",
    "build",
]
