"""Reading NetBox's names into the index: what each kind needs, in two rounds of requests.

The refresh runs on the supervisor (each process keeps its own index) and on demand after a
name the index did not know, at most once per `MISS_REFRESH_SECONDS`, so a user typing
unknown names cannot turn into a stream of full reloads.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from netbot.netbox.client import Listing, NetboxClient, Row
from netbot.netbox.index import EMPTY, Entry, NameIndex

log = logging.getLogger(__name__)

MISS_REFRESH_SECONDS = 60.0

# kind -> the list it comes from, the fields it needs, and how a row becomes an entry.
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "site": ("dcim/sites", ("id", "name", "region")),
    "device": ("dcim/devices", ("id", "name", "site")),
    "ip": ("ipam/ip-addresses", ("id", "address", "vrf")),
    "prefix": ("ipam/prefixes", ("id", "prefix", "vrf")),
    "vlan": ("ipam/vlans", ("id", "vid", "name", "site", "group")),
    "circuit": ("circuits/circuits", ("id", "cid", "provider")),
    "rack": ("dcim/racks", ("id", "name", "site")),
    "tenant": ("tenancy/tenants", ("id", "name", "group")),
}


def name_of(value: Any) -> str:
    """The name of a nested object as NetBox gives it (brief: name, else display)."""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("display") or value.get("cid") or "")
    return "" if value is None else str(value)


def entry(kind: str, row: Row) -> Entry | None:
    """The index entry of one row; None for an object without a name (an unnamed device)."""
    match kind:
        case "ip":
            name, context = row.get("address"), name_of(row.get("vrf")) or "global"
        case "prefix":
            name, context = row.get("prefix"), name_of(row.get("vrf")) or "global"
        case "vlan":
            name = f"{row.get('name')} ({row.get('vid')})" if row.get("name") else None
            context = name_of(row.get("site")) or name_of(row.get("group"))
        case "circuit":
            name, context = row.get("cid"), name_of(row.get("provider"))
        case "site":
            name, context = row.get("name"), name_of(row.get("region"))
        case "tenant":
            name, context = row.get("name"), name_of(row.get("group"))
        case _:
            name, context = row.get("name"), name_of(row.get("site"))
    if not name:
        return None
    return Entry(kind, int(row["id"]), str(name), context)


class Catalog:
    """The current index and its refresh; `index` is replaced whole, never changed."""

    def __init__(self, client: NetboxClient, now: Callable[[], dt.datetime]) -> None:
        self.client = client
        self.now = now
        self.index: NameIndex = EMPTY
        self.last_requests = 0  # HTTP requests the last refresh made
        self._lock = threading.Lock()  # one refresh at a time
        self._last_miss_refresh: dt.datetime | None = None

    def refresh(self) -> NameIndex:
        """Read every kind's names from NetBox and swap the new index in (blocking)."""
        with self._lock:
            before = self.client.requests_made
            if self.client.version == (0, 0):
                self.client.detect_version()
            rows = self.client.all_of(
                {kind: Listing(path, fields) for kind, (path, fields) in SOURCES.items()}
            )
            entries = (e for kind in SOURCES for row in rows[kind] if (e := entry(kind, row)))
            self.index = NameIndex.build(entries, self.now())
            self.last_requests = self.client.requests_made - before
        log.info(
            "netbox: index refreshed, %d objects in %d requests",
            len(self.index),
            self.last_requests,
        )
        return self.index

    def miss_refresh_due(self) -> bool:
        """Whether a name the index missed may trigger a refresh now (and note that it did)."""
        moment = self.now()
        last = self._last_miss_refresh
        if last is not None and (moment - last).total_seconds() < MISS_REFRESH_SECONDS:
            return False
        self._last_miss_refresh = moment
        return True
