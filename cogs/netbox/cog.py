"""`/netbox ...` and the short `/site`: the commands, each a few lines over answers.py.

Every command makes a key from what was typed (names resolved through the index, else
NetBox) and answers with its card (`Answers.answer`: access checked, deferred ephemerally,
NetBox called on its workers). Every name option is autocompleted from the in-memory index
only, never NetBox, and offers nothing to someone the command's access rule refuses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from cogs.netbox.answers import Answers
from netbot.core.errors import UserError
from netbot.netbox import SITE_STATUSES, host_of, list_key

T = TypeVar("T")


def completer(
    kind: str, command: str
) -> Callable[[Any, discord.AutocompleteContext], Awaitable[list[discord.OptionChoice]]]:
    """An autocomplete callback for names of `kind` in `command` (py-cord passes the cog
    first); someone who may not use the command is offered nothing."""

    async def complete(
        cog: Answers, ctx: discord.AutocompleteContext
    ) -> list[discord.OptionChoice]:
        try:
            cog.check_access(ctx.interaction.user, command)
        except UserError:
            return []
        return cog.complete(kind, ctx.value or "")

    return complete


def name_option(name: str, kind: str, description: str) -> Callable[[T], T]:
    """A required name option autocompleted with the index's names of `kind` (whose
    command has the same name)."""
    return discord.option(name, str, description=description, autocomplete=completer(kind, kind))


class Netbox(Answers):
    netbox = discord.SlashCommandGroup("netbox", "NetBox: sites, devices, addresses, prefixes")
    site_cmd = netbox.create_subgroup("site", "NetBox sites")
    device_cmd = netbox.create_subgroup("device", "NetBox devices")
    ip_cmd = netbox.create_subgroup("ip", "NetBox IP addresses")
    prefix_cmd = netbox.create_subgroup("prefix", "NetBox prefixes")
    vlan_cmd = netbox.create_subgroup("vlan", "NetBox VLANs")
    circuit_cmd = netbox.create_subgroup("circuit", "NetBox circuits")
    rack_cmd = netbox.create_subgroup("rack", "NetBox racks")
    short_site = discord.SlashCommandGroup("site", "NetBox sites (short for /netbox site)")

    # ------------------------------------------------------------------ sites
    async def site_list(
        self, ctx: discord.ApplicationContext, status: str | None, region: str | None,
        tenant: str | None,
    ) -> None:  # fmt: skip
        def key() -> str:
            region_id = self.lookups.region_id(region) if region else 0
            tenant_id = self.lookups.resolve("tenant", tenant) if tenant else 0
            return f"sites:1:{status or ''}:{region_id}:{tenant_id}"

        await self.answer(ctx, "site", key)

    async def site_show(self, ctx: discord.ApplicationContext, name: str) -> None:
        await self.answer(ctx, "site", self.key_of("site", name))

    status_option = discord.option(
        "status", str, description="Only sites with this status", choices=list(SITE_STATUSES),
        required=False,
    )  # fmt: skip
    region_option = discord.option(
        "region", str, description="Only sites in this region (its name)", required=False
    )
    tenant_option = discord.option(
        "tenant", str, description="Only sites of this tenant", required=False,
        autocomplete=completer("tenant", "site"),
    )  # fmt: skip
    site_option = name_option("name", "site", "Site name")

    @site_cmd.command(name="list", description="Sites, by status, region or tenant")
    @status_option
    @region_option
    @tenant_option
    async def netbox_site_list(
        self, ctx: discord.ApplicationContext, status: str | None, region: str | None,
        tenant: str | None,
    ) -> None:  # fmt: skip
        await self.site_list(ctx, status, region, tenant)

    @short_site.command(name="list", description="Sites, by status, region or tenant")
    @status_option
    @region_option
    @tenant_option
    async def short_site_list(
        self, ctx: discord.ApplicationContext, status: str | None, region: str | None,
        tenant: str | None,
    ) -> None:  # fmt: skip
        await self.site_list(ctx, status, region, tenant)

    @site_cmd.command(name="show", description="A site: address, racks, devices, prefixes")
    @site_option
    async def netbox_site_show(self, ctx: discord.ApplicationContext, name: str) -> None:
        await self.site_show(ctx, name)

    @short_site.command(name="show", description="A site: address, racks, devices, prefixes")
    @site_option
    async def short_site_show(self, ctx: discord.ApplicationContext, name: str) -> None:
        await self.site_show(ctx, name)

    # ------------------------------------------------------------------ the rest
    @device_cmd.command(name="show", description="A device: where it is, its addresses, interfaces")
    @name_option("name", "device", "Device name")
    async def device_show(self, ctx: discord.ApplicationContext, name: str) -> None:
        await self.answer(ctx, "device", self.key_of("device", name))

    @device_cmd.command(name="find", description="Devices by serial, asset tag or part of the name")
    @discord.option("term", str, description="Serial, asset tag or part of a name", max_length=60)
    async def device_find(self, ctx: discord.ApplicationContext, term: str) -> None:
        await self.answer(ctx, "device", lambda: list_key("find", term.strip()))

    @ip_cmd.command(name="lookup", description="An address: its object and its prefix")
    @name_option("address", "ip", "IP address, e.g. 192.0.2.10")
    async def ip_lookup(self, ctx: discord.ApplicationContext, address: str) -> None:
        await self.answer(ctx, "ip", lambda: f"ip:{host_of(address)}")

    @prefix_cmd.command(name="show", description="A prefix: utilisation, children, VLAN, site")
    @name_option("prefix", "prefix", "Prefix, e.g. 192.0.2.0/24")
    async def prefix_show(self, ctx: discord.ApplicationContext, prefix: str) -> None:
        await self.answer(ctx, "prefix", lambda: f"prefix:{self.lookups.prefix_id(prefix)}")

    @prefix_cmd.command(name="available", description="The next free addresses or child prefixes")
    @name_option("prefix", "prefix", "Prefix, e.g. 192.0.2.0/24")
    @discord.option(
        "count", int, description="How many (1-50)", default=5, min_value=1, max_value=50
    )
    @discord.option(
        "kind", str, description="Free addresses or free child prefixes (default: by the prefix)",
        choices=["addresses", "prefixes"], required=False,
    )  # fmt: skip
    async def prefix_available(
        self, ctx: discord.ApplicationContext, prefix: str, count: int, kind: str | None
    ) -> None:
        def key() -> str:
            prefix_id = self.lookups.prefix_id(prefix)
            what = {"addresses": "ips", "prefixes": "prefixes"}.get(kind or "") or (
                self.lookups.default_available(prefix_id)
            )
            return f"avail:{prefix_id}:{what}:{count}"

        await self.answer(ctx, "prefix", key)

    @vlan_cmd.command(name="show", description="A VLAN: site, group, prefixes")
    @name_option("vlan", "vlan", "VLAN name")
    async def vlan_show(self, ctx: discord.ApplicationContext, vlan: str) -> None:
        await self.answer(ctx, "vlan", self.key_of("vlan", vlan))

    @circuit_cmd.command(name="show", description="A circuit: provider, type, both ends")
    @name_option("circuit", "circuit", "Circuit id")
    async def circuit_show(self, ctx: discord.ApplicationContext, circuit: str) -> None:
        await self.answer(ctx, "circuit", self.key_of("circuit", circuit))

    @rack_cmd.command(name="show", description="A rack: its devices by position")
    @name_option("rack", "rack", "Rack name")
    async def rack_show(self, ctx: discord.ApplicationContext, rack: str) -> None:
        await self.answer(ctx, "rack", self.key_of("rack", rack))

    @netbox.command(
        name="search", description="Sites, devices, IPs, prefixes, VLANs, circuits, racks, tenants"
    )
    @discord.option("term", str, description="What to look for", max_length=60)
    async def search(self, ctx: discord.ApplicationContext, term: str) -> None:
        await self.answer(ctx, "search", lambda: list_key("search", term.strip()))
