"""Secrets and deployment settings, read from the environment and an optional `.env` file.

Secrets never live in the YAML configuration (which is meant to be committed and shared),
and never reach a log line: `Secret` hides its value in `repr` and `str`.

Core reads only its own variables (CORE_ENV). Every other variable is declared by the
capability that needs it (`Capability.env`, gathered by `netbot.capabilities.env_vars()`)
and read by name: `secrets.value("REDMINE_URL")`, `secrets.secret("REDMINE_TOKEN")`. Adding a
capability therefore never touches this file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from dotenv import dotenv_values

DEFAULT_DISCORD_API_BASE_URL = "https://discord.com/api/v{API_VERSION}"
DEFAULT_CONFIG_PATH = "config/netbot.yaml"

MASK = "***"

# Credentials that travel inside text a library may print (an error, a URL, a header dump),
# whether or not they are one of netbot's own secrets: the bot also relays other people's
# tokens (impersonation, proxies), and a header is a secret by its name alone.
_CREDENTIALS = (
    # https://user:password@host
    re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?P<tail>@)", re.IGNORECASE),
    # ?key=..., &token=..., password=...
    re.compile(
        r"(?P<head>\b(?:api[_-]?key|key|token|access_token|password|passwd|secret)=)"
        r"[^\s&\"']+(?P<tail>)",
        re.IGNORECASE,
    ),
    # Authorization: Bearer x, 'X-Redmine-API-Key': 'x', "X-Api-Key": "x", Token x (NetBox)
    re.compile(
        r"(?P<head>\b(?:proxy-)?(?:authorization|x-redmine-api-key|x-api-key|api-key|x-auth-token"
        r"|cookie)['\"]?\s*[:=]\s*['\"]?(?:(?:bearer|basic|token|digest)\s+)?)"
        r"[^\s'\",;}]+(?P<tail>)",
        re.IGNORECASE,
    ),
    # a bearer token quoted on its own
    re.compile(r"(?P<head>\bBearer\s+)[A-Za-z0-9._~+/=-]+(?P<tail>)"),
    # Slack tokens: xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xapp-
    re.compile(r"(?P<head>\b(?:xox[abeoprs]|xapp)-)[A-Za-z0-9-]+(?P<tail>)"),
)


def mask_credentials(text: str) -> str:
    """`text` with every credential-looking value (in URLs, parameters, headers) masked."""
    for pattern in _CREDENTIALS:
        text = pattern.sub(rf"\g<head>{MASK}\g<tail>", text)
    return text


class Secret:
    """A string that refuses to be printed; call `reveal()` where the value is really needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class EnvVar:
    """An environment variable netbot reads, and where an operator gets its value.

    `secret` values are hidden in reprs and blanked from every log line; addresses and
    user names are not secret, so they stay readable in logs.
    """

    name: str
    how_to_get: str
    secret: bool = True


# Core's own variables; each capability declares its own in its `Capability.env`.
CORE_ENV: tuple[EnvVar, ...] = (
    EnvVar("DISCORD_TOKEN", "Discord Developer Portal > your application > Bot > Reset Token"),
    EnvVar(
        "DATABASE_URL",
        "optional: any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db",
    ),
    EnvVar(
        "DISCORD_API_BASE_URL",
        f"optional: a Discord-compatible API, default {DEFAULT_DISCORD_API_BASE_URL}",
        False,
    ),
    EnvVar(
        "NETBOT_CONFIG", f"optional: the YAML configuration, default {DEFAULT_CONFIG_PATH}", False
    ),
    EnvVar(
        "NETBOT_SHARD_COUNT",
        "optional: the bot's total number of Discord shards (default: Discord's recommendation)",
        False,
    ),
    EnvVar(
        "NETBOT_SHARD_IDS",
        "optional: the shards this process runs, e.g. 0,1 (needs NETBOT_SHARD_COUNT)",
        False,
    ),
)


@dataclass(frozen=True)
class Sharding:
    """Which Discord shards this process runs: `count` None asks Discord; `ids` None is all."""

    count: int | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, count: str, ids: str) -> Sharding:
        """Read NETBOT_SHARD_COUNT and NETBOT_SHARD_IDS; ValueError says what is wrong."""
        total: int | None = None
        if count.strip():
            if not count.strip().isdigit() or int(count) < 1:
                raise ValueError(f"NETBOT_SHARD_COUNT must be a whole number >= 1, not {count!r}")
            total = int(count)
        if not ids.strip():
            return cls(total, None)
        if total is None:
            raise ValueError("NETBOT_SHARD_IDS needs NETBOT_SHARD_COUNT (the total) as well")
        parts = [part.strip() for part in ids.split(",")]
        if not all(part.isdigit() and int(part) < total for part in parts):
            raise ValueError(
                f"NETBOT_SHARD_IDS must be shard numbers 0..{total - 1} separated by commas, "
                f"not {ids!r}"
            )
        return cls(total, tuple(sorted({int(part) for part in parts})))


@dataclass(frozen=True)
class Secrets:
    """Everything netbot reads from the environment. Empty means "not configured".

    Core's own values are attributes; capabilities' values live in `env`, by variable name:
    a secret one as a `Secret`, any other as a plain string.
    """

    discord_token: Secret = field(default_factory=lambda: Secret(""))
    database_url: Secret = field(default_factory=lambda: Secret(""))
    discord_api_base_url: str = DEFAULT_DISCORD_API_BASE_URL
    config_path: str = DEFAULT_CONFIG_PATH
    shard_count: str = ""
    shard_ids: str = ""
    env: Mapping[str, str | Secret] = field(default_factory=dict)
    how_to_get: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        hints = {var.name: var.how_to_get for var in CORE_ENV}
        object.__setattr__(self, "how_to_get", MappingProxyType({**hints, **self.how_to_get}))

    @classmethod
    def from_mapping(cls, environ: Mapping[str, str], env_vars: Iterable[EnvVar] = ()) -> Secrets:
        """Core's variables and each of `env_vars` from `environ`; anything else is ignored."""
        declared = {var.name: var for var in env_vars}
        env: dict[str, str | Secret] = {}
        for name, var in declared.items():
            raw = environ.get(name, "")
            env[name] = Secret(raw) if var.secret else raw.rstrip("/")
        core: dict[str, object] = {
            "discord_token": Secret(environ.get("DISCORD_TOKEN", "")),
            "database_url": Secret(environ.get("DATABASE_URL", "")),
            "shard_count": environ.get("NETBOT_SHARD_COUNT", ""),
            "shard_ids": environ.get("NETBOT_SHARD_IDS", ""),
        }
        for attribute, name in (
            ("discord_api_base_url", "DISCORD_API_BASE_URL"),
            ("config_path", "NETBOT_CONFIG"),
        ):
            if environ.get(name):
                core[attribute] = environ[name].rstrip("/")
        hints = {name: var.how_to_get for name, var in declared.items()}
        return cls(env=env, how_to_get=hints, **core)  # type: ignore[arg-type]

    @property
    def sharding(self) -> Sharding:
        """The shards this process runs (NETBOT_SHARD_COUNT, NETBOT_SHARD_IDS); ValueError if
        they make no sense."""
        return Sharding.parse(self.shard_count, self.shard_ids)

    def value(self, name: str) -> str:
        """A capability's non-secret variable ("" when unset). A secret one is refused, so
        it cannot leak as a plain string by mistake: read it with `secret()`."""
        raw = self.env.get(name, "")
        if isinstance(raw, Secret):
            raise TypeError(f"{name} is a secret; read it with secrets.secret({name!r})")
        return raw

    def secret(self, name: str) -> Secret:
        """A capability's variable as a `Secret` (empty when unset)."""
        raw = self.env.get(name, "")
        return raw if isinstance(raw, Secret) else Secret(raw)

    def _is_set(self, name: str) -> bool:
        core = {"DISCORD_TOKEN": self.discord_token, "DATABASE_URL": self.database_url}
        return bool(core[name] if name in core else self.env.get(name))

    def missing(self, *names: str) -> list[str]:
        """The environment variable names among `names` that have no value."""
        return [name for name in names if not self._is_set(name)]

    def hint(self, name: str) -> str:
        """Where an operator gets `name`'s value, for "X is not set" messages."""
        return self.how_to_get.get(name, "see .env.example")

    def secret_values(self) -> list[str]:
        """Every secret value set, for the log filter that blanks them."""
        secrets = (self.discord_token, self.database_url, *self.env.values())
        return [s.reveal() for s in secrets if isinstance(s, Secret) and s]


def load_secrets(
    env_file: str | Path = ".env",
    environ: Mapping[str, str] | None = None,
    env_vars: Iterable[EnvVar] = (),
) -> Secrets:
    """Read `.env` (if present) under the process environment, which wins: core's variables
    and each of `env_vars` (usually `netbot.capabilities.env_vars()`)."""
    merged: dict[str, str] = {}
    path = Path(env_file)
    if path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return Secrets.from_mapping(merged, env_vars)
