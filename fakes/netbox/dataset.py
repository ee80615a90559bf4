"""A deterministic, realistic NetBox data set for the fake NetBox (tests small, bench large).

Why generated, not a fixture: the bench needs 5,000 devices and 20,000 addresses, the tests a
few hundred objects, and both the awkward cases a real install has: the same device name at
several sites, nested regions and prefixes, disabled interfaces, cables, addresses on devices
and on virtual machines, sites without coordinates, and hostile names (markdown, `@everyone`,
`<@123>`, long unicode) that must never ping or break a card.

Objects are kept in NetBox's full REST representation (what `GET /api/<app>/<model>/` answers)
with nested objects in their brief form, URLs relative (`/api/dcim/sites/1/`; the server makes
them absolute for the host that asked). A nested brief object is the same dict as the one the
brief view answers, so counts filled in at the end show everywhere.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]

# The fields of each model's brief representation (NetBox's `brief_fields`), by endpoint.
BRIEF_FIELDS: dict[str, tuple[str, ...]] = {
    "dcim/regions": ("id", "url", "display", "name", "slug", "description", "site_count", "_depth"),
    "dcim/sites": ("id", "url", "display", "name", "slug", "description"),
    "dcim/racks": ("id", "url", "display", "name", "description"),
    "dcim/manufacturers": ("id", "url", "display", "name", "slug", "description"),
    "dcim/device-types": ("id", "url", "display", "manufacturer", "model", "slug", "description",
                          "device_count"),
    "dcim/device-roles": ("id", "url", "display", "name", "slug", "description", "device_count",
                          "virtualmachine_count", "_depth"),
    "dcim/platforms": ("id", "url", "display", "name", "slug", "description", "device_count",
                       "virtualmachine_count", "_depth"),
    "dcim/devices": ("id", "url", "display", "name", "description"),
    "dcim/interfaces": ("id", "url", "display", "device", "name", "description", "cable",
                        "_occupied"),
    "dcim/cables": ("id", "url", "display", "label", "description"),
    "ipam/roles": ("id", "url", "display", "name", "slug", "description"),
    "ipam/vlans": ("id", "url", "display", "vid", "name", "description"),
    "ipam/prefixes": ("id", "url", "display", "family", "prefix", "description", "_depth"),
    "ipam/ip-addresses": ("id", "url", "display", "family", "address", "nat_outside", "dns_name",
                          "description"),
    "circuits/providers": ("id", "url", "display", "name", "slug", "description"),
    "circuits/circuit-types": ("id", "url", "display", "name", "slug", "description"),
    "circuits/circuits": ("id", "url", "display", "cid", "provider", "description"),
    "circuits/circuit-terminations": ("id", "url", "display", "circuit", "term_side",
                                      "description", "cable", "_occupied"),
    "tenancy/tenants": ("id", "url", "display", "name", "slug", "description"),
    "tenancy/contacts": ("id", "url", "display", "name", "description"),
    "tenancy/contact-roles": ("id", "url", "display", "name", "slug", "description"),
    "tenancy/contact-assignments": ("id", "url", "display", "contact", "role", "priority"),
    "virtualization/virtual-machines": ("id", "url", "display", "name", "description"),
    "virtualization/interfaces": ("id", "url", "display", "virtual_machine", "name",
                                  "description"),
}  # fmt: skip
ENDPOINTS = tuple(BRIEF_FIELDS)

# Hostile text a few objects carry: chat markup, mass and user mentions, long unicode.
HOSTILE = (
    "**Bold** @everyone <@123456789012345678>",
    "`rm -rf` ||spoiler|| @here [click](https://evil.example/x)",
    "Zürich-Ωmega-" + "日本語テキスト" * 6 + "-ÄÖÜ-" + "é" * 20,
    "<@&987654321098765432> _under_ ~~strike~~ > quote",
)
_CONTINENTS = {
    "Europe": ["Germany", "France", "Netherlands", "Poland", "Sweden", "Spain", "Italy"],
    "North America": ["United States", "Canada", "Mexico"],
    "Asia": ["Japan", "Singapore", "India", "South Korea"],
    "South America": ["Brazil", "Chile", "Argentina"],
    "Africa": ["Kenya", "South Africa", "Nigeria"],
    "Oceania": ["Australia", "New Zealand"],
}
_CITIES = {
    "Germany": [("Berlin", 52.52, 13.40, "Europe/Berlin"), ("Frankfurt", 50.11, 8.68, "Europe/Berlin")],
    "France": [("Paris", 48.86, 2.35, "Europe/Paris"), ("Marseille", 43.30, 5.37, "Europe/Paris")],
    "Netherlands": [("Amsterdam", 52.37, 4.90, "Europe/Amsterdam")],
    "Poland": [("Warsaw", 52.23, 21.01, "Europe/Warsaw")],
    "Sweden": [("Stockholm", 59.33, 18.07, "Europe/Stockholm")],
    "Spain": [("Madrid", 40.42, -3.70, "Europe/Madrid")],
    "Italy": [("Milan", 45.46, 9.19, "Europe/Rome")],
    "United States": [("Seattle", 47.61, -122.33, "America/Los_Angeles"),
                      ("Ashburn", 39.04, -77.49, "America/New_York"),
                      ("Chicago", 41.88, -87.63, "America/Chicago"),
                      ("Dallas", 32.78, -96.80, "America/Chicago")],
    "Canada": [("Toronto", 43.65, -79.38, "America/Toronto")],
    "Mexico": [("Queretaro", 20.59, -100.39, "America/Mexico_City")],
    "Japan": [("Tokyo", 35.68, 139.69, "Asia/Tokyo"), ("Osaka", 34.69, 135.50, "Asia/Tokyo")],
    "Singapore": [("Singapore", 1.35, 103.82, "Asia/Singapore")],
    "India": [("Mumbai", 19.08, 72.88, "Asia/Kolkata")],
    "South Korea": [("Seoul", 37.57, 126.98, "Asia/Seoul")],
    "Brazil": [("Sao Paulo", -23.55, -46.63, "America/Sao_Paulo")],
    "Chile": [("Santiago", -33.45, -70.67, "America/Santiago")],
    "Argentina": [("Buenos Aires", -34.60, -58.38, "America/Argentina/Buenos_Aires")],
    "Kenya": [("Nairobi", -1.29, 36.82, "Africa/Nairobi")],
    "South Africa": [("Johannesburg", -26.20, 28.05, "Africa/Johannesburg")],
    "Nigeria": [("Lagos", 6.52, 3.38, "Africa/Lagos")],
    "Australia": [("Sydney", -33.87, 151.21, "Australia/Sydney")],
    "New Zealand": [("Auckland", -36.85, 174.76, "Pacific/Auckland")],
}  # fmt: skip
_ROLES = [("core-switch", "Core switch", "ff5722"), ("access-switch", "Access switch", "2196f3"),
          ("router", "Router", "9c27b0"), ("firewall", "Firewall", "f44336"),
          ("server", "Server", "4caf50"), ("pdu", "PDU", "795548"),
          ("console-server", "Console server", "607d8b"), ("patch-panel", "Patch panel", "9e9e9e")]  # fmt: skip
_MAKERS = {"Juniper": ["MX204", "EX4300-48T", "QFX5120-48Y", "SRX345"],
           "Arista": ["DCS-7050SX3-48YC8", "DCS-7280SR-48C6"],
           "Cisco": ["ASR-1001-X", "C9300-48P", "ISR4331"],
           "Dell": ["PowerEdge R650", "PowerEdge R750"], "APC": ["AP8941"],
           "Opengear": ["CM8148"], "Supermicro": ["SYS-1029P"], "Nokia": ["7750 SR-1"]}  # fmt: skip
_ROLE_TYPES = {"core-switch": ["QFX5120-48Y", "DCS-7280SR-48C6"],
               "access-switch": ["EX4300-48T", "C9300-48P", "DCS-7050SX3-48YC8"],
               "router": ["MX204", "ASR-1001-X", "ISR4331", "7750 SR-1"], "firewall": ["SRX345"],
               "server": ["PowerEdge R650", "PowerEdge R750", "SYS-1029P"], "pdu": ["AP8941"],
               "console-server": ["CM8148"], "patch-panel": ["CM8148"]}  # fmt: skip
_PLATFORMS: list[tuple[str, str, str | None]] = [("junos", "Junos", "Juniper"), ("eos", "Arista EOS", "Arista"),
              ("ios-xe", "Cisco IOS-XE", "Cisco"), ("ubuntu", "Ubuntu 24.04", None),
              ("debian", "Debian 12", None), ("sros", "Nokia SR OS", "Nokia")]  # fmt: skip
_IFACE_TYPES = {
    "1000base-t": "1000BASE-T (1GE)",
    "10gbase-x-sfpp": "SFP+ (10GE)",
    "25gbase-x-sfp28": "SFP28 (25GE)",
    "100gbase-x-qsfp28": "QSFP28 (100GE)",
}
_STAMP = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class Dataset:
    """Every object by endpoint (`"dcim/devices"`) and id, in NetBox's full representation."""

    seed: int
    tables: dict[str, dict[int, Row]] = field(default_factory=lambda: {e: {} for e in ENDPOINTS})
    briefs: dict[str, dict[int, Row]] = field(default_factory=lambda: {e: {} for e in ENDPOINTS})
    last_ids: dict[str, int] = field(default_factory=dict)  # as NetBox, a removed id stays gone

    def rows(self, endpoint: str) -> list[Row]:
        return list(self.tables[endpoint].values())

    def get(self, endpoint: str, object_id: int) -> Row | None:
        return self.tables[endpoint].get(object_id)

    def brief(self, endpoint: str, object_id: int) -> Row:
        """The object's brief form (the one dict every nested reference shares)."""
        return self.briefs[endpoint][object_id]

    def named(self, endpoint: str, name: str) -> list[Row]:
        return [row for row in self.tables[endpoint].values() if row.get("name") == name]

    def update(self, endpoint: str, object_id: int, **values: Any) -> Row:
        """Change an object while the fake serves it (a rename between two index refreshes);
        its brief form, and so every nested reference to it, follows."""
        row = self.tables[endpoint][object_id]
        row.update(values)
        if "name" in values and "display" not in values:
            row["display"] = str(values["name"])
        brief = self.briefs[endpoint][object_id]
        brief.update({k: row[k] for k in brief if k in row})
        return row

    def remove(self, endpoint: str, object_id: int) -> None:
        """Delete an object (references to it elsewhere stay, as a test of a stale cache)."""
        del self.tables[endpoint][object_id]
        del self.briefs[endpoint][object_id]

    def add(self, endpoint: str, ui_path: str, **values: Any) -> Row:
        """Add an object with the next id; `url`, `display_url`, timestamps filled in."""
        table = self.tables[endpoint]
        object_id = self.last_ids[endpoint] = self.last_ids.get(endpoint, 0) + 1  # never reused
        stamp = (_STAMP + dt.timedelta(minutes=object_id)).isoformat().replace("+00:00", "Z")
        row: Row = {"id": object_id, "url": f"/api/{endpoint}/{object_id}/",
                    "display_url": f"/{ui_path}/{object_id}/", **values,
                    "created": stamp, "last_updated": stamp}  # fmt: skip
        row.setdefault("display", str(values.get("name", object_id)))
        row.setdefault("description", "")
        row.setdefault("tags", [])
        row.setdefault("custom_fields", {})
        table[object_id] = row
        self.briefs[endpoint][object_id] = {k: row[k] for k in BRIEF_FIELDS[endpoint] if k in row}
        return row


def _choice(value: str, label: str | None = None) -> dict[str, Any]:
    return {"value": value, "label": label or value.replace("-", " ").title()}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() else "-" for c in text.lower()).strip("-")


class _Builder:
    """Fills a Dataset step by step; each step only refers to objects made before it."""

    def __init__(self, seed: int, sites: int, devices: int, ips: int, vms: int) -> None:
        self.rng = random.Random(seed)
        self.data = Dataset(seed)
        self.n_sites, self.n_devices, self.n_ips, self.n_vms = sites, devices, ips, vms
        self.site_prefixes: dict[int, list[Row]] = {}  # site id -> its /24s (with VLAN)
        self.site_v6: dict[int, list[Row]] = {}
        self.free_hosts: dict[int, list[str]] = {}  # /24 prefix id -> unused host addresses

    def ref(self, endpoint: str, row: Row | None) -> Row | None:
        return None if row is None else self.data.brief(endpoint, row["id"])

    def build(self) -> Dataset:
        self.tenancy()
        self.regions_and_sites()
        self.device_catalog()
        self.racks()
        self.devices_and_interfaces()
        self.cables()
        self.ipam()
        self.virtual_machines()
        self.addresses()
        self.circuits()
        self.contacts()
        self.counts()
        return self.data

    def tenancy(self) -> None:
        names = ["Acme Corp", "Globex", "Initech", "Umbrella Networks", "Hooli", "Stark Industries",
                 "Wayne Enterprises", "Cyberdyne", "Soylent", "Tyrell", HOSTILE[2][:100]]  # fmt: skip
        for index, name in enumerate(names):
            self.data.add("tenancy/tenants", "tenancy/tenants", name=name, slug=f"tenant-{index}"
                          if name == HOSTILE[2][:100] else _slug(name), group=None, comments="",
                          description=HOSTILE[0] if index == 3 else f"Customer {name}")  # fmt: skip
        for slug, name in (("noc", "NOC"), ("facilities", "Facilities"), ("owner", "Owner")):
            self.data.add("tenancy/contact-roles", "tenancy/contact-roles", name=name, slug=slug)

    def regions_and_sites(self) -> None:
        countries: list[tuple[Row, str]] = []
        for continent, names in _CONTINENTS.items():
            top = self.data.add("dcim/regions", "dcim/regions", name=continent,
                                slug=_slug(continent), parent=None, _depth=0, comments="")  # fmt: skip
            parent = {k: top[k] for k in ("id", "url", "display_url", "display", "name", "slug")}
            for name in names:
                self.data.add("dcim/regions", "dcim/regions", name=name, slug=_slug(name),
                              parent={**parent, "_depth": 0}, _depth=1, comments="")  # fmt: skip
                countries.append((self.data.rows("dcim/regions")[-1], name))
        tenants = self.data.rows("tenancy/tenants")
        statuses = ["active"] * 8 + ["planned", "staging", "decommissioning", "retired"]
        used: Counter[str] = Counter()
        for index in range(self.n_sites):
            region, country = countries[index % len(countries)]
            city, lat, lon, zone = self.rng.choice(_CITIES[country])
            used[city] += 1
            name = f"{city}-{used[city]}"
            description = f"{city} POP {used[city]}"
            if index in (3, 17):
                description = HOSTILE[(index // 3) % len(HOSTILE)]
            if index == 5:
                name = HOSTILE[0]
            if index == 11:
                name = HOSTILE[2][:100]
            has_coordinates = index % 3 != 2
            self.data.add(
                "dcim/sites", "dcim/sites", name=name,
                slug=f"site-{index}" if index in (5, 11) else _slug(name),
                status=_choice(statuses[index % len(statuses)]),
                region=self.ref("dcim/regions", region), group=None,
                tenant=self.ref("tenancy/tenants", tenants[index % 4]) if index % 5 else None,
                facility=f"{city[:3].upper()}{used[city]} Equinix" if index % 4 else "",
                time_zone=zone if index % 7 else None, description=description,
                physical_address=f"{100 + index} Fiber Street\n{city}, {country}",
                shipping_address="" if index % 2 else f"Dock {index}, {city}",
                latitude=round(lat + self.rng.uniform(-0.05, 0.05), 6) if has_coordinates else None,
                longitude=round(lon + self.rng.uniform(-0.05, 0.05), 6) if has_coordinates else None,
                owner=None, comments="", asns=[],
            )  # fmt: skip

    def device_catalog(self) -> None:
        for name in _MAKERS:
            self.data.add("dcim/manufacturers", "dcim/manufacturers", name=name, slug=_slug(name),
                          owner=None, comments="")  # fmt: skip
        makers = {row["name"]: row for row in self.data.rows("dcim/manufacturers")}
        for maker, models in _MAKERS.items():
            for model in models:
                self.data.add("dcim/device-types", "dcim/device-types", display=model,
                              manufacturer=self.ref("dcim/manufacturers", makers[maker]),
                              default_platform=None, model=model, slug=_slug(f"{maker}-{model}"),
                              part_number=model.upper(), u_height=1.0,
                              exclude_from_utilization=False, is_full_depth=True,
                              subdevice_role=None, airflow=None, weight=None, weight_unit=None,
                              front_image=None, rear_image=None, owner=None, comments="")  # fmt: skip
        for slug, name, color in _ROLES:
            self.data.add("dcim/device-roles", "dcim/device-roles", name=name, slug=slug,
                          color=color, vm_role=slug == "server", config_template=None,
                          parent=None, owner=None, comments="", _depth=0)  # fmt: skip
        for slug, label, vendor in _PLATFORMS:
            self.data.add("dcim/platforms", "dcim/platforms", name=label, slug=slug, parent=None,
                          manufacturer=self.ref("dcim/manufacturers", makers.get(vendor or "")),
                          config_template=None, owner=None, comments="", _depth=0)  # fmt: skip

    def racks(self) -> None:
        for site in self.data.rows("dcim/sites"):
            for number in range(1, 1 + site["id"] % 5 + 1):
                self.data.add("dcim/racks", "dcim/racks", name=f"R{number:02d}",
                              facility_id=f"{site['slug'][:6]}.{number}",
                              site=self.ref("dcim/sites", site), location=None, group=None,
                              tenant=site["tenant"], status=_choice("active"), role=None,
                              serial="", asset_tag=None, rack_type=None,
                              form_factor=_choice("4-post-cabinet", "4-post cabinet"),
                              width={"value": 19, "label": "19 inches"}, u_height=42,
                              starting_unit=1, desc_units=False, owner=None, comments="")  # fmt: skip

    def devices_and_interfaces(self) -> None:
        sites = self.data.rows("dcim/sites")
        racks_by_site: dict[int, list[Row]] = {}
        for rack in self.data.rows("dcim/racks"):
            racks_by_site.setdefault(rack["site"]["id"], []).append(rack)
        roles = {row["slug"]: row for row in self.data.rows("dcim/device-roles")}
        types = {row["model"]: row for row in self.data.rows("dcim/device-types")}
        platforms = self.data.rows("dcim/platforms")
        weights = [3, 10, 3, 2, 20, 4, 1, 1]
        positions: Counter[int] = Counter()
        per_site: Counter[tuple[int, str]] = Counter()
        for index in range(self.n_devices):
            site = sites[index % len(sites)]
            role_slug = self.rng.choices([r[0] for r in _ROLES], weights)[0]
            per_site[(site["id"], role_slug)] += 1
            name: str | None = (
                f"{site['slug'][:12]}-{role_slug}-{per_site[(site['id'], role_slug)]:02d}"
            )
            if role_slug == "access-switch" and per_site[(site["id"], role_slug)] == 1:
                name = "sw1"  # the same name at many sites: ambiguous without the site
            elif role_slug == "console-server" and per_site[(site["id"], role_slug)] == 1:
                name = "console"
            elif role_slug == "patch-panel" and index % 2:
                name = None  # NetBox allows unnamed devices
            if index in (7, 101):
                name = HOSTILE[1][:64]
            if index == 13:
                name = HOSTILE[2][:64]
            rack = self.rng.choice(racks_by_site[site["id"]])
            positions[rack["id"]] += 1
            position = float(positions[rack["id"]]) if positions[rack["id"]] <= 42 else None
            model = self.rng.choice(_ROLE_TYPES[role_slug])
            serial = f"{model[:3].upper()}{self.rng.randrange(10**9):09d}" if index % 9 else ""
            device = self.data.add(
                "dcim/devices", "dcim/devices", name=name,
                display=name or f"{model} ({index + 1})",
                device_type=self.ref("dcim/device-types", types[model]),
                role=self.ref("dcim/device-roles", roles[role_slug]), tenant=site["tenant"],
                platform=self.ref("dcim/platforms", self.rng.choice(platforms))
                if role_slug not in ("pdu", "patch-panel") else None,
                serial=serial, asset_tag=f"AT-{index + 1:06d}" if index % 4 else None,
                site=self.ref("dcim/sites", site), location=None,
                rack=self.ref("dcim/racks", rack) if position is not None or index % 2 else None,
                position=position, face=_choice("front") if position else None,
                latitude=None, longitude=None, parent_device=None,
                status=_choice("active" if index % 23 else self.rng.choice(["planned", "offline", "failed"])),
                airflow=_choice("front-to-rear", "Front to rear"), primary_ip=None,
                primary_ip4=None, primary_ip6=None, oob_ip=None, cluster=None,
                virtual_chassis=None, vc_position=None, vc_priority=None,
                description=HOSTILE[3] if index == 29 else "", owner=None, comments="",
                config_template=None,
                config_context={"ntp": ["10.0.0.1", "10.0.0.2"], "syslog": {"host": "10.0.0.3"}},
                local_context_data=None, console_port_count=0, console_server_port_count=0,
                power_port_count=0, power_outlet_count=0, interface_count=0,
                front_port_count=0, rear_port_count=0, device_bay_count=0,
                module_bay_count=0, inventory_item_count=0,
            )  # fmt: skip
            count = 2 + index % 5
            for port in range(count):
                iface_name = "mgmt0" if port == 0 else f"et-0/0/{port - 1}"
                iface_type = "1000base-t" if port == 0 else self.rng.choice(list(_IFACE_TYPES))
                self.data.add(
                    "dcim/interfaces", "dcim/interfaces", name=iface_name,
                    display=iface_name, device=self.ref("dcim/devices", device), vdcs=[],
                    module=None, label="", type=_choice(iface_type, _IFACE_TYPES[iface_type]),
                    enabled=(index + port) % 11 != 0, parent=None, bridge=None,
                    bridge_interfaces=[], lag=None, mtu=9216 if port else 1500,
                    mac_address=f"02:00:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}:{port:02x}",
                    primary_mac_address=None, mac_addresses=[], speed=None, duplex=None,
                    wwn=None, mgmt_only=port == 0,
                    description=HOSTILE[0] if (index, port) == (3, 1) else "",
                    mode=_choice("access") if port else None, untagged_vlan=None, tagged_vlans=[],
                    qinq_svlan=None, vlan_translation_policy=None, mark_connected=False,
                    cable=None, cable_end=None, wireless_link=None, link_peers=[],
                    link_peers_type=None, wireless_lans=[], vrf=None, l2vpn_termination=None,
                    connected_endpoints=None, connected_endpoints_type=None,
                    connected_endpoints_reachable=False, owner=None, count_ipaddresses=0,
                    count_fhrp_groups=0, _occupied=False,
                )  # fmt: skip
            device["interface_count"] = count

    def cables(self) -> None:
        """Uplinks: each device's first data port to another device at the same site."""
        by_site: dict[int, list[Row]] = {}
        first_port: dict[int, Row] = {}
        for iface in self.data.rows("dcim/interfaces"):
            if iface["name"] == "et-0/0/0":
                first_port[iface["device"]["id"]] = iface
        for device in self.data.rows("dcim/devices"):
            if device["id"] in first_port:
                by_site.setdefault(device["site"]["id"], []).append(device)
        for devices in by_site.values():
            for a, b in zip(devices[0::2], devices[1::2], strict=False):
                if self.rng.random() < 0.15:
                    continue
                self.connect(first_port[a["id"]], first_port[b["id"]])

    def connect(self, a: Row, b: Row) -> None:
        def end(iface: Row) -> Row:
            return {"object_type": "dcim.interface", "object_id": iface["id"],
                    "object": self.data.brief("dcim/interfaces", iface["id"])}  # fmt: skip

        number = len(self.data.tables["dcim/cables"]) + 1
        cable = self.data.add("dcim/cables", "dcim/cables", display=f"#{number}",
                              type="smf" if number % 3 else "cat6", a_terminations=[end(a)],
                              b_terminations=[end(b)], status=_choice("connected"),
                              profile=None, tenant=None, bundle=None,
                              label="" if number % 4 else f"XC-{number:05d}", color="",
                              length=None, length_unit=None, owner=None, comments="")  # fmt: skip
        for side, iface, peer in (("A", a, b), ("B", b, a)):
            iface.update(cable=self.ref("dcim/cables", cable), cable_end=side, _occupied=True,
                         link_peers=[self.data.brief("dcim/interfaces", peer["id"])],
                         link_peers_type="dcim.interface", connected_endpoints_type="dcim.interface",
                         connected_endpoints=[self.data.brief("dcim/interfaces", peer["id"])],
                         connected_endpoints_reachable=True)  # fmt: skip
            brief = self.data.brief("dcim/interfaces", iface["id"])
            brief.update(cable=iface["cable"], _occupied=True)

    def ipam(self) -> None:
        for slug, name in (("servers", "Servers"), ("management", "Management"),
                           ("point-to-point", "Point-to-point"), ("customers", "Customers")):  # fmt: skip
            self.data.add("ipam/roles", "ipam/roles", name=name, slug=slug, weight=1000,
                          owner=None, comments="")  # fmt: skip
        roles = self.data.rows("ipam/roles")
        tenants = self.data.rows("tenancy/tenants")
        sites = self.data.rows("dcim/sites")
        self.prefix("10.0.0.0/8", "container", depth=0, description="Private IPv4 space")
        self.prefix("2001:db8::/32", "container", depth=0, description="Documentation IPv6")
        per_site = max(3, -(-self.n_ips // max(1, len(sites)) // 200) + 1)
        for site in sites:
            s = site["id"]
            site_ref = self.ref("dcim/sites", site)
            self.prefix(f"10.{s}.0.0/16", "container", depth=1, site=site, tenant=site["tenant"],
                        description=f"{site['name'][:40]} aggregate")  # fmt: skip
            self.prefix(f"2001:db8:{s:x}::/48", "container", depth=1, site=site)
            self.site_prefixes[s], self.site_v6[s] = [], []
            for v in range(per_site):
                vid = 100 + v
                vlan = self.data.add("ipam/vlans", "ipam/vlans", site=site_ref, group=None,
                                     vid=vid, name=f"{site['slug'][:20]}-v{vid}",
                                     display=f"{site['slug'][:20]}-v{vid} ({vid})",
                                     tenant=site["tenant"] if v % 2 else None,
                                     status=_choice("active" if v % 7 else "reserved"),
                                     role=self.ref("ipam/roles", roles[v % len(roles)]),
                                     qinq_role=None, qinq_svlan=None, owner=None, comments="",
                                     l2vpn_termination=None, prefix_count=0)  # fmt: skip
                tenant = (
                    self.ref("tenancy/tenants", tenants[(s + v) % len(tenants)])
                    if v % 3 == 1
                    else None
                )
                role = roles[v % len(roles)]
                p4 = self.prefix(f"10.{s}.{v}.0/24", "active", depth=2, site=site, vlan=vlan,
                                 role=role, tenant=tenant)  # fmt: skip
                p6 = self.prefix(f"2001:db8:{s:x}:{v:x}::/64", "active", depth=2, site=site,
                                 vlan=vlan, role=role, tenant=tenant)  # fmt: skip
                self.site_prefixes[s].append(p4)
                self.site_v6[s].append(p6)
                self.free_hosts[p4["id"]] = [f"10.{s}.{v}.{h}" for h in range(200, 0, -1)]
            # a pool nested one level deeper, so depth-3 prefixes and partial use exist
            self.prefix(f"10.{s}.{per_site - 1}.128/26", "reserved", depth=3, site=site,
                        description="DHCP pool", is_pool=True)  # fmt: skip

    def prefix(self, text: str, status: str, *, depth: int, site: Row | None = None,
               vlan: Row | None = None, role: Row | None = None, tenant: Row | None = None,
               description: str = "", is_pool: bool = False) -> Row:  # fmt: skip
        network = ipaddress.ip_network(text)
        text = str(network)  # as NetBox answers it: "2001:db8:2::/64", not "2001:db8:2:0::/64"
        return self.data.add(
            "ipam/prefixes", "ipam/prefixes", display=text, prefix=text,
            family={"value": network.version, "label": f"IPv{network.version}"}, vrf=None,
            scope_type="dcim.site" if site else None, scope_id=site["id"] if site else None,
            scope=self.ref("dcim/sites", site), tenant=tenant,
            vlan=self.ref("ipam/vlans", vlan), status=_choice(status),
            role=self.ref("ipam/roles", role), is_pool=is_pool, mark_utilized=False,
            description=description, owner=None, comments="", children=0, _depth=depth,
        )  # fmt: skip

    def virtual_machines(self) -> None:
        sites = self.data.rows("dcim/sites")
        server_role = self.data.named("dcim/device-roles", "Server")[0]
        platforms = self.data.rows("dcim/platforms")
        for index in range(self.n_vms):
            site = sites[(index * 7) % len(sites)]
            vm = self.data.add(
                "virtualization/virtual-machines", "virtualization/virtual-machines",
                name=f"vm-{site['slug'][:10]}-{index:03d}", virtual_machine_type=None,
                role=self.ref("dcim/device-roles", server_role), status=_choice("active"),
                start_on_boot={"value": "on", "label": "On"}, site=self.ref("dcim/sites", site),
                cluster=None, device=None, platform=self.ref("dcim/platforms", platforms[3]),
                primary_ip=None, primary_ip4=None, primary_ip6=None, vcpus=2.0,
                memory=4096, disk=40, serial="", tenant=site["tenant"], owner=None, comments="",
                local_context_data=None, config_template=None, interface_count=1,
                virtual_disk_count=0, config_context={},
            )  # fmt: skip
            self.data.add("virtualization/interfaces", "virtualization/interfaces", name="eth0",
                          virtual_machine=self.ref("virtualization/virtual-machines", vm),
                          enabled=True, parent=None, bridge=None, mtu=1500, mac_address=None,
                          primary_mac_address=None, mac_addresses=[], mode=None,
                          untagged_vlan=None, tagged_vlans=[], qinq_svlan=None,
                          vlan_translation_policy=None, vrf=None, l2vpn_termination=None,
                          count_ipaddresses=0, count_fhrp_groups=0, owner=None)  # fmt: skip

    def addresses(self) -> None:
        """Device interfaces first (primary IPv4/IPv6 of most devices), then VMs, then
        unassigned addresses (reserved, DHCP) until the asked total."""
        tenants = self.data.rows("tenancy/tenants")
        devices = self.data.tables["dcim/devices"]
        ifaces = [
            i for i in self.data.rows("dcim/interfaces") if i["name"] in ("mgmt0", "et-0/0/0")
        ]
        budget = self.n_ips
        for iface in ifaces:
            if budget <= self.n_ips * 0.3:  # the rest: VMs and unassigned addresses
                break
            device = devices[iface["device"]["id"]]
            host = self.take_host(device["site"]["id"])
            if host is None:
                continue
            v4 = self.address(host, iface, device=device)
            budget -= 1
            if iface["name"] == "mgmt0":
                device["primary_ip4"] = device["primary_ip"] = self.ref("ipam/ip-addresses", v4)
                if budget > 0 and device["id"] % 3:
                    net = self.site_v6[device["site"]["id"]][0]["prefix"].split("::")[0]
                    v6 = self.address(f"{net}::{device['id']:x}/64", iface, device=device)
                    # NetBox's primary_ip prefers IPv6 unless PREFER_IPV4 is set
                    device["primary_ip6"] = device["primary_ip"] = self.ref("ipam/ip-addresses", v6)
                    budget -= 1
        for vm_iface in self.data.rows("virtualization/interfaces"):
            vm = self.data.tables["virtualization/virtual-machines"][
                vm_iface["virtual_machine"]["id"]
            ]
            host = self.take_host(vm["site"]["id"]) if budget > self.n_ips * 0.1 else None
            if host is None:
                break
            ip = self.address(host, vm_iface, vm=vm)
            vm["primary_ip4"] = vm["primary_ip"] = self.ref("ipam/ip-addresses", ip)
            budget -= 1
        sites = [s["id"] for s in self.data.rows("dcim/sites")]
        while budget > 0:
            host = self.take_host(sites[budget % len(sites)])
            if host is None and not any(self.free_hosts.values()):
                break
            if host is not None:
                tenant = (
                    self.ref("tenancy/tenants", tenants[budget % len(tenants)])
                    if budget % 4 == 0
                    else None
                )
                self.address(host, None, tenant=tenant)
                budget -= 1

    def take_host(self, site_id: int) -> str | None:
        for prefix in self.site_prefixes[site_id]:
            free = self.free_hosts[prefix["id"]]
            if free:
                return f"{free.pop()}/24"
        return None

    def address(self, text: str, iface: Row | None, *, device: Row | None = None,
                vm: Row | None = None, tenant: Row | None = None) -> Row:  # fmt: skip
        number = len(self.data.tables["ipam/ip-addresses"]) + 1
        interface = ipaddress.ip_interface(text)
        text = str(interface)  # compressed, as NetBox answers it
        owner = device or vm
        if owner is not None:
            label = _slug(str(owner.get("name") or f"device-{owner['id']}"))[:40] or "x"
            dns = f"{_slug(iface['name'] if iface else '')}.{label}.example.net".strip(".")
        else:
            dns = f"host-{number}.dhcp.example.net" if number % 3 else ""
        assigned_type = (
            None
            if iface is None
            else ("dcim.interface" if device else "virtualization.vminterface")
        )
        endpoint = "dcim/interfaces" if device else "virtualization/interfaces"
        status = "active" if owner else ("reserved" if number % 5 == 0 else "dhcp")
        ip = self.data.add(
            "ipam/ip-addresses", "ipam/ip-addresses", display=text,
            family={"value": interface.version, "label": f"IPv{interface.version}"},
            address=text, vrf=None,
            tenant=tenant if tenant else (owner or {}).get("tenant"),
            status=_choice(status, "DHCP" if status == "dhcp" else None),
            role=None if number % 50 else _choice("loopback"),
            assigned_object_type=assigned_type,
            assigned_object_id=iface["id"] if iface else None,
            assigned_object=self.data.brief(endpoint, iface["id"]) if iface else None,
            nat_inside=None, nat_outside=[], dns_name=dns,
            description=HOSTILE[0] if number == 42 else "", owner=None, comments="",
        )  # fmt: skip
        if iface is not None:
            iface["count_ipaddresses"] += 1
        return ip

    def circuits(self) -> None:
        providers = ["Lumen", "Zayo", "Cogent", "NTT", "Telia", "GTT", HOSTILE[1][:60]]
        for index, name in enumerate(providers):
            self.data.add("circuits/providers", "circuits/providers", name=name,
                          slug=_slug(name) if index < 6 else "hostile-provider", accounts=[],
                          owner=None, comments="", asns=[])  # fmt: skip
        for slug, name in (("transit", "Internet transit"), ("wave", "Wavelength"),
                           ("dark-fiber", "Dark fiber"), ("mpls", "MPLS")):  # fmt: skip
            self.data.add("circuits/circuit-types", "circuits/circuit-types", name=name,
                          slug=slug, color="", owner=None, comments="")  # fmt: skip
        types = self.data.rows("circuits/circuit-types")
        sites = self.data.rows("dcim/sites")
        for index in range(max(4, len(sites) * 3 // 2)):
            provider = self.data.rows("circuits/providers")[index % len(providers)]
            cid = f"{provider['slug'][:4].upper()}-{100000 + index * 37}"
            circuit = self.data.add(
                "circuits/circuits", "circuits/circuits", cid=cid, display=cid,
                provider=self.ref("circuits/providers", provider), provider_account=None,
                type=self.ref("circuits/circuit-types", types[index % len(types)]),
                status=_choice("active" if index % 6 else "provisioning"),
                tenant=sites[index % len(sites)]["tenant"], install_date="2024-05-01",
                termination_date=None, commit_rate=10_000_000 if index % 2 else None,
                distance=None, distance_unit=None, termination_a=None, termination_z=None,
                owner=None, comments="", assignments=[],
            )  # fmt: skip
            for side, site in (("A", sites[index % len(sites)]),
                               ("Z", sites[(index * 5 + 1) % len(sites)])):  # fmt: skip
                if side == "Z" and index % 4 == 3:
                    continue  # a circuit to the provider's cloud: one termination only
                term = self.data.add(
                    "circuits/circuit-terminations", "circuits/circuit-terminations",
                    display=f"{cid}: Termination {side}",
                    circuit=self.ref("circuits/circuits", circuit), term_side=side,
                    termination_type="dcim.site", termination_id=site["id"],
                    termination=self.ref("dcim/sites", site), port_speed=10_000_000,
                    upstream_speed=None, xconnect_id=f"XC{index:04d}{side}", pp_info="",
                    mark_connected=False, cable=None, cable_end=None, link_peers=[],
                    link_peers_type=None, _occupied=False,
                )  # fmt: skip
                circuit[f"termination_{side.lower()}"] = {
                    k: term[k] for k in ("id", "url", "display_url", "display", "termination_type",
                                         "termination_id", "termination", "port_speed",
                                         "upstream_speed", "xconnect_id", "description")
                }  # fmt: skip

    def contacts(self) -> None:
        roles = self.data.rows("tenancy/contact-roles")
        for site in self.data.rows("dcim/sites"):
            for n in range(site["id"] % 3):
                name = f"{site['slug'][:20]} {('NOC', 'Facilities')[n]}"
                contact = self.data.add(
                    "tenancy/contacts", "tenancy/contacts", name=name, groups=[],
                    title="" if n else "Network engineer", phone=f"+1-555-{site['id']:04d}",
                    email=f"{_slug(name)}@example.net", address="", link="", owner=None,
                    comments="",
                )  # fmt: skip
                self.data.add(
                    "tenancy/contact-assignments", "tenancy/contact-assignments",
                    display=name, object_type="dcim.site", object_id=site["id"],
                    object=self.ref("dcim/sites", site),
                    contact=self.ref("tenancy/contacts", contact),
                    role=self.ref("tenancy/contact-roles", roles[n]),
                    priority=_choice("primary" if n == 0 else "secondary"),
                )  # fmt: skip

    def counts(self) -> None:
        """The read-only counts NetBox annotates, from the objects that exist (zero for the
        kinds of objects the data set has none of: power feeds, ASNs, module types, ...)."""
        d = self.data
        tally: Counter[tuple[str, str, int]] = Counter()
        for endpoint, keys in (("dcim/devices", ("site", "role", "device_type", "platform",
                                                 "tenant", "rack")),
                               ("dcim/racks", ("site", "tenant")),
                               ("dcim/device-types", ("manufacturer",)),
                               ("virtualization/virtual-machines", ("site", "role", "platform",
                                                                    "tenant")),
                               ("ipam/vlans", ("site", "tenant", "role")),
                               ("ipam/prefixes", ("scope", "tenant", "role", "vlan")),
                               ("ipam/ip-addresses", ("tenant",)),
                               ("circuits/circuits", ("provider", "type", "tenant")),
                               ("dcim/sites", ("region", "tenant"))):  # fmt: skip
            for row in d.rows(endpoint):
                for key in keys:
                    if row.get(key):
                        tally[(endpoint, key, row[key]["id"])] += 1
        for term in d.rows("circuits/circuit-terminations"):
            tally[("circuits/circuits", "site", term["termination_id"])] += 1
        deepest_first = sorted(d.rows("dcim/regions"), key=lambda r: -int(r["_depth"]))
        for region in deepest_first:  # a region's sites include its children's
            if region["parent"]:
                tally[("dcim/sites", "region", region["parent"]["id"])] += tally[
                    ("dcim/sites", "region", region["id"])]  # fmt: skip

        def put(endpoint: str, name: str, source: str = "", key: str = "") -> None:
            for object_id, row in d.tables[endpoint].items():
                row[name] = tally[(source, key, object_id)]
                if name in BRIEF_FIELDS[endpoint]:
                    d.briefs[endpoint][object_id][name] = row[name]

        for endpoint, name, source, key in (
            ("dcim/sites", "device_count", "dcim/devices", "site"),
            ("dcim/sites", "rack_count", "dcim/racks", "site"),
            ("dcim/sites", "virtualmachine_count", "virtualization/virtual-machines", "site"),
            ("dcim/sites", "vlan_count", "ipam/vlans", "site"),
            ("dcim/sites", "prefix_count", "ipam/prefixes", "scope"),
            ("dcim/sites", "circuit_count", "circuits/circuits", "site"),
            ("dcim/regions", "site_count", "dcim/sites", "region"),
            ("dcim/device-roles", "device_count", "dcim/devices", "role"),
            ("dcim/device-roles", "virtualmachine_count", "virtualization/virtual-machines", "role"),
            ("dcim/device-types", "device_count", "dcim/devices", "device_type"),
            ("dcim/manufacturers", "devicetype_count", "dcim/device-types", "manufacturer"),
            ("dcim/platforms", "device_count", "dcim/devices", "platform"),
            ("dcim/platforms", "virtualmachine_count", "virtualization/virtual-machines", "platform"),
            ("dcim/racks", "device_count", "dcim/devices", "rack"),
            ("ipam/roles", "prefix_count", "ipam/prefixes", "role"),
            ("ipam/roles", "vlan_count", "ipam/vlans", "role"),
            ("ipam/vlans", "prefix_count", "ipam/prefixes", "vlan"),
            ("circuits/providers", "circuit_count", "circuits/circuits", "provider"),
            ("circuits/circuit-types", "circuit_count", "circuits/circuits", "type"),
            *(("tenancy/tenants", f"{kind}_count", source, "tenant") for kind, source in (
                ("circuit", "circuits/circuits"), ("device", "dcim/devices"),
                ("ipaddress", "ipam/ip-addresses"), ("prefix", "ipam/prefixes"),
                ("rack", "dcim/racks"), ("site", "dcim/sites"),
                ("virtualmachine", "virtualization/virtual-machines"), ("vlan", "ipam/vlans"),
                ("vrf", ""), ("cluster", ""))),
        ):  # fmt: skip
            put(endpoint, name, source, key)
        for endpoint, names in (
            ("dcim/regions", ("prefix_count",)), ("dcim/racks", ("powerfeed_count",)),
            ("ipam/roles", ("asn_count",)),
            ("dcim/manufacturers", ("moduletype_count", "inventoryitem_count", "platform_count")),
            ("dcim/device-types", tuple(f"{kind}_template_count" for kind in (
                "console_port", "console_server_port", "power_port", "power_outlet", "interface",
                "front_port", "rear_port", "device_bay", "module_bay", "inventory_item"))),
        ):  # fmt: skip
            for name in names:
                put(endpoint, name)
        networks = {p["id"]: ipaddress.ip_network(p["prefix"]) for p in d.rows("ipam/prefixes")}
        for row in d.rows("ipam/prefixes"):
            net = networks[row["id"]]
            row["children"] = sum(
                other != net and other.version == net.version and other.subnet_of(net)  # type: ignore[arg-type]
                for other in networks.values()
            )


def generate_dataset(seed: int = 1, *, sites: int = 40, devices: int = 400, ips: int | None = None,
                     vms: int | None = None) -> Dataset:  # fmt: skip
    """A NetBox data set, the same for the same arguments: `sites` sites over ~25 nested
    regions, `devices` devices (2-6 interfaces each, cabled in pairs), `ips` IP addresses
    (default 2 per device) and `vms` virtual machines (default a tenth of the devices)."""
    ips = 2 * devices if ips is None else ips
    vms = devices // 10 if vms is None else vms
    return _Builder(seed, sites, devices, ips, vms).build()
