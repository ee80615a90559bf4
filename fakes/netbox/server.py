"""A fake NetBox REST API (read-only) on `FakeHttpServer`, for pynetbox in tests and benches.

Real semantics where a client could get them wrong: token auth (403 without a token, with an
unknown one, or with one whose user may not view the model, told apart only by the `{"detail":
...}` text, as NetBox answers), offset
paging with `count`/`next`/`previous` as absolute URLs and `limit` capped at `max_page_size`,
cursor paging (`start=`, NetBox 4.6+, no count), `ordering` (NetBox's default orders otherwise),
`brief`, `fields=` (4.0+), `omit=` (4.5.2+) and `exclude=config_context`, filters with their
lookups (`name__ic`, `__isw`, `__ie`, `__n`, ...), `q`, IP containment (`contains`, `within`,
`within_include`, `parent`), `available-ips` / `available-prefixes` of one prefix, and the
`API-Version` header. Every request and answer is checked against NetBox's OpenAPI description
(`contract.py`); a filter NetBox does not have (NetBox would silently ignore it: the client's
filter does nothing) or one the fake does not implement is recorded in `failures` too, so a
test never passes on a filter that did not filter.

    async with FakeNetBox(generate_dataset(1), latency=0.05) as netbox:
        api = pynetbox.api(netbox.url, token=netbox.token)
        netbox.request_counts()            # Counter by route ("dcim/devices", "status", ...)
        netbox.max_in_flight               # most requests served at once (parallel paging)
        GET /_fake/requests                # both as JSON, for a fake in another process
        netbox.add_token("t2", {"dcim/sites"})   # may read sites only: 403 elsewhere
        netbox.mutate_next(lambda body: ...)     # corrupt the next answer (checker must bite)
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Self

from aiohttp import web

from fakes.http import FakeHttpServer
from fakes.netbox import contract
from fakes.netbox.dataset import ENDPOINTS, Dataset, Row, generate_dataset

Getter = Callable[[Row, str, Dataset], list[Any]]
Answer = Callable[[web.Request, str, str], web.Response]  # (request, endpoint, path template)
Handler = Callable[[web.Request], Awaitable[web.Response]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_CONTROL = {"limit", "offset", "start", "ordering", "brief", "fields", "omit", "exclude"}
_LOOKUPS = ("n", "ic", "nic", "isw", "nisw", "iew", "niew", "ie", "nie", "lt", "lte", "gt", "gte")
_SEARCHED = ("name", "display", "description", "slug", "serial", "asset_tag", "cid", "dns_name",
             "address", "prefix", "facility", "physical_address", "comments", "model")  # fmt: skip
_DEFAULT_ORDER = {
    "ipam/ip-addresses": ("address", "id"), "ipam/prefixes": ("prefix", "id"),
    "ipam/vlans": ("site", "vid", "id"), "circuits/circuits": ("provider", "cid", "id"),
    "circuits/circuit-terminations": ("circuit", "term_side", "id"), "dcim/cables": ("id",),
    "dcim/interfaces": ("device", "name", "id"), "dcim/device-types": ("manufacturer", "model", "id"),
    "virtualization/interfaces": ("virtual_machine", "name", "id"),
    "tenancy/contact-assignments": ("contact", "priority", "id"),
}  # fmt: skip
MODEL_NAMES = {e: e.rsplit("/", 1)[1].rstrip("s").replace("-", " ").title().replace(" ", "")
               for e in ENDPOINTS}  # fmt: skip
MODEL_NAMES.update({"ipam/ip-addresses": "IPAddress", "ipam/vlans": "VLAN",
                    "dcim/device-roles": "DeviceRole", "virtualization/interfaces": "VMInterface",
                    "ipam/prefixes": "Prefix", "dcim/device-types": "DeviceType",
                    "virtualization/virtual-machines": "VirtualMachine"})  # fmt: skip


# -- filters: what a filter name reads from an object (a list: a filter may match many) -----


def _at(*keys: str) -> Getter:
    """A field, nested objects followed (a missing top field: KeyError, not "no match")."""

    def get(row: Row, endpoint: str, data: Dataset) -> list[Any]:
        value: Any = row[keys[0]]
        for key in keys[1:]:
            value = value.get(key) if isinstance(value, dict) else None
        return [] if value is None else value if isinstance(value, list) else [value]

    return get


def _named(field: str) -> Getter:
    """How a filter names a related object or a choice: its slug (`role=server`) or its value
    (`status=active`, `role=loopback` on addresses, `type=10gbase-x-sfpp`), or the plain
    value of a text field (a cable's `type=smf`)."""

    def get(row: Row, endpoint: str, data: Dataset) -> list[Any]:
        value = row[field]
        if isinstance(value, dict):
            value = value.get("slug", value.get("value"))
        return [] if value is None else [value]

    return get


def _site_of(row: Row, endpoint: str, data: Dataset) -> Row | None:
    if endpoint == "dcim/sites":
        return row
    if endpoint == "ipam/prefixes":
        return data.get("dcim/sites", row["scope_id"]) if row["scope_type"] == "dcim.site" else None
    if endpoint == "circuits/circuit-terminations":
        return data.get("dcim/sites", row["termination_id"])
    if endpoint == "dcim/interfaces":
        row = data.tables["dcim/devices"][row["device"]["id"]]
    nested = row["site"]  # KeyError where objects have no site: the filter is not implemented
    return data.get("dcim/sites", nested["id"]) if nested else None


def _site(key: str) -> Getter:
    def get(row: Row, endpoint: str, data: Dataset) -> list[Any]:
        site = _site_of(row, endpoint, data)
        return [] if site is None else [site[key]]

    return get


def _region(key: str) -> Getter:
    """The site's region and every region above it (NetBox's tree filters include children)."""

    def get(row: Row, endpoint: str, data: Dataset) -> list[Any]:
        site = _site_of(row, endpoint, data)
        region = data.get("dcim/regions", site["region"]["id"]) if site and site["region"] else None
        found = []
        while region is not None:
            found.append(region[key])
            region = data.get("dcim/regions", region["parent"]["id"]) if region["parent"] else None
        return found

    return get


def _assigned(kind: str, *keys: str) -> Getter:
    """Through an IP address's assigned interface (`kind`: dcim.interface or vminterface)."""
    inner = _at(*keys)

    def get(row: Row, endpoint: str, data: Dataset) -> list[Any]:
        if row.get("assigned_object_type") != kind:
            return []
        return inner(row["assigned_object"], endpoint, data)

    return get


def _terminations(key: str) -> Getter:
    """A circuit's sites: where its terminations are (NetBox's circuit `site_id` filter)."""

    def get(row: Row, endpoint: str, data: Dataset) -> list[Any]:
        ends = (row["termination_a"], row["termination_z"])
        return [end["termination"][key] for end in ends
                if end and end["termination_type"] == "dcim.site"]  # fmt: skip

    return get


def _truth(test: Callable[[Row], bool]) -> Getter:
    return lambda row, endpoint, data: [test(row)]


FILTERS: dict[str, Getter] = {
    "id": _at("id"), "name": _at("name"), "slug": _at("slug"), "description": _at("description"),
    "status": _named("status"), "serial": _at("serial"), "asset_tag": _at("asset_tag"),
    "site_id": _site("id"), "site": _site("slug"), "region_id": _region("id"),
    "region": _region("slug"), "tenant_id": _at("tenant", "id"), "tenant": _named("tenant"),
    "role_id": _at("role", "id"), "role": _named("role"), "rack_id": _at("rack", "id"),
    "vlan_id": _at("vlan", "id"), "vid": _at("vid"), "cid": _at("cid"),
    "provider_id": _at("provider", "id"), "provider": _named("provider"),
    "circuit_id": _at("circuit", "id"), "term_side": _at("term_side"),
    "type_id": _at("type", "id"), "type": _named("type"),
    "device_type_id": _at("device_type", "id"), "platform_id": _at("platform", "id"),
    "platform": _named("platform"), "family": _named("family"),
    "dns_name": _at("dns_name"), "depth": _at("_depth"),
    "parent_id": _at("parent", "id"), "contact_id": _at("contact", "id"),
    "object_type": _at("object_type"), "object_id": _at("object_id"),
    "enabled": _at("enabled"), "cabled": _truth(lambda row: row["cable"] is not None),
    "has_primary_ip": _truth(lambda row: row["primary_ip"] is not None),
    "assigned_to_interface": _truth(lambda row: row["assigned_object"] is not None),
    "mask_length": lambda row, endpoint, data: [
        ipaddress.ip_interface(row.get("address") or row["prefix"]).network.prefixlen],
    "interface_id": _assigned("dcim.interface", "id"),
    "vminterface_id": _assigned("virtualization.vminterface", "id"),
}  # fmt: skip
_PER_ENDPOINT: dict[str, dict[str, Getter]] = {
    "dcim/interfaces": {"device_id": _at("device", "id"), "device": _at("device", "name")},
    "ipam/ip-addresses": {
        "device_id": _assigned("dcim.interface", "device", "id"),
        "device": _assigned("dcim.interface", "device", "name"),
        "virtual_machine_id": _assigned("virtualization.vminterface", "virtual_machine", "id"),
        "virtual_machine": _assigned("virtualization.vminterface", "virtual_machine", "name"),
    },
    "dcim/devices": {"manufacturer_id": _at("device_type", "manufacturer", "id"),
                     "manufacturer": _at("device_type", "manufacturer", "slug")},
    "dcim/device-types": {"manufacturer_id": _at("manufacturer", "id"),
                          "manufacturer": _at("manufacturer", "slug")},
    "virtualization/interfaces": {"virtual_machine_id": _at("virtual_machine", "id")},
    "circuits/circuits": {"site_id": _terminations("id"), "site": _terminations("slug")},
}  # fmt: skip


_IP_FILTERS = ("address", "parent")  # on ip-addresses
_PREFIX_FILTERS = ("prefix", "contains", "within", "within_include")  # on prefixes


def _ip_test(name: str, value: str) -> Callable[[Row], bool]:
    """The IP-aware filters: `address` (by host, mask ignored), `parent` (host inside),
    `prefix` (equal network), `contains`, `within`, `within_include`. A value that is no
    address matches nothing, as in NetBox."""
    try:
        if name == "address":
            host = ipaddress.ip_interface(value).ip
            return lambda row: ipaddress.ip_interface(row["address"]).ip == host
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return lambda row: False
    if name == "parent":
        return lambda row: ipaddress.ip_interface(row["address"]).ip in net
    if name == "prefix":  # the same network however it is written
        return lambda row: ipaddress.ip_network(row["prefix"]) == net
    if name == "contains":
        return lambda row: _inside(net, ipaddress.ip_network(row["prefix"]), True)
    equal = name == "within_include"
    return lambda row: _inside(ipaddress.ip_network(row["prefix"]), net, equal)


def _inside(inner: Network, outer: Network, or_equal: bool) -> bool:
    if inner.version != outer.version:
        return False
    return inner.subnet_of(outer) and (or_equal or inner != outer)  # type: ignore[arg-type]


def _matches(values: list[Any], lookup: str, wanted: list[str]) -> bool:
    """Django-filter semantics: any wanted value matches (`__n`/`__nic`...: none does)."""
    if values and isinstance(values[0], bool):
        texts = [str(v).lower() for v in values]
        wanted = ["true" if w in contract.TRUE else "false" for w in wanted]
    else:
        texts = ["" if v is None else str(v) for v in values]
    negate = lookup == "n" or (lookup.startswith("n") and lookup[1:] in ("ic", "isw", "iew", "ie"))
    base = "" if lookup == "n" else lookup[1:] if negate else lookup

    def hit(text: str, want: str) -> bool:
        if base == "":
            return text == want
        if base in ("lt", "lte", "gt", "gte"):
            try:
                a, b = float(text), float(want)
            except ValueError:
                return False
            return {"lt": a < b, "lte": a <= b, "gt": a > b, "gte": a >= b}[base]
        t, w = text.lower(), want.lower()
        return {"ic": w in t, "isw": t.startswith(w), "iew": t.endswith(w), "ie": t == w}[base]

    found = any(hit(t, w) for t in texts for w in wanted)
    return not found if negate else found


def _sort_key(field: str) -> Callable[[Row], tuple[Any, ...]]:
    """How NetBox orders by `field`: nested objects by name, addresses numerically."""
    if field == "id":
        return lambda row: (row["id"],)  # ordering=id on every page: keep it cheap
    return lambda row: _sort_value(row.get(field), field)


@functools.cache
def _network_order(text: str) -> tuple[int, ...]:
    """An address or prefix in numeric order (cached: a bench sorts 20,000 of them a page)."""
    interface = ipaddress.ip_interface(text)
    return (1, interface.version, int(interface.ip), interface.network.prefixlen)


def _sort_value(value: Any, field: str) -> tuple[Any, ...]:
    if value is None or value == "":
        return (0,)
    if isinstance(value, dict):
        value = value.get("name") or value.get("cid") or value.get("display") or value.get("id")
    if field in ("address", "prefix") and isinstance(value, str):
        return _network_order(value)
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value).lower(), str(value))


def _free_blocks(parent: Network, used: Iterable[Network]) -> list[Network]:
    """The largest CIDR blocks of `parent` not covered by any of `used` (NetBox's IPSet)."""
    make = ipaddress.IPv4Address if parent.version == 4 else ipaddress.IPv6Address
    free: list[Network] = []
    cursor = int(parent.network_address)
    for block in ipaddress.collapse_addresses(sorted(used)):  # type: ignore[type-var]
        start = int(block.network_address)
        if start > cursor:
            free += ipaddress.summarize_address_range(make(cursor), make(start - 1))
        cursor = max(cursor, int(block.broadcast_address) + 1)
    if cursor <= int(parent.broadcast_address):
        free += ipaddress.summarize_address_range(make(cursor), make(parent.broadcast_address))
    return free


class FakeNetBox(FakeHttpServer):
    def __init__(
        self,
        dataset: Dataset | None = None,
        *,
        token: str = "0123456789abcdef0123456789abcdef01234567",
        latency: float = 0.0,
        max_page_size: int = 1000,
        page_size: int = 50,
        version: str = "4.6.8",
        tls: ssl.SSLContext | None = None,
        contract_checks: bool = True,
        default_timeout: float = 5.0,
    ) -> None:
        super().__init__("fake NetBox", default_timeout=default_timeout)
        self.dataset = dataset if dataset is not None else generate_dataset(1, sites=12, devices=60)
        self.token = token
        self.tokens: dict[str, frozenset[str] | None] = {token: None}  # None: reads everything
        self.latency = latency
        self.max_page_size, self.page_size = max_page_size, page_size
        self.version = version
        self.tls = tls
        self.contract_checks = contract_checks and contract.CONTRACT_CHECKING
        self.violations: list[str] = []  # contract breaches (also in `failures`)
        self._mutations: list[Callable[[Any], Any]] = []
        self.in_flight = self.max_in_flight = 0  # requests being served at once (parallel pages)
        self.add_route("GET", "/api/", self._root, name="root")
        self.add_route("GET", "/api/status/", self._checked(None, "/api/status/", self._status),
                       name="status")  # fmt: skip
        self.add_route("GET", "/api/schema/", self._schema, name="schema")
        for endpoint in ENDPOINTS:
            listing, detail = f"/api/{endpoint}/", f"/api/{endpoint}/{{id}}/"
            self.add_route("GET", listing, self._checked(endpoint, listing, self._list),
                           name=endpoint)  # fmt: skip
            self.add_route("GET", detail.replace("{id}", "{id:\\d+}"),
                           self._checked(endpoint, detail, self._detail), name=detail[5:-1])  # fmt: skip
        for kind in ("available-ips", "available-prefixes"):
            template = f"/api/ipam/prefixes/{{id}}/{kind}/"
            self.add_route("GET", template.replace("{id}", "{id:\\d+}"),
                           self._checked("ipam/prefixes", template, self._available),
                           name=template[5:-1])  # fmt: skip
        self.add_route("GET", "/_fake/requests", self._counts, name="_fake")
        self.add_route("*", "/{tail:.*}", self._unknown, name="unknown")

    # -- set-up and controls ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """What `pynetbox.api()` takes (the site's root, no `/api`)."""
        return self.url_for("").rstrip("/")

    def url_for(self, path: str = "/") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def start(self) -> Self:
        """The base's start, over TLS when `tls` is given."""
        if self.tls is None:
            return await super().start()
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls).start()
        self.port = self._runner.addresses[0][1]
        return self

    def add_route(self, method: str, path: str, handler: Any, *, name: str = "") -> None:
        """The base's, with a crash in the fake recorded as a failure (and answered 500)."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                response: web.StreamResponse = await handler(request)
            except Exception as exc:
                self._fail(
                    f"the fake NetBox crashed on {request.method} {request.path_qs}: {exc!r}"
                )
                return self._error(500, "fake NetBox crashed")
            finally:
                self.in_flight -= 1
            return response

        super().add_route(method, path, guarded, name=name)

    def add_token(self, token: str, may_read: Iterable[str] | None = None) -> None:
        """Another valid token; `may_read` limits it to these endpoints ("dcim/sites") and
        answers 403 on the others, as NetBox does for a token whose user lacks permission."""
        self.tokens[token] = None if may_read is None else frozenset(may_read)

    def mutate_next(self, change: Callable[[Any], Any]) -> None:
        """The next answer's JSON body goes through `change` before it is checked and sent."""
        self._mutations.append(change)

    def request_counts(self) -> Counter[str]:
        """Requests per route (`dcim/devices`, `dcim/devices/{id}`, `status`, ...)."""
        return Counter(record.route for record in self.requests if record.route != "_fake")

    @property
    def api_version(self) -> str:
        return ".".join(self.version.split(".")[:2])

    def _at_least(self, version: str) -> bool:
        def parts(text: str) -> tuple[int, ...]:
            return tuple(int(p) for p in text.split(".") if p.isdigit())

        return parts(self.version) >= parts(version)

    # -- plumbing -----------------------------------------------------------------------------

    def _fail(self, text: str) -> None:
        self.failures.append(text)

    def _refusal(self, request: web.Request, endpoint: str | None) -> web.Response | None:
        """NetBox answers 403 to all three: no token, an unknown token, a token whose user may
        not view the model; only the detail tells them apart. (Its REST framework lists session
        authentication first, which has no WWW-Authenticate challenge, so DRF turns 401 into
        403: pynetbox#375, #718; "Failed authentication would return a 403 as with any other
        endpoint", netbox#20936.)"""
        auth = request.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        if not auth:
            return self._error(403, "Authentication credentials were not provided.")
        if scheme not in ("Token", "Bearer") or key not in self.tokens:
            return self._error(403, "Invalid token")
        allowed = self.tokens[key]
        if endpoint is not None and allowed is not None and endpoint not in allowed:
            return self._error(403, "You do not have permission to perform this action.")
        return None

    def _error(self, status: int, detail: str) -> web.Response:
        headers = {"API-Version": self.api_version}  # NetBox sends it on every API answer
        return web.json_response({"detail": detail}, status=status, headers=headers)

    async def _begin(self, request: web.Request, endpoint: str | None,
                     template: str) -> web.Response | None:  # fmt: skip
        """Latency, auth, then the request's contract and filter checks."""
        if self.latency:
            await asyncio.sleep(self.latency)
        refused = self._refusal(request, endpoint)
        if refused is not None:
            return refused
        if self.contract_checks:
            problems = contract.check_request(request.method, template, request.query.items(),
                                              dict(request.headers))  # fmt: skip
            self.violations += problems
            self.failures += problems
        return None

    def _answer(self, request: web.Request, template: str, body: Any,
                status: int = 200) -> web.Response:  # fmt: skip
        """JSON with absolute URLs for the host asked, checked against the spec."""
        while self._mutations:
            body = self._mutations.pop(0)(body)
        origin = f"{request.url.scheme}://{request.host}"
        text = (json.dumps(body).replace('"url": "/', f'"url": "{origin}/')
                .replace('"display_url": "/', f'"display_url": "{origin}/'))  # fmt: skip
        if self.contract_checks:
            problem = contract.check_response(request.method, request.path, template, status,
                                              json.loads(text), dict(request.query))  # fmt: skip
            if problem:
                self.violations.append(problem)
                self._fail(problem)
        return web.Response(text=text, status=status, content_type="application/json",
                            headers={"API-Version": self.api_version})  # fmt: skip

    def _render(self, request: web.Request, endpoint: str, row: Row) -> Row:
        """One object as asked: brief, `fields=`, `omit=`, `exclude=config_context`."""
        query = request.query
        if query.get("brief") in contract.TRUE:
            return self.dataset.brief(endpoint, row["id"])
        if "fields" in query and self._at_least("4.0"):
            return {k: row[k] for k in _names(query["fields"]) if k in row}
        dropped = set(_names(query.get("exclude", "")))
        if self._at_least("4.5.2"):
            dropped |= set(_names(query.get("omit", "")))
        return {k: v for k, v in row.items() if k not in dropped} if dropped else row

    # -- handlers -----------------------------------------------------------------------------

    async def _root(self, request: web.Request) -> web.Response:
        """The API root (not in the spec): what pynetbox's `api.version` reads the
        `API-Version` header from; refused like any view (LOGIN_REQUIRED, NetBox 4's default)."""
        if self.latency:
            await asyncio.sleep(self.latency)
        refused = self._refusal(request, None)
        if refused is not None:
            return refused
        origin = f"{request.url.scheme}://{request.host}"
        apps = ("circuits", "dcim", "ipam", "tenancy", "virtualization", "extras", "users")
        return web.json_response({app: f"{origin}/api/{app}/" for app in apps},
                                 headers={"API-Version": self.api_version})  # fmt: skip

    def _status(self, request: web.Request, endpoint: str, template: str) -> web.Response:
        body = {"django-version": "5.2.9", "installed_apps": {"django_filters": "25.2"},
                "netbox-version": self.version, "netbox-full-version": f"{self.version}-Docker-3.4",
                "plugins": {}, "python-version": "3.12.3", "rq-workers-running": 1}  # fmt: skip
        return self._answer(request, template, body)

    async def _schema(self, request: web.Request) -> web.Response:
        """The OpenAPI description, for pynetbox's `strict_filters` (from ../shared); NetBox
        serves it without a token (pynetbox sends none)."""
        if not contract.CONTRACT_CHECKING:
            return self._error(404, contract.SKIP_REASON)
        return web.Response(body=contract.raw_spec(), content_type="application/json")

    async def _counts(self, request: web.Request) -> web.Response:
        """The fake's own counters, for a bench whose fake runs in another process
        (`python -m fakes.netbox`); outside /api/, so no client mistakes it for NetBox's."""
        body = {"requests": self.request_counts(), "max_in_flight": self.max_in_flight}
        return web.json_response(body)

    async def _unknown(self, request: web.Request) -> web.Response:
        """Anything else: a write (the read-only token's user may not: 403) or a path the fake
        does not serve (404). Both fail the test: the capability writes nothing, and a path
        missing here is a gap in the fake, not an answer."""
        refused = self._refusal(request, None)
        if refused is not None:
            return refused
        if request.method not in ("GET", "HEAD"):
            self._fail(
                f"{request.method} {request.path}: a write; the NetBox capability is read-only"
            )
            return self._error(403, "You do not have permission to perform this action.")
        self._fail(f"{request.method} {request.path_qs}: no such endpoint in the fake NetBox")
        return self._error(404, "Not found.")

    def _checked(self, endpoint: str | None, template: str, answer: Answer) -> Handler:
        """A route's handler: latency, auth and the request's checks, then `answer`."""

        async def handle(request: web.Request) -> web.Response:
            refused = await self._begin(request, endpoint, template)
            return refused if refused is not None else answer(request, endpoint or "", template)

        return handle

    def _detail(self, request: web.Request, endpoint: str, template: str) -> web.Response:
        row = self.dataset.get(endpoint, int(request.match_info["id"]))
        if row is None:
            return self._error(404, f"No {MODEL_NAMES[endpoint]} matches the given query.")
        return self._answer(request, template, self._render(request, endpoint, row))

    def _filtered(self, request: web.Request, endpoint: str) -> list[Row]:
        """The rows every filter of the query keeps. A filter the fake cannot apply to this
        endpoint fails the test instead of being ignored (a filter that does not filter)."""
        rows = self.dataset.rows(endpoint)
        for key in sorted(set(request.query) - _CONTROL):
            keep = self._predicate(endpoint, key, request.query.getall(key))
            try:
                rows = [row for row in rows if keep(row)] if keep else rows
            except KeyError:  # the endpoint's objects have no such field
                keep = None
            if keep is None:
                self._fail(f"GET /api/{endpoint}/: the fake NetBox does not implement `{key}`")
        return rows

    def _predicate(
        self, endpoint: str, key: str, wanted: list[str]
    ) -> Callable[[Row], bool] | None:
        if key == "q":
            needle = wanted[-1].lower()
            return lambda row: any(needle in str(row.get(f) or "").lower() for f in _SEARCHED)
        if (key in _IP_FILTERS and endpoint == "ipam/ip-addresses") or (
            key in _PREFIX_FILTERS and endpoint == "ipam/prefixes"
        ):
            tests = [_ip_test(key, value) for value in wanted]
            return lambda row: any(test(row) for test in tests)
        name, _, lookup = key.partition("__")
        getter = _PER_ENDPOINT.get(endpoint, {}).get(name) or FILTERS.get(name)
        if getter is None or (lookup and lookup not in _LOOKUPS):
            return None
        data = self.dataset
        return lambda row: _matches(getter(row, endpoint, data), lookup, wanted)

    def _list(self, request: web.Request, endpoint: str, template: str) -> web.Response:
        query = request.query
        rows = self._filtered(request, endpoint)
        limit = _int(query.get("limit"), self.page_size)
        limit = self.max_page_size if limit <= 0 else min(limit, self.max_page_size)
        url = request.url
        count: int | None = len(rows)
        next_url = previous = None
        if "start" in query and self._at_least("4.6"):  # cursor paging: by id, no count
            if "offset" in query:
                message = "The 'start' and 'offset' parameters are mutually exclusive."
                return self._error(400, message)
            start = _int(query.get("start"), 0)
            rows = sorted((r for r in rows if r["id"] >= start), key=lambda r: int(r["id"]))
            page, count = rows[:limit], None
            if len(rows) > limit:
                next_url = str(url.update_query(start=page[-1]["id"] + 1, limit=limit))
        else:
            order = [f.strip() for f in query.get("ordering", "").split(",") if f.strip()]
            for field in reversed(order or _DEFAULT_ORDER.get(endpoint, ("name", "id"))):
                rows = sorted(rows, key=_sort_key(field.lstrip("-")), reverse=field[0] == "-")
            offset = max(0, _int(query.get("offset"), 0))
            page = rows[offset : offset + limit]
            if offset + limit < len(rows):
                next_url = str(url.update_query(limit=limit, offset=offset + limit))
            if offset > 0:  # as Django REST framework: no offset at all for the first page
                back = url.update_query(limit=limit, offset=offset - limit)
                first = url.without_query_params("offset").update_query(limit=limit)
                previous = str(back if offset - limit > 0 else first)
        results = [self._render(request, endpoint, row) for row in page]
        body = {"count": count, "next": next_url, "previous": previous, "results": results}
        return self._answer(request, template, body)

    def _available(self, request: web.Request, endpoint: str, template: str) -> web.Response:
        """`available-ips` or `available-prefixes` of one prefix (the template says which)."""
        row = self.dataset.get(endpoint, int(request.match_info["id"]))
        if row is None:
            return self._error(404, "No Prefix matches the given query.")
        limit = _int(request.query.get("limit"), self.page_size)
        limit = self.max_page_size if limit <= 0 else min(limit, self.max_page_size)
        parent = ipaddress.ip_network(row["prefix"])
        if template.endswith("/available-ips/"):
            body: list[Row] = [{"family": parent.version, "address": a, "vrf": None}
                               for a in self._free_ips(row, parent, limit)]  # fmt: skip
        else:
            inside = [ipaddress.ip_network(p["prefix"]) for p in self.dataset.rows(endpoint)]
            used = [n for n in inside if n != parent and _inside(n, parent, False)]
            body = [{"family": parent.version, "prefix": str(n), "vrf": None}
                    for n in _free_blocks(parent, used)]  # fmt: skip
        return self._answer(request, template, body)

    def _free_ips(self, row: Row, parent: Network, limit: int) -> list[str]:
        used = {ipaddress.ip_interface(ip["address"]).ip
                for ip in self.dataset.rows("ipam/ip-addresses")}  # fmt: skip
        # As NetBox: a pool, an IPv4 /31-/32 or an IPv6 /127-/128 is usable whole; otherwise
        # IPv4 loses its network and broadcast addresses, IPv6 its subnet-router anycast.
        v4 = parent.version == 4
        whole = row["is_pool"] or parent.prefixlen >= (31 if v4 else 127)
        first = int(parent.network_address) + (0 if whole else 1)
        last = int(parent.broadcast_address) - (0 if whole or not v4 else 1)
        found: list[str] = []
        make = ipaddress.IPv4Address if parent.version == 4 else ipaddress.IPv6Address
        number = first
        while number <= last and len(found) < limit:
            if make(number) not in used:
                found.append(f"{make(number)}/{parent.prefixlen}")
            number += 1
        return found


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]
