"""Secrets and deployment settings, read from the environment and an optional `.env` file.

Secrets never live in the YAML configuration (which is meant to be committed and shared),
and never reach a log line: `Secret` hides its value in `repr` and `str`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_DISCORD_API_BASE_URL = "https://discord.com/api/v{API_VERSION}"

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


# Where an operator gets each value: printed when one is missing.
HOW_TO_GET: dict[str, str] = {
    "DISCORD_TOKEN": "Discord Developer Portal > your application > Bot > Reset Token",
    "REDMINE_URL": "the base URL of your Redmine, e.g. https://redmine.example.org",
    "REDMINE_TOKEN": "Redmine > My account > API access key (an admin's key, for impersonation)",
    "NETBOX_URL": "the base URL of your NetBox, e.g. https://netbox.example.org",
    "NETBOX_TOKEN": "NetBox > your user > API Tokens > Add a token",
    "SLACK_BOT_TOKEN": "api.slack.com/apps > your app > OAuth & Permissions > Bot User OAuth Token",
    "KONTUR_USERNAME": "your Kontur account (https://apps.kontur.io), with the read:feed role",
    "KONTUR_PASSWORD": "the password of that Kontur account",
    "DATABASE_URL": "optional: any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db",
}


@dataclass(frozen=True)
class Secrets:
    """Everything netbot reads from the environment. Empty means "not configured"."""

    discord_token: Secret = field(default_factory=lambda: Secret(""))
    redmine_url: str = ""
    redmine_token: Secret = field(default_factory=lambda: Secret(""))
    netbox_url: str = ""
    netbox_token: Secret = field(default_factory=lambda: Secret(""))
    slack_bot_token: Secret = field(default_factory=lambda: Secret(""))
    kontur_username: str = ""
    kontur_password: Secret = field(default_factory=lambda: Secret(""))
    database_url: Secret = field(default_factory=lambda: Secret(""))
    discord_api_base_url: str = DEFAULT_DISCORD_API_BASE_URL
    config_path: str = "config/netbot.yaml"

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Secrets:
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper(), "")
            if f.name == "config_path":
                raw = env.get("NETBOT_CONFIG", "")
            if not raw:
                continue
            values[f.name] = Secret(raw) if f.type in ("Secret", Secret) else raw.rstrip("/")
        return cls(**values)  # type: ignore[arg-type]

    def missing(self, *names: str) -> list[str]:
        """The environment variable names among `names` that have no value."""
        return [name for name in names if not getattr(self, name.lower())]


def load_secrets(
    env_file: str | Path = ".env", environ: Mapping[str, str] | None = None
) -> Secrets:
    """Read `.env` (if present) under the process environment, which wins."""
    merged: dict[str, str] = {}
    path = Path(env_file)
    if path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return Secrets.from_mapping(merged)
