"""NetBox from Discord: sites, devices, addresses, prefixes, VLANs, circuits and racks.

The lookups (pynetbox, requests) are imported on first use of their names, not here: the
capability registry imports this package whenever the configuration is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netbot.core.capability import Capability, EnvVar
from netbot.core.lazy import lazy_names
from netbot.netbox.config import COMMANDS, NetboxConfig

if TYPE_CHECKING:
    from netbot.netbox.catalog import Catalog
    from netbot.netbox.client import NetboxClient, NetboxTokenRejected, NetboxUnavailable
    from netbot.netbox.index import CHOICES_LIMIT, Choice, Entry, NameIndex
    from netbot.netbox.lookups import (
        SITE_STATUSES,
        Lookups,
        command_of,
        host_of,
        list_key,
        network_of,
        paged_key,
    )
    from netbot.netbox.records import Card, Fact, ListPage, Table
    from netbot.netbox.service import REFRESH_JOB, TOKEN_ENV, NetboxServices, build, client_for

CAPABILITY = Capability(
    name="netbox",
    cog="cogs.netbox",
    settings=NetboxConfig,
    env=(
        EnvVar(
            "NETBOX_TOKEN",
            "NetBox > your user > API Tokens > Add a token (read-only is enough)",
        ),
    ),
    # Cards as embeds, tables too long for them as text files, shared cards in the channel.
    discord_permissions=("view_channel", "send_messages", "embed_links", "attach_files"),
)

_LAZY = {
    "Catalog": "netbot.netbox.catalog", "NetboxClient": "netbot.netbox.client",
    "NetboxTokenRejected": "netbot.netbox.client", "NetboxUnavailable": "netbot.netbox.client",
    "CHOICES_LIMIT": "netbot.netbox.index", "Choice": "netbot.netbox.index",
    "Entry": "netbot.netbox.index", "NameIndex": "netbot.netbox.index",
    "Lookups": "netbot.netbox.lookups", "command_of": "netbot.netbox.lookups",
    "host_of": "netbot.netbox.lookups", "network_of": "netbot.netbox.lookups",
    "list_key": "netbot.netbox.lookups", "paged_key": "netbot.netbox.lookups",
    "SITE_STATUSES": "netbot.netbox.lookups",
    "Card": "netbot.netbox.records", "Fact": "netbot.netbox.records",
    "ListPage": "netbot.netbox.records", "Table": "netbot.netbox.records",
    "REFRESH_JOB": "netbot.netbox.service", "NetboxServices": "netbot.netbox.service",
    "build": "netbot.netbox.service", "client_for": "netbot.netbox.service",
    "TOKEN_ENV": "netbot.netbox.service",
}  # fmt: skip

__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "CAPABILITY",
    "CHOICES_LIMIT",
    "COMMANDS",
    "REFRESH_JOB",
    "SITE_STATUSES",
    "TOKEN_ENV",
    "Card",
    "Catalog",
    "Choice",
    "Entry",
    "Fact",
    "ListPage",
    "Lookups",
    "NameIndex",
    "NetboxClient",
    "NetboxConfig",
    "NetboxServices",
    "NetboxTokenRejected",
    "NetboxUnavailable",
    "Table",
    "build",
    "client_for",
    "command_of",
    "host_of",
    "list_key",
    "network_of",
    "paged_key",
]
