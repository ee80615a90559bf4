"""The `alerts:` section of the configuration: Disaster Ninja's notification rules."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field

from netbot.core.config import Section, Snowflake

ALERT_TYPES = ("FLOOD", "WILDFIRE", "EARTHQUAKE", "CYCLONE", "VOLCANO", "DROUGHT", "STORM", "OTHER")
SEVERITIES = ("EXTREME", "SEVERE", "MODERATE", "MINOR", "UNKNOWN", "TERMINATION")


class UsgsConfig(Section):
    """Optional second source for earthquakes: the USGS GeoJSON summary feed."""

    enabled: bool = False
    feed_url: str = "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/4.5_hour.geojson"
    min_magnitude: float = Field(default=6.0, ge=0)
    min_alert: Literal["green", "yellow", "orange", "red"] = "orange"
    dedup_window_minutes: int = Field(default=60, ge=1)


class AlertsConfig(Section):
    """Disaster alerts from the Kontur Event API, by Disaster Ninja's notification rules."""

    channel_id: Snowflake | None = None
    api_url: str = "https://apps.kontur.io/events/v1/"
    token_url: str = "https://keycloak01.kontur.io/realms/kontur/protocol/openid-connect/token"
    client_id: str = Field(default="kontur_platform", min_length=1)
    feeds: list[str] = Field(default_factory=lambda: ["kontur-public"], min_length=1)
    poll_seconds: int = Field(default=60, ge=10)
    page_limit: int = Field(default=100, ge=1, le=1000)
    types: list[Literal[ALERT_TYPES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["FLOOD", "WILDFIRE", "EARTHQUAKE", "CYCLONE", "VOLCANO"]
    )
    severities: list[Literal[SEVERITIES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["EXTREME", "SEVERE", "MODERATE"]
    )
    min_population: int = Field(default=500, ge=0)
    ended_max_days: int = Field(default=7, ge=0)
    skip_name_prefixes: list[str] = Field(default_factory=list)
    EXPECTED: ClassVar[dict[str, str]] = {"digest_time": 'a quoted time of day such as "18:00"'}

    digest_time: str = Field(
        default="18:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM in the configured time zone; quote it in YAML (18:00 unquoted is 1080)",
    )
    digest_severities: list[Literal[SEVERITIES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["MODERATE"]
    )
    digest_max_events: int = Field(default=7, ge=1, le=25)
    usgs: UsgsConfig = Field(default_factory=UsgsConfig)

    @property
    def digest_clock(self) -> dt.time:
        hours, minutes = self.digest_time.split(":")
        return dt.time(int(hours), int(minutes))
