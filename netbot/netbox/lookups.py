"""The NetBox commands' answers: each object's card and each list's page, from a key.

A key is a short string that says everything needed to build an answer again ("device:12",
"sites:2:active:0:7", "ip:10.1.2.3"): a Discord button carries it in its custom id, so a
button pressed after a restart (or a week later) builds the same card from NetBox anew.

Every card is built from a few requests made in parallel and joined here (never one request
per row): a device and its interfaces are two requests, a site and its racks, prefixes,
VLANs, circuits, contacts and devices by role seven at once.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from netbot.core.errors import NotFound, UserError
from netbot.core.text import clip
from netbot.netbox.catalog import SOURCES, Catalog, entry, name_of
from netbot.netbox.client import NetboxClient, Row
from netbot.netbox.index import Choice
from netbot.netbox.records import Card, Fact, ListPage, Table

TERM_LIMIT = 60
SITE_STATUSES = ("active", "planned", "staging", "decommissioning", "retired")
AVAILABLE_MAX = 50  # NetBox answers available-* with one page: 50 by default
# The command whose access rule governs each kind of key.
COMMAND_OF = {
    "site": "site", "sites": "site", "device": "device", "find": "device", "ip": "ip",
    "prefix": "prefix", "avail": "prefix", "vlan": "vlan", "circuit": "circuit",
    "rack": "rack", "tenant": "search", "search": "search",
}  # fmt: skip
WORDS = {
    "site": "site", "device": "device", "ip": "IP address", "prefix": "prefix", "vlan": "VLAN",
    "circuit": "circuit", "rack": "rack", "tenant": "tenant",
}  # fmt: skip
PATHS = {kind: path for kind, (path, _) in SOURCES.items()}


def command_of(key: str) -> str:
    """The command a key belongs to (for access checks); UserError for a malformed key."""
    kind = key.partition(":")[0]
    if kind not in COMMAND_OF:
        raise UserError("This button is not one netbot knows; run the command again.")
    return COMMAND_OF[kind]


def host_of(text: str) -> str:
    """The address in `10.1.2.3`, `10.1.2.3/24`, `2001:db8::1` or an autocomplete label
    (`10.1.2.3/24 (vrf-a)`); UserError otherwise."""
    try:
        return str(ipaddress.ip_interface(_first_word(text)).ip)
    except ValueError:
        raise UserError("That is not an IP address (e.g. 192.0.2.10 or 2001:db8::10).") from None


def network_of(text: str) -> str:
    """The prefix in `10.1.0.0/16` or `10.1.0.0/16 (vrf-a)`; UserError otherwise."""
    try:
        return str(ipaddress.ip_network(_first_word(text), strict=False))
    except ValueError:
        raise UserError("That is not a prefix (e.g. 192.0.2.0/24 or 2001:db8::/48).") from None


def _first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


def _text(value: Any) -> str:
    """A NetBox value as text: a choice's label, a nested object's name, or the value."""
    if isinstance(value, dict):
        if "label" in value and "value" in value:
            return str(value["label"])
        return name_of(value)
    return "" if value is None else str(value)


def _facts(pairs: Iterable[tuple[str, Any]]) -> list[Fact]:
    """The pairs whose value is not empty, as facts."""
    return [Fact(label, text) for label, value in pairs if (text := _text(value))]


class Lookups:
    """Cards and pages for keys; names resolved through the catalog's index first."""

    def __init__(
        self,
        client: NetboxClient,
        catalog: Catalog,
        *,
        rows_per_page: int = 10,
        on_miss: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.rows_per_page = rows_per_page
        self.on_miss = on_miss  # asks for an index refresh (rate-limited by the catalog)

    # ------------------------------------------------------------------ names
    def resolve(self, kind: str, text: str) -> int:
        """The id of the object of `kind` that `text` names: from the index, else from NetBox
        itself (and the index is then refreshed); UserError when none or several."""
        text = text.strip()
        if not text:
            raise UserError(f"Name a {WORDS[kind]}.")
        found = self.catalog.index.resolve(kind, text)
        if not found:
            self.on_miss()
            found = self._live(kind, text)
        if len(found) > 1:
            labels = ", ".join(c.label for c in found[:10])
            raise UserError(
                f"Several {WORDS[kind]}s are named {text!r}: {labels}. Pick one from the list."
            )
        if not found:
            raise NotFound(f"NetBox has no {WORDS[kind]} named {text!r}.")
        return found[0].id

    def _live(self, kind: str, text: str) -> list[Choice]:
        """Ask NetBox by name: the index may be older than the object."""
        path, fields = SOURCES[kind]
        if kind == "prefix":
            rows = self.client.all(path, fields=fields, prefix=network_of(text))
        elif kind == "ip":
            rows = self.client.all(path, fields=fields, address=host_of(text))
        else:
            name = re.sub(r"( \([^()]*\))+$", "", text)  # an old label: `sw1 (Oslo-2)`
            field = {"circuit": "cid"}.get(kind, "name")
            rows = self.client.all(path, fields=fields, **{f"{field}__ie": name})
        entries = [e for row in rows if (e := entry(kind, row))]
        return [
            Choice(kind, e.id, f"{e.name} ({e.context})" if e.context else e.name) for e in entries
        ]

    # ------------------------------------------------------------------ keys
    def open(self, key: str) -> Card | ListPage:
        """The card or page `key` stands for, built from NetBox now."""
        build = self._parse(key)
        return build()

    def _parse(self, key: str) -> Callable[[], Card | ListPage]:
        """What builds `key`'s answer; UserError for a key no netbot makes (an old or
        forged button), checked before anything is asked of NetBox."""
        kind, _, rest = key.partition(":")
        command_of(key)
        try:
            match kind:
                case "sites":
                    page, status, region, tenant = rest.split(":")
                    if status and status not in SITE_STATUSES:
                        raise ValueError(status)
                    args = (_page(page), status, int(region), int(tenant))
                    return lambda: self.site_list(*args)
                case "find" | "search":
                    page, _, term = rest.partition(":")
                    number = _page(page)
                    if kind == "find":
                        return lambda: self.device_find(term, number)
                    return lambda: self.search(term, number)
                case "ip":
                    host = host_of(rest)
                    return lambda: self.ip_card(host)
                case "avail":
                    prefix_id, what, count = rest.split(":")
                    numbers = (int(prefix_id), int(count))
                    return lambda: self.available(numbers[0], what, numbers[1])
                case _:
                    object_id = int(rest)
                    card: Callable[[int], Card] = getattr(self, f"{kind}_card")
                    return lambda: card(object_id)
        except ValueError:
            raise UserError("This button is not one netbot knows; run the command again.") from None

    def _link(self, kind: str, object_id: int) -> str:
        return self.client.link(PATHS[kind], object_id)

    # ------------------------------------------------------------------ sites
    def site_list(self, page: int, status: str, region_id: int, tenant_id: int) -> ListPage:
        filters: dict[str, Any] = {"ordering": "name"}
        if status:
            filters["status"] = status
        if region_id:
            filters["region_id"] = region_id
        if tenant_id:
            filters["tenant_id"] = tenant_id
        size = self.rows_per_page
        rows, total = self.client.page(
            "dcim/sites", offset=(page - 1) * size, limit=size,
            fields=("id", "name", "status", "region", "tenant", "facility"), **filters,
        )  # fmt: skip
        lines = [(_joined(row["name"], *(row.get(k) for k in ("status", "region", "tenant"))),
                  f"site:{row['id']}") for row in rows]  # fmt: skip
        what = " ".join(t for t in (status, "sites") if t)
        return ListPage(
            what[0].upper() + what[1:], lines, page, max(1, math.ceil(total / size)), total
        )

    def region_id(self, name: str) -> int:
        rows = self.client.all("dcim/regions", fields=("id", "name"), name__ie=name.strip())
        if len(rows) != 1:
            raise NotFound(f"NetBox has no region named {name!r}.")
        return int(rows[0]["id"])

    def site_card(self, site_id: int) -> Card:
        c, by_site = self.client, {"site_id": site_id}
        got = c.parallel({
            "site": lambda: c.get("dcim/sites", site_id),
            "devices": lambda: c.all("dcim/devices", fields=("id", "role"), **by_site),
            "racks": lambda: c.all("dcim/racks", fields=("id", "name"), **by_site),
            "prefixes": lambda: c.all("ipam/prefixes", fields=("id", "prefix", "vlan"), **by_site),
            "vlans": lambda: c.all("ipam/vlans", fields=("id", "vid", "name"), **by_site),
            "circuits": lambda: c.all(
                "circuits/circuit-terminations", fields=("id", "circuit", "term_side"), **by_site
            ),
            "contacts": lambda: c.all(
                "tenancy/contact-assignments", fields=("id", "contact", "role"),
                object_type="dcim.site", object_id=site_id,
            ),
        })  # fmt: skip
        site = got["site"]
        roles = Counter(_text(d.get("role")) or "no role" for d in got["devices"])
        address = " ".join(str(site.get("physical_address") or "").split())
        lat, lon = site.get("latitude"), site.get("longitude")
        where = (
            f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
            if lat is not None and lon is not None
            else ""
        )
        contacts = [
            f"{_text(a.get('contact'))} ({_text(a.get('role'))})" if a.get("role")
            else _text(a.get("contact"))
            for a in got["contacts"]
        ]  # fmt: skip
        facts = _facts([
            ("Status", site.get("status")), ("Region", site.get("region")),
            ("Tenant", site.get("tenant")), ("Facility", site.get("facility")),
            ("Time zone", site.get("time_zone")), ("Address", address),
            ("Contacts", ", ".join(contacts)),
            ("Devices", ", ".join(f"{n} {role}" for role, n in roles.most_common())
             or "none"),
        ])  # fmt: skip
        if where:
            after = next((n + 1 for n, f in enumerate(facts) if f.label == "Address"), len(facts))
            facts.insert(after, Fact("Map", "OpenStreetMap", where))
        circuits = sorted(
            {f"{_text(t.get('circuit'))} (side {t.get('term_side')})" for t in got["circuits"]}
        )
        tables = [
            Table("Racks", sorted(_text(r) for r in got["racks"])),
            Table("Prefixes", [_prefix_line(p) for p in got["prefixes"]]),
            Table("VLANs", [f"{v['vid']} {v.get('name') or ''}".strip() for v in got["vlans"]]),
            Table("Circuits", circuits),
        ]
        return Card(
            "site", site["name"], self._link("site", site_id), facts,
            [t for t in tables if t.rows], str(site.get("description") or ""),
        )  # fmt: skip

    # ------------------------------------------------------------------ devices
    def device_card(self, device_id: int) -> Card:
        c = self.client
        got = c.parallel({
            "device": lambda: c.get("dcim/devices", device_id),
            "interfaces": lambda: c.all(
                "dcim/interfaces", device_id=device_id,
                fields=("id", "name", "enabled", "description", "connected_endpoints",
                        "link_peers", "cable", "mgmt_only"),
            ),
        })  # fmt: skip
        device = got["device"]
        device_type = device.get("device_type") or {}
        rack = _text(device.get("rack"))
        if rack and device.get("position") is not None:
            rack += f", U{_number(device['position'])}"
            if device.get("face"):
                rack += f" ({_text(device['face']).lower()})"
        model = " ".join(
            t for t in (_text(device_type.get("manufacturer")), _text(device_type.get("model")))
            if t
        )  # fmt: skip
        facts = _facts([
            ("Status", device.get("status")), ("Site", device.get("site")), ("Rack", rack),
            ("Role", device.get("role") or device.get("device_role")), ("Type", model),
            ("Platform", device.get("platform")), ("Tenant", device.get("tenant")),
            ("Primary IPv4", _text(device.get("primary_ip4")) or None),
            ("Primary IPv6", _text(device.get("primary_ip6")) or None),
            ("Serial", device.get("serial")), ("Asset tag", device.get("asset_tag")),
        ])  # fmt: skip
        interfaces = sorted(got["interfaces"], key=lambda i: _natural(str(i.get("name"))))
        name = device.get("name") or f"Unnamed device {device_id}"
        return Card(
            "device", name, self._link("device", device_id), facts,
            [Table(f"Interfaces ({len(interfaces)})", [_interface_line(i) for i in interfaces])]
            if interfaces else [],
            str(device.get("description") or ""),
        )  # fmt: skip

    def device_find(self, term: str, page: int) -> ListPage:
        """Devices whose serial or asset tag is `term`, then those whose name holds it."""
        term = term.strip()
        if not term:
            raise UserError("Give a serial, an asset tag or part of a device name.")
        c, size = self.client, self.rows_per_page
        fields = ("id", "name", "site", "role", "serial", "asset_tag")
        got = c.parallel({
            "serial": lambda: c.page("dcim/devices", limit=size, fields=fields, serial=term)[0],
            "asset": lambda: c.page("dcim/devices", limit=size, fields=fields, asset_tag=term)[0],
            "name": lambda: c.page(
                "dcim/devices", offset=(page - 1) * size, limit=size, fields=fields,
                ordering="name", name__ic=term,
            ),
        })  # fmt: skip
        named, total = got["name"]
        exact = got["serial"] + got["asset"] if page == 1 else []
        seen: set[int] = set()
        rows = []
        for device in exact + named:
            if device["id"] in seen:
                continue
            seen.add(device["id"])
            how = (
                "serial" if device.get("serial") == term
                else "asset tag" if device.get("asset_tag") == term else ""
            )  # fmt: skip
            line = " · ".join(
                t for t in (device.get("name") or f"id {device['id']}", _text(device.get("site")),
                            _text(device.get("role")), f"{how} {term}" if how else "") if t
            )  # fmt: skip
            rows.append((line, f"device:{device['id']}"))
        return ListPage(
            f"Devices matching {term!r}", rows, page, max(1, math.ceil(total / size)),
            total + len(exact),
        )  # fmt: skip

    # ------------------------------------------------------------------ addresses
    def ip_card(self, text: str) -> Card:
        """The address's object (if NetBox has one) and always its most specific prefix."""
        host = host_of(text)
        c = self.client
        got = c.parallel({
            "ips": lambda: c.all("ipam/ip-addresses", address=host),
            "prefixes": lambda: c.all("ipam/prefixes", contains=host),
        })  # fmt: skip
        ips, prefixes = got["ips"], got["prefixes"]
        facts: list[Fact] = []
        url = None
        title = host
        if ips:
            ip = ips[0]
            title, url = ip["address"], self._link("ip", int(ip["id"]))
            facts = _facts([
                ("Status", ip.get("status")), ("DNS name", ip.get("dns_name")),
                ("Tenant", ip.get("tenant")), ("VRF", ip.get("vrf") or "global"),
                ("Assigned to", _assigned(ip.get("assigned_object"))),
                ("Role", ip.get("role")),
            ])  # fmt: skip
            if len(ips) > 1:
                others = ", ".join(
                    f"{o['address']} ({_text(o.get('vrf')) or 'global'})" for o in ips[1:]
                )
                facts.append(Fact("Also in", others))
        else:
            facts.append(Fact("IP address", "NetBox has no IP address object for it.", own=True))
        if ips:  # the address's own VRF's prefixes, when it has any there
            vrf = (ips[0].get("vrf") or {}).get("id")
            prefixes = [p for p in prefixes if (p.get("vrf") or {}).get("id") == vrf] or prefixes
        if prefixes:
            best = max(prefixes, key=lambda p: ipaddress.ip_network(p["prefix"]).prefixlen)
            facts += self._prefix_facts(best, "Prefix")
        else:
            facts.append(Fact("Prefix", "No prefix in NetBox contains it.", own=True))
        return Card(
            "ip",
            title,
            url,
            facts,
            description=str((ips[0] if ips else {}).get("description") or ""),
        )

    def _prefix_facts(
        self, prefix: Row, label: str, children: list[Row] | None = None
    ) -> list[Fact]:
        used, size = self._utilisation(prefix, children)
        share = f"{100 * used / size:.1f}%" if size else "n/a"
        unit = "addresses" if _status(prefix) != "container" else "addresses in child prefixes"
        link = self._link("prefix", int(prefix["id"]))
        return [Fact(label, prefix["prefix"], link), *_facts([
            ("Site", prefix.get("scope") or prefix.get("site")),
            ("VLAN", _vlan(prefix.get("vlan"))), ("Role", prefix.get("role")),
            ("Status", prefix.get("status")), ("VRF", prefix.get("vrf") or "global"),
        ]), Fact("Utilisation", f"{share} ({used:,} of {size:,} {unit})", own=True)]  # fmt: skip

    def _utilisation(self, prefix: Row, children: list[Row] | None = None) -> tuple[int, int]:
        """(used, size) as NetBox counts them: a container by its child prefixes (`children`:
        the prefixes within it, when already fetched), any other prefix by its addresses (an
        IPv4 /30 or larger without network and broadcast unless a pool); "mark utilised"
        counts as full."""
        network = ipaddress.ip_network(prefix["prefix"])
        size = network.num_addresses
        if _status(prefix) == "container":
            if children is None:
                children = self.client.all(
                    "ipam/prefixes", fields=("id", "prefix"), within=str(network)
                )
            nets = [ipaddress.ip_network(c["prefix"]) for c in children]
            same = [n for n in nets if n.version == network.version]
            merged = ipaddress.collapse_addresses(same)  # type: ignore[type-var]
            return sum(n.num_addresses for n in merged), size
        if network.version == 4 and network.prefixlen < 31 and not prefix.get("is_pool"):
            size -= 2
        if prefix.get("mark_utilized"):
            return size, size
        return min(self.client.count("ipam/ip-addresses", parent=str(network)), size), size

    def prefix_card(self, prefix_id: int) -> Card:
        prefix = self.client.get("ipam/prefixes", prefix_id)
        network = ipaddress.ip_network(prefix["prefix"])
        within = self.client.all(
            "ipam/prefixes", fields=("id", "prefix", "status", "vlan"), within=str(network)
        )
        children = _direct_children(within)
        facts = [f for f in self._prefix_facts(prefix, "Prefix", within) if f.label != "Prefix"]
        facts += _facts([("Tenant", prefix.get("tenant")), ("Children", str(len(children)))])
        rows = [
            " · ".join(t for t in (c["prefix"], _text(c.get("status")), _vlan(c.get("vlan"))) if t)
            for c in children
        ]
        return Card(
            "prefix", prefix["prefix"], self._link("prefix", prefix_id), facts,
            [Table("Child prefixes", rows)] if rows else [], str(prefix.get("description") or ""),
        )  # fmt: skip

    def prefix_id(self, text: str) -> int:
        """The prefix an autocomplete label (`10.0.0.0/8 (vrf-a)`) or a prefix names."""
        found = self.catalog.index.resolve("prefix", text)
        if len(found) == 1:
            return found[0].id
        return self.resolve("prefix", network_of(text))

    def default_available(self, prefix_id: int) -> str:
        """What a prefix hands out: child prefixes for a container, else addresses."""
        return (
            "prefixes"
            if _status(self.client.get("ipam/prefixes", prefix_id)) == "container"
            else "ips"
        )

    def available(self, prefix_id: int, what: str, count: int) -> Card:
        """The next `count` free addresses or child prefixes of one prefix."""
        if what not in ("ips", "prefixes") or not 1 <= count <= AVAILABLE_MAX:
            raise UserError(f"Ask for 1 to {AVAILABLE_MAX} free addresses or prefixes.")
        prefix = self.client.get("ipam/prefixes", prefix_id)
        free = self.client.available(prefix_id, what, count)
        word = "addresses" if what == "ips" else "prefixes"
        return Card(
            "prefix", f"Free {word} in {prefix['prefix']}", self._link("prefix", prefix_id),
            _facts([("Site", prefix.get("scope") or prefix.get("site")),
                    ("Shown", f"{len(free)} (asked for {count})")]),
            [Table(f"Free {word}", free or [f"No free {word}."])],
        )  # fmt: skip

    # ------------------------------------------------------------------ the rest
    def vlan_card(self, vlan_id: int) -> Card:
        c = self.client
        got = c.parallel({
            "vlan": lambda: c.get("ipam/vlans", vlan_id),
            "prefixes": lambda: c.all("ipam/prefixes", fields=("id", "prefix"), vlan_id=vlan_id),
        })  # fmt: skip
        vlan = got["vlan"]
        facts = _facts([
            ("VID", vlan.get("vid")), ("Status", vlan.get("status")), ("Site", vlan.get("site")),
            ("Group", vlan.get("group")), ("Tenant", vlan.get("tenant")), ("Role", vlan.get("role")),
        ])  # fmt: skip
        prefixes = [p["prefix"] for p in got["prefixes"]]
        return Card(
            "vlan", f"VLAN {vlan.get('vid')} {vlan.get('name') or ''}".strip(),
            self._link("vlan", vlan_id), facts,
            [Table("Prefixes", prefixes)] if prefixes else [], str(vlan.get("description") or ""),
        )  # fmt: skip

    def circuit_card(self, circuit_id: int) -> Card:
        c = self.client
        got = c.parallel({
            "circuit": lambda: c.get("circuits/circuits", circuit_id),
            "ends": lambda: c.all("circuits/circuit-terminations", circuit_id=circuit_id),
        })  # fmt: skip
        circuit = got["circuit"]
        rate = circuit.get("commit_rate")
        facts = _facts([
            ("Provider", circuit.get("provider")), ("Type", circuit.get("type")),
            ("Status", circuit.get("status")), ("Tenant", circuit.get("tenant")),
            ("Commit rate", f"{rate:,} kbps" if rate else None),
            ("Installed", circuit.get("install_date")),
        ])  # fmt: skip
        for end in sorted(got["ends"], key=lambda e: str(e.get("term_side"))):
            facts.append(Fact(f"Side {end.get('term_side')}", _termination(end)))
        return Card(
            "circuit", str(circuit.get("cid")), self._link("circuit", circuit_id), facts,
            description=str(circuit.get("description") or ""),
        )  # fmt: skip

    def rack_card(self, rack_id: int) -> Card:
        c = self.client
        got = c.parallel({
            "rack": lambda: c.get("dcim/racks", rack_id),
            "devices": lambda: c.all(
                "dcim/devices", rack_id=rack_id,
                fields=("id", "name", "position", "face", "role", "device_type"),
            ),
        })  # fmt: skip
        rack = got["rack"]
        facts = _facts([
            ("Site", rack.get("site")), ("Location", rack.get("location")),
            ("Status", rack.get("status")), ("Role", rack.get("role")),
            ("Height", f"{rack['u_height']} U" if rack.get("u_height") else None),
            ("Tenant", rack.get("tenant")), ("Devices", str(len(got["devices"]))),
        ])  # fmt: skip
        placed = sorted(
            got["devices"],
            key=lambda d: (d.get("position") is None, -(d.get("position") or 0)),
        )
        rows = [
            " · ".join(t for t in (
                f"U{_number(d['position'])}" if d.get("position") is not None else "unracked",
                d.get("name") or f"id {d['id']}", _text(d.get("face")).lower(),
                _text(d.get("role")), _text(d.get("device_type")),
            ) if t)
            for d in placed
        ]  # fmt: skip
        return Card(
            "rack", str(rack.get("name")), self._link("rack", rack_id), facts,
            [Table("Devices by position", rows)] if rows else [],
            str(rack.get("description") or ""),
        )  # fmt: skip

    def tenant_card(self, tenant_id: int) -> Card:
        tenant = self.client.get("tenancy/tenants", tenant_id)
        facts = _facts([("Group", tenant.get("group"))]) + [
            Fact(label, str(tenant[key]))
            for label, key in (
                ("Sites", "site_count"),
                ("Devices", "device_count"),
                ("Racks", "rack_count"),
                ("Prefixes", "prefix_count"),
                ("IP addresses", "ipaddress_count"),
                ("VLANs", "vlan_count"),
                ("Circuits", "circuit_count"),
            )
            if tenant.get(key) is not None
        ]
        return Card(
            "tenant", str(tenant.get("name")), self._link("tenant", tenant_id), facts,
            description=str(tenant.get("description") or ""),
        )  # fmt: skip

    def search(self, term: str, page: int) -> ListPage:
        """One query over every kind the index holds, best match first (from the index)."""
        term = term.strip()
        if not term:
            raise UserError("Give something to search for.")
        index = self.catalog.index
        hits = index.search(term)
        if not hits:
            self.on_miss()
        size = self.rows_per_page
        shown = hits[(page - 1) * size : page * size]
        return ListPage(
            f"NetBox objects matching {term!r}",
            [(f"{WORDS[h.kind]}: {h.label}", f"{h.kind}:{h.id}") for h in shown],
            page, max(1, math.ceil(len(hits) / size)), len(hits), index.refreshed_at,
        )  # fmt: skip


# ---------------------------------------------------------------------- helpers
def _page(text: str) -> int:
    """A page number from a key: 1 or more (a forged 0 or -1 is no page)."""
    page = int(text)
    if page < 1:
        raise ValueError(text)
    return page


def _joined(*values: Any) -> str:
    """The values that are not empty, as text, joined by middle dots."""
    return " · ".join(t for v in values if (t := _text(v)))


def _status(row: Row) -> str:
    status = row.get("status")
    return str(status.get("value") if isinstance(status, dict) else status or "")


def _number(value: Any) -> str:
    """A rack position: 12.0 as 12, 12.5 as 12.5."""
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


def _prefix_line(prefix: Row) -> str:
    vlan = _vlan(prefix.get("vlan"))
    return f"{prefix['prefix']} · VLAN {vlan}" if vlan else str(prefix["prefix"])


def _vlan(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    return " ".join(t for t in (str(value.get("vid") or ""), str(value.get("name") or "")) if t)


def _natural(name: str) -> list[Any]:
    """Sort key putting eth2 before eth10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _assigned(value: Any) -> str:
    """`eth0 on sw1` for an interface of a device or a virtual machine."""
    if not isinstance(value, dict):
        return ""
    owner = value.get("device") or value.get("virtual_machine")
    return f"{value.get('name')} on {name_of(owner)}" if owner else name_of(value)


def _peer(interface: Row) -> str:
    """What an interface's cable reaches: the far end of the path, else the cable's peer."""
    for key in ("connected_endpoints", "link_peers"):
        for end in interface.get(key) or []:
            if not isinstance(end, dict):
                continue
            owner = end.get("device") or end.get("circuit") or end.get("virtual_machine")
            if owner:
                return f"{name_of(owner)} {end.get('name') or end.get('term_side') or ''}".strip()
            return name_of(end)
    return ""


def _interface_line(interface: Row) -> str:
    parts = [str(interface.get("name"))]
    peer = _peer(interface)
    if peer:
        parts.append(f"→ {peer}")
    elif interface.get("cable"):
        parts.append("cabled")
    if interface.get("enabled") is False:
        parts.append("(disabled)")
    if interface.get("mgmt_only"):
        parts.append("(mgmt)")
    if interface.get("description"):
        parts.append(f"· {interface['description']}")
    return " ".join(parts)


def _termination(end: Row) -> str:
    where = end.get("termination") or end.get("site") or end.get("provider_network")
    parts = [name_of(where) or "not connected"]
    if end.get("port_speed"):
        parts.append(f"{end['port_speed']:,} kbps")
    if end.get("xconnect_id"):
        parts.append(f"xconnect {end['xconnect_id']}")
    peers = [p for p in end.get("link_peers") or [] if isinstance(p, dict)]
    if peers:
        peer = peers[0]
        parts.append(f"cabled to {name_of(peer.get('device'))} {peer.get('name') or ''}".strip())
    return " · ".join(parts)


def _direct_children(within: list[Row]) -> list[Row]:
    """Of the prefixes inside one, those inside no other of them, in address order."""
    nets = {ipaddress.ip_network(p["prefix"]): p for p in within}
    direct = []
    for net, row in nets.items():
        parent = net
        inside_other = False
        while parent.prefixlen > 0:
            parent = parent.supernet()
            if parent in nets:
                inside_other = True
                break
        if not inside_other:
            direct.append((net, row))
    direct.sort(key=lambda pair: (pair[0].version, pair[0]))
    return [row for _, row in direct]


def paged_key(key: str, page: int) -> str:
    """The key of another page of the same list ("sites:2:active:0:0" -> page 3)."""
    kind, _, rest = key.partition(":")
    _, _, tail = rest.partition(":")
    return f"{kind}:{page}:{tail}"


def list_key(kind: str, *parts: object) -> str:
    """The key of a list's first page; a search term is cut to fit a button."""
    return ":".join([kind, "1", *(clip(str(p), TERM_LIMIT) for p in parts)])
