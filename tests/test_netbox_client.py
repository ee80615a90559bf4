"""The NetBox client (pynetbox underneath) against the fake NetBox: paging, trimming,
version detection, requests per refresh, timeouts and TLS with a certificate made here."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from fakes.netbox import Certificates, FakeNetBox, generate_dataset, make_certificates
from netbot.core.secrets import Secret
from netbot.netbox import Catalog, NetboxClient, NetboxUnavailable
from netbot.netbox.catalog import SOURCES

T = TypeVar("T")


async def blocking(call: Callable[[], T]) -> T:
    """pynetbox is synchronous: run it off the loop the fake serves on."""
    return await asyncio.to_thread(call)


def client_for(netbox: FakeNetBox, **options: object) -> NetboxClient:
    return NetboxClient(netbox.url, Secret(netbox.token), **options)  # type: ignore[arg-type]


async def test_lists_come_in_parallel_pages_ordered_by_id_without_an_extra_page() -> None:
    data = generate_dataset(2, sites=4, devices=100)
    async with FakeNetBox(data) as netbox:
        client = client_for(netbox, page_size=50)
        await blocking(client.detect_version)
        rows = await blocking(lambda: client.all("dcim/devices", fields=("id", "name", "site")))
        devices = data.rows("dcim/devices")
        assert sorted(r["id"] for r in rows) == sorted(d["id"] for d in devices)  # none twice
        assert set(rows[0]) == {"id", "name", "site"}
        asked = [r for r in netbox.requests if r.route == "dcim/devices"]
        assert len(asked) == math.ceil(len(devices) / 50)  # no page past the end
        assert all(r.query["ordering"] == "id" and r.query["limit"] == "50" for r in asked)
        assert {r.query.get("offset") for r in asked} == {
            str(n) for n in range(0, len(devices), 50)
        }
        client.close()


async def test_older_netbox_gets_no_fields_but_never_the_config_context() -> None:
    async with FakeNetBox(generate_dataset(2, sites=3, devices=10), version="3.7.8") as netbox:
        client = client_for(netbox)
        assert await blocking(client.detect_version) == "3.7.8"
        rows = await blocking(lambda: client.all("dcim/devices", fields=("id", "name")))
        assert rows and "serial" in rows[0]
        asked = [r for r in netbox.requests if r.route == "dcim/devices"][-1]
        assert "fields" not in asked.query and asked.query["exclude"] == "config_context"
        client.close()


async def test_a_refresh_reads_every_kind_in_few_requests() -> None:
    data = generate_dataset(4, sites=6, devices=120, ips=300)
    async with FakeNetBox(data) as netbox:
        catalog = Catalog(client_for(netbox, page_size=100), lambda: dt.datetime.now(dt.UTC))
        index = await blocking(catalog.refresh)
        pages = sum(max(1, math.ceil(len(data.rows(path)) / 100)) for path, _ in SOURCES.values())
        assert catalog.last_requests == pages + 1  # and /api/status/ once
        assert index.counts()["ip"] == len(data.rows("ipam/ip-addresses"))
        named = [d for d in data.rows("dcim/devices") if d.get("name")]
        assert index.counts()["device"] == len(named)  # unnamed devices are not offered
        catalog.client.close()


async def test_a_hanging_netbox_is_a_timeout_not_a_hang() -> None:
    async with FakeNetBox(generate_dataset(2, sites=2, devices=4)) as netbox:
        client = client_for(netbox, timeout=0.5)
        netbox.hold()
        with pytest.raises(NetboxUnavailable, match=r"did not answer within 0\.5 s"):
            await asyncio.wait_for(blocking(client.detect_version), 10)
        netbox.release()
        client.close()


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_tls_with_a_self_signed_certificate(certificates: Certificates) -> None:
    data = generate_dataset(2, sites=2, devices=4)
    async with FakeNetBox(data, tls=certificates.server_context()) as netbox:
        assert netbox.url.startswith("https://")
        refused = client_for(netbox)
        with pytest.raises(NetboxUnavailable, match=r"not trusted: set netbox\.ca_bundle"):
            await blocking(refused.detect_version)
        trusted = client_for(netbox, ca_bundle=str(certificates.ca))
        assert await blocking(trusted.detect_version) == netbox.version
        unchecked = client_for(netbox, verify_tls=False)
        assert await blocking(unchecked.detect_version) == netbox.version
        for client in (refused, trusted, unchecked):
            client.close()
