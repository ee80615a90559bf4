"""Behaviour configuration: one YAML file, checked against a typed schema at start-up.

The schema is the documentation of record for every key (see config/netbot.example.yaml).
Unknown keys are errors, so a typo never silently turns a feature off. `load_config` reports
every problem at once, each as (key, what is wrong, what was expected).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

Snowflake = Annotated[int, Field(gt=0, description="a Discord id (a positive integer)")]


class Section(BaseModel):
    """Base for every section: unknown keys are errors, so a typo is reported, not ignored.

    `EXPECTED` maps a key name to the phrase shown as "expected ..." when its value is wrong,
    for keys whose type alone does not say enough (a quoted time of day, a public URL).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    EXPECTED: ClassVar[dict[str, str]] = {}


S = TypeVar("S", bound=Section)


class HttpConfig(Section):
    """The HTTP side door (/healthz, /metrics)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


class StorageConfig(Section):
    """Where the default SQLite file lives; DATABASE_URL in the environment overrides it."""

    data_dir: str = "data"


class RolesConfig(Section):
    """Discord roles with special powers."""

    admin: list[Snowflake] = Field(default_factory=list)


class TeamConfig(Section):
    """A Redmine group, the Discord role that stands for it, and the channels it owns."""

    name: str = Field(min_length=1)
    role_id: Snowflake | None = None
    channels: list[Snowflake] = Field(default_factory=list)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class CoreConfig(Section):
    """The core of the configuration; each capability adds its own section (see `compose`)."""

    guilds: list[Snowflake] = Field(min_length=1, description="guild ids allowed to use the bot")
    timezone: str = "UTC"
    roles: RolesConfig = Field(default_factory=RolesConfig)
    teams: list[TeamConfig] = Field(default_factory=list)
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

    def section(self, name: str, model: type[S]) -> S:
        """The capability section `name`, typed as its model (see `compose`)."""
        value = getattr(self, name, None)
        if not isinstance(value, model):
            raise LookupError(f"the configuration has no {name!r} section of type {model.__name__}")
        return value

    def switched_on(self, name: str) -> bool:
        """Whether `cogs.<name>` is on (a capability the configuration does not know: off)."""
        return bool(getattr(getattr(self, "cogs", None), name, False))

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


def _expected_for(error: Mapping[str, Any], hints: Mapping[str, str]) -> str:
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
    if error["loc"] and str(error["loc"][-1]) in hints:
        return hints[str(error["loc"][-1])]
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


def _problems_from(exc: ValidationError, hints: Mapping[str, str]) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] != "missing" and "input" in error and not isinstance(error["input"], dict):
            message = f"{message}; got {error['input']!r}"
        problems.append(Problem(key=key, problem=message, expected=_expected_for(error, hints)))
    return problems


def compose(sections: Mapping[str, type[Section]]) -> type[CoreConfig]:
    """The whole configuration model: the core keys, one section per capability (its key is
    the capability's name), and `cogs`, a switch per capability (on by default).

    Built from the capabilities' own section models, so the core knows none of them.
    """
    switches = create_model(
        "CogSwitches",
        __base__=Section,
        core=(bool, True),
        **{name: (bool, True) for name in sections},  # type: ignore[call-overload]
    )
    fields: dict[str, Any] = {
        name: (model, Field(default_factory=model)) for name, model in sections.items()
    }
    fields["cogs"] = (switches, Field(default_factory=switches))
    return create_model("NetbotConfig", __base__=CoreConfig, **fields)


def _hints(model: type[BaseModel]) -> dict[str, str]:
    """Every section's EXPECTED phrases, found by walking the model's nested sections."""
    hints: dict[str, str] = dict(getattr(model, "EXPECTED", {}))
    for field in model.model_fields.values():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            hints.update(_hints(annotation))
    return hints


def parse_config(
    data: Any, model: type[CoreConfig] = CoreConfig, path: str | Path = "<config>"
) -> CoreConfig:
    """Validate already-loaded YAML data against `model`; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(
            path, [Problem("(top level)", "the file is not a mapping", "key: value pairs")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, _problems_from(exc, _hints(model))) from None


# Variables that override one key each: the file is shared, but where the side door listens
# belongs to the deployment (the container image sets them; see the Dockerfile).
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "NETBOT_HTTP_ENABLED": ("http", "enabled"),
    "NETBOT_HTTP_HOST": ("http", "host"),
    "NETBOT_HTTP_PORT": ("http", "port"),
}


def _override(data: Any, environ: Mapping[str, str]) -> tuple[Any, dict[str, str]]:
    """`data` with ENV_OVERRIDES applied, and which key came from which variable. A section
    that is not a mapping is left alone, so its own error is reported."""
    if not isinstance(data, dict):
        return data, {}
    data, origins = dict(data), {}
    for name, (section, key) in ENV_OVERRIDES.items():
        current = data.get(section)
        if environ.get(name, "") != "" and isinstance(current, dict | None):
            data[section] = {**(current or {}), key: environ[name]}
            origins[f"{section}.{key}"] = name
    return data, origins


def load_config(
    path: str | Path,
    model: type[CoreConfig] = CoreConfig,
    environ: Mapping[str, str] | None = None,
) -> CoreConfig:
    """Read and validate the YAML file at `path` against `model`, with ENV_OVERRIDES from
    `environ` (the process environment by default) winning over the file."""
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
    data, origins = _override(data, os.environ if environ is None else environ)
    try:
        return parse_config(data, model, path)
    except ConfigError as exc:
        problems = [
            replace(p, key=f"{p.key} (from {origins[p.key]})") if p.key in origins else p
            for p in exc.problems
        ]
        raise ConfigError(exc.path, problems) from None


def public_http_url(value: str, credentials_hint: str) -> str:
    """Check a configured URL whose links are posted for everyone to read: http(s), a host,
    and no `user:password@` (`credentials_hint` says where credentials go instead). Returns
    it without a trailing slash; raises ValueError (pydantic's validation message)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    if "@" in parts.netloc:
        raise ValueError(f"must not contain user:password@ ({credentials_hint})")
    return value.rstrip("/")
