"""The `netbox:` section of the configuration: where NetBox is, how to trust it, who may ask.

The address is configuration (it is not secret and is shown in links); the token is
NETBOX_TOKEN in the environment. TLS: `ca_bundle` names the certificate authority of a
self-signed NetBox (recommended); `verify_tls: false` turns checking off altogether and is
warned about at every start-up.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from netbot.core.config import Section, Snowflake, public_http_url

# Every command of the capability, and whether it changes anything in NetBox. A command
# that writes is refused unless `access` names roles for it (deny by default); none does yet.
COMMANDS: dict[str, bool] = {
    "site": False,
    "device": False,
    "ip": False,
    "prefix": False,
    "vlan": False,
    "circuit": False,
    "rack": False,
    "search": False,
}


class NetboxConfig(Section):
    """NetBox lookups from Discord: sites, devices, addresses, prefixes, VLANs, circuits."""

    EXPECTED: ClassVar[dict[str, str]] = {
        "url": "an http(s) URL without user:password@, such as https://netbox.example.org",
        "access": f"a mapping of command ({', '.join(COMMANDS)} or default) to role ids",
    }

    # NetBox's address, without /api (links to objects are built on it).
    url: str | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None  # a PEM file of the CA that signed NetBox's certificate
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    index_refresh_seconds: int = Field(default=300, ge=30)
    # Objects per request when listing (NetBox's MAX_PAGE_SIZE is 1000 by default).
    page_size: int = Field(default=1000, ge=50, le=1000)
    parallel_requests: int = Field(default=4, ge=1, le=16)
    # Lines of a paged list; each gets a button, and Discord allows 20 beside the pager row.
    rows_per_page: int = Field(default=10, ge=5, le=20)
    # Roles allowed per command; "default" applies to every read command not named. An
    # empty or absent list for a read command: everyone in an allowed guild. A command that
    # writes is refused unless its own list names roles.
    access: dict[str, list[Snowflake]] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        """Links built on it are posted to Discord: http(s), and no credentials."""
        if value is None:
            return None
        return public_http_url(value, "the token is NETBOX_TOKEN").removesuffix("/api")

    @field_validator("access")
    @classmethod
    def _known_commands(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        unknown = sorted(set(value) - set(COMMANDS) - {"default"})
        if unknown:
            raise ValueError(f"unknown command(s) {', '.join(unknown)}")
        return value

    def may_use(self, command: str, role_ids: set[int]) -> bool:
        """Whether someone holding `role_ids` may use `command` (admins are let through by
        the cog before asking)."""
        writes = COMMANDS[command]
        allowed = self.access.get(command)
        if allowed is None and not writes:
            allowed = self.access.get("default")
        if not allowed:
            return not writes
        return bool(role_ids & set(allowed))
