"""Behaviour configuration: one YAML file, checked against a typed schema at start-up.

The schema is the documentation of record for every key (see config/netbot.example.yaml).
Unknown keys are errors, so a typo never silently turns a feature off. `load_config` reports
every problem at once, each as (key, what is wrong, what was expected).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Snowflake = Annotated[int, Field(gt=0, description="a Discord id (a positive integer)")]

ALERT_TYPES = ("FLOOD", "WILDFIRE", "EARTHQUAKE", "CYCLONE", "VOLCANO", "DROUGHT", "STORM", "OTHER")
SEVERITIES = ("EXTREME", "SEVERE", "MODERATE", "MINOR", "UNKNOWN", "TERMINATION")


class Section(BaseModel):
    """Base for every section: unknown keys are errors, so a typo is reported, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpConfig(Section):
    """The HTTP side door (/healthz, /metrics)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


class StorageConfig(Section):
    """Where the default SQLite file lives; DATABASE_URL in the environment overrides it."""

    data_dir: str = "data"


class CogSwitches(Section):
    """Per-cog switches. A switched-on cog still needs its backend's secrets to load."""

    core: bool = True
    tickets: bool = True
    alerts: bool = True


class RolesConfig(Section):
    """Discord roles with special powers."""

    admin: list[Snowflake] = Field(default_factory=list)


class TeamConfig(Section):
    """A Redmine group, the Discord role that stands for it, and the channels it owns."""

    name: str = Field(min_length=1)
    role_id: Snowflake | None = None
    channels: list[Snowflake] = Field(default_factory=list)


class TicketsConfig(Section):
    """Redmine tickets from Discord and from tickets.py."""

    project: str = Field(default="ops", min_length=1)
    cache_refresh_seconds: int = Field(default=120, ge=10)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    page_size: int = Field(default=10, ge=1, le=25)
    # The Redmine address people see in links; default: REDMINE_URL without credentials.
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """Links are posted to Discord for everyone to read: http(s), and no credentials."""
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if "@" in parts.netloc:
            raise ValueError("must not contain user:password@ (it is shown to everyone)")
        return value.rstrip("/")


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


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class NetbotConfig(Section):
    """The whole behaviour configuration."""

    guilds: list[Snowflake] = Field(min_length=1, description="guild ids allowed to use the bot")
    timezone: str = "UTC"
    roles: RolesConfig = Field(default_factory=RolesConfig)
    teams: list[TeamConfig] = Field(default_factory=list)
    cogs: CogSwitches = Field(default_factory=CogSwitches)
    tickets: TicketsConfig = Field(default_factory=TicketsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def team_for_channel(self, channel_id: int) -> TeamConfig | None:
        return next((t for t in self.teams if channel_id in t.channels), None)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration."""

    key: str
    problem: str
    expected: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem} (expected {self.expected})"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, path: str | Path, problems: list[Problem]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.path}: {len(problems)} problem(s):\n{lines}")


def _expected_for(error: Mapping[str, Any]) -> str:
    """A short phrase for what pydantic wanted, from its error type and context."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        return "no such key; check its spelling against config/netbot.example.yaml"
    if kind == "missing":
        return "this key to be present"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"a value {_bounds(ctx)}"
    if error["loc"][-1:] == ("public_url",):
        return "an http(s) URL without user:password@, such as https://redmine.example.org"
    if error["loc"][-1:] == ("digest_time",):
        return 'a quoted time of day such as "18:00"'
    if "int" in kind:
        return "a whole number" + (f" {_bounds(ctx)}" if ctx else "")
    if "float" in kind:
        return "a number" + (f" {_bounds(ctx)}" if ctx else "")
    if "bool" in kind:
        return "true or false"
    if kind.startswith("list") or kind == "too_short":
        return "a list" + (
            f" of at least {ctx['min_length']} item(s)" if "min_length" in ctx else ""
        )
    if kind.startswith("string"):
        return "a text value" + (
            f" of at least {ctx['min_length']} character(s)" if "min_length" in ctx else ""
        )
    if kind in ("model_type", "dict_type"):
        return "a mapping of keys to values"
    if kind == "value_error":
        return "a valid value (IANA time zone names such as Europe/Berlin)"
    return "a valid value"


def _bounds(ctx: dict[str, Any]) -> str:
    parts = []
    for key, word in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if key in ctx:
            parts.append(f"{word} {ctx[key]}")
    return " and ".join(parts)


def _problems_from(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] != "missing" and "input" in error and not isinstance(error["input"], dict):
            message = f"{message}; got {error['input']!r}"
        problems.append(Problem(key=key, problem=message, expected=_expected_for(error)))
    return problems


def parse_config(data: Any, path: str | Path = "<config>") -> NetbotConfig:
    """Validate already-loaded YAML data; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(
            path, [Problem("(top level)", "the file is not a mapping", "key: value pairs")]
        )
    try:
        return NetbotConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, _problems_from(exc)) from None


def load_config(path: str | Path) -> NetbotConfig:
    """Read and validate the YAML file at `path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, [Problem("(file)", "the file does not exist", "copy config/netbot.example.yaml")]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise ConfigError(path, [Problem(where, f"not valid YAML: {exc}", "valid YAML")]) from None
    return parse_config(data, path)
