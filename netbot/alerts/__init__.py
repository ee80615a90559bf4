"""Disaster alerts: the Kontur Event API (and optionally USGS) by Disaster Ninja's rules."""

from netbot.alerts.config import AlertsConfig, UsgsConfig
from netbot.alerts.engine import AlertEngine
from netbot.alerts.service import POLL_JOB, build
from netbot.core.capability import Capability, EnvVar

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
)

__all__ = ["CAPABILITY", "POLL_JOB", "AlertEngine", "AlertsConfig", "UsgsConfig", "build"]
