"""`/netbox` and `/site` end to end: the real py-cord client on the fake Discord, pynetbox
against the contract-checked fake NetBox (fakes/netbox), both over real sockets."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Protocol

import pytest

from fakes.discord import FakeDiscord, FakeMessage
from fakes.netbox import HOSTILE, Dataset, FakeNetBox, generate_dataset, make_certificates
from netbot.capabilities import CAPABILITIES
from netbot.core.text import clip
from netbot.netbox import REFRESH_JOB
from tests.plugins.world import BotWorld, WorldFactory

READY_WITHIN = 30.0


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate_dataset(7, sites=12, devices=60)


@pytest.fixture
async def netbox(dataset: Dataset) -> AsyncIterator[FakeNetBox]:
    async with FakeNetBox(dataset) as server:
        yield server


class NetboxBot(Protocol):
    def __call__(
        self,
        netbox: FakeNetBox,
        *,
        token: str | None = None,
        ready: bool = True,
        top: dict[str, Any] | None = None,
        **settings: Any,
    ) -> Awaitable[BotWorld]: ...


@pytest.fixture
def netbox_bot(world_factory: WorldFactory) -> NetboxBot:
    """A bot world whose netbox section (`settings`) points at `netbox`, with the top-level
    keys `top`; with `ready`, started and its index loaded. Refusals are part of these
    tests; a crash still fails when the bot stops."""

    async def make(
        netbox: FakeNetBox,
        *,
        token: str | None = None,
        ready: bool = True,
        top: dict[str, Any] | None = None,
        **settings: Any,
    ) -> BotWorld:
        world = await world_factory(
            config={
                **(top or {}),
                "netbox": {"url": netbox.url, "timeout_seconds": 15, **settings},
                # only this capability's cog: the others need their own backends
                "cogs": {c.name: c.name == "netbox" for c in CAPABILITIES},
            },
            secrets={"NETBOX_TOKEN": token or netbox.token},
            start=False,
        )
        await world.start()
        if ready:
            await asyncio.wait_for(world.cog("Netbox").ready.wait(), READY_WITHIN)
        return world

    return make


@pytest.fixture
async def world(netbox_bot: NetboxBot, netbox: FakeNetBox) -> BotWorld:
    return await netbox_bot(netbox)


def facts(message: FakeMessage) -> dict[str, str]:
    assert message.embeds, f"no card but: {message.content!r}"
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


def plain(text: str) -> str:
    """Text as Discord shows it: Markdown escapes removed (mentions stay defused)."""
    return re.sub(r"\\(.)", r"\1", text)


def error_id(message: FakeMessage) -> str:
    found = re.search(r"\(error id ([0-9a-f]{8})\)", message.content)
    assert found, f"no error id in {message.content!r}"
    return found.group(1)


async def choose(world: BotWorld, command: str, option: str, typed: str) -> str:
    """What the user picks first from autocomplete for `typed`."""
    choices = await world.fake.autocomplete(command, {option: typed}, focused=option)
    assert choices, f"no choices for {typed!r}"
    return str(choices[0]["value"])


def site_named(dataset: Dataset, prefix: str) -> dict[str, Any]:
    return next(s for s in dataset.rows("dcim/sites") if s["name"].startswith(prefix))


# ---------------------------------------------------------------------- sites
async def test_site_show_answers_with_the_site_card(world: BotWorld, dataset: Dataset) -> None:
    site = max(dataset.rows("dcim/sites"), key=lambda s: s.get("device_count") or 0)
    picked = await choose(world, "netbox site show", "name", site["name"][:4])
    assert picked.startswith(site["name"][:4])
    reply = await world.command("netbox site show", name=site["name"])
    shown = facts(reply)
    embed = reply.embeds[0]
    assert reply.ephemeral
    assert reply.allowed_mentions == {"parse": []}
    assert embed["url"] == f"{world.cog('Netbox').services.client.url}/dcim/sites/{site['id']}/"
    assert shown["Status"] == site["status"]["label"]
    devices = [d for d in dataset.rows("dcim/devices") if d["site"]["id"] == site["id"]]
    assert sum(int(n) for n in re.findall(r"(\d+) ", shown["Devices"])) == len(devices)
    assert embed["footer"]["text"] == "Live from NetBox"
    assert list(reply.buttons.values()) == ["Share"]
    contacts = [
        a for a in dataset.rows("tenancy/contact-assignments") if a["object_id"] == site["id"]
    ]
    for assignment in contacts:
        assert plain(assignment["contact"]["name"]) in plain(shown["Contacts"])
    if site.get("latitude") is not None:
        assert shown["Map"].startswith("[OpenStreetMap](https://www.openstreetmap.org/?mlat=")


async def test_site_list_filters_by_status_region_and_tenant(
    world: BotWorld, dataset: Dataset
) -> None:
    site = next(s for s in dataset.rows("dcim/sites") if s.get("tenant") and s.get("region"))
    tenant = await choose(world, "site list", "tenant", site["tenant"]["name"])
    region = site["region"]["name"]
    listed = await world.command("netbox site list", region=region, tenant=tenant, status="active")
    expected = [
        s["name"] for s in dataset.rows("dcim/sites")
        if s["region"] and s["region"]["id"] == site["region"]["id"] and s.get("tenant")
        and s["tenant"]["id"] == site["tenant"]["id"] and s["status"]["value"] == "active"
    ]  # fmt: skip
    assert listed.embeds[0]["title"] == "Active sites"
    assert f"{len(expected)} in all" in listed.embeds[0]["footer"]["text"]
    nowhere = await world.command("site list", region="Atlantis")
    assert plain(nowhere.content).startswith("NetBox has no region named 'Atlantis'")


async def test_short_site_list_pages_and_its_buttons_survive_a_restart(
    netbox_bot: NetboxBot, netbox: FakeNetBox, dataset: Dataset
) -> None:
    world = await netbox_bot(netbox, rows_per_page=5)
    first = await world.command("site list")
    total = len(dataset.rows("dcim/sites"))
    assert first.embeds[0]["footer"]["text"].startswith(
        f"Page 1 of {-(-total // 5)} · {total} in all"
    )
    names = sorted(s["name"] for s in dataset.rows("dcim/sites"))
    assert first.embeds[0]["description"].count("\n") == 4
    assert first.component(first.button("Previous"))["disabled"] is True

    await world.restart()
    await asyncio.wait_for(world.cog("Netbox").ready.wait(), READY_WITHIN)
    await world.press(first, "Next")
    await world.fake.wait_until(
        lambda: first.embeds[0]["footer"]["text"].startswith("Page 2 of"),
        "the list to turn to page 2 after the restart",
    )
    assert names[5].split(" ")[0][:5] in first.embeds[0]["description"].replace("\\", "")


# ---------------------------------------------------------------------- devices
def device_with(dataset: Dataset, test: Any) -> dict[str, Any]:
    return next(d for d in dataset.rows("dcim/devices") if test(d))


async def test_device_show_lists_interfaces_with_peers_and_disabled_ones(
    world: BotWorld, dataset: Dataset
) -> None:
    interfaces = dataset.rows("dcim/interfaces")
    disabled = {i["device"]["id"] for i in interfaces if i.get("enabled") is False}
    cabled = {i["device"]["id"] for i in interfaces if i.get("link_peers")}
    names = [d["name"] for d in dataset.rows("dcim/devices")]
    device = device_with(
        dataset,
        lambda d: (
            d["id"] in disabled & cabled
            and d.get("name")
            and names.count(d["name"]) == 1
            and d["name"] not in HOSTILE
            and d.get("primary_ip4")
        ),
    )
    reply = await world.command("netbox device show", name=device["name"])
    shown = facts(reply)
    assert shown["Site"] == device["site"]["name"].replace("-", "\\-")
    assert shown["Primary IPv4"] == device["primary_ip4"]["address"]
    assert shown.get("Serial", "") == (device["serial"] or "")
    table = next(f for f in reply.embeds[0]["fields"] if f["name"].startswith("Interfaces"))
    assert "\\(disabled\\)" in table["value"]
    peer = next(i for i in interfaces if i["device"]["id"] == device["id"] and i.get("link_peers"))
    far = peer["link_peers"][0]
    assert f"{far['device']['name']} {far['name']}".replace("-", "\\-") in table["value"]


async def test_device_find_by_serial_and_hostile_names_stay_text(
    world: BotWorld, dataset: Dataset
) -> None:
    device = device_with(dataset, lambda d: d.get("serial") and d.get("name"))
    found = await world.command("netbox device find", term=device["serial"])
    assert found.embeds[0]["description"].startswith("1. ")
    assert "serial" in found.embeds[0]["description"]
    first = next(label for label in found.buttons.values() if label and label.startswith("1. "))
    opened = await world.press(found, first)
    assert opened.ephemeral and facts(opened)["Serial"] == device["serial"]

    hostile = device_with(dataset, lambda d: d.get("name") in HOSTILE)
    reply = await world.command("netbox device show", name=hostile["name"])
    title = reply.embeds[0]["title"]
    assert (
        "@\u200beveryone" in title
        or "@\u200bhere" in title
        or "<@\u200b" in title
        or "\\[" in title
    )
    assert "](https://evil" not in title
    assert reply.allowed_mentions == {"parse": []}


# ---------------------------------------------------------------------- addresses
async def test_ip_lookup_shows_the_address_and_its_most_specific_prefix(
    world: BotWorld, dataset: Dataset
) -> None:
    ip = next(
        i for i in dataset.rows("ipam/ip-addresses")
        if i.get("assigned_object") and i["address"].startswith("10.") and i.get("dns_name")
    )  # fmt: skip
    host = ip["address"].split("/")[0]
    reply = await world.command("netbox ip lookup", address=host)
    shown = facts(reply)
    assert reply.embeds[0]["title"] == ip["address"]
    assert shown["DNS name"] == ip["dns_name"].replace("-", "\\-").replace("_", "\\_")
    assert " on " in shown["Assigned to"]
    assert shown["Prefix"].startswith(f"[{host.rsplit('.', 1)[0]}.0/24](")  # the /24, not the /16
    assert re.fullmatch(r"\d+\.\d% \(\d+ of 254 addresses\)", shown["Utilisation"])

    unknown = await world.command("netbox ip lookup", address=f"{host.rsplit('.', 1)[0]}.251")
    shown = facts(unknown)
    assert shown["IP address"] == "NetBox has no IP address object for it."
    assert shown["Prefix"].startswith(f"[{host.rsplit('.', 1)[0]}.0/24](")
    outside = await world.command("netbox ip lookup", address="192.0.2.1")
    assert facts(outside)["Prefix"] == "No prefix in NetBox contains it."
    bad = await world.command("netbox ip lookup", address="not-an-address @everyone")
    assert bad.content.startswith("That is not an IP address")
    assert error_id(bad)


async def test_prefix_show_and_available(
    world: BotWorld, dataset: Dataset, netbox: FakeNetBox
) -> None:
    reply = await world.command("netbox prefix show", prefix="10.0.0.0/8")
    shown = facts(reply)
    assert shown["Status"] == "Container"
    children = next(f for f in reply.embeds[0]["fields"] if f["name"] == "Child prefixes")
    assert "10.1.0.0/16" in children["value"] and "/24" not in children["value"]
    assert "addresses in child prefixes" in shown["Utilisation"]

    pools = [p for p in dataset.rows("ipam/prefixes") if p["prefix"].endswith("/24")]
    netbox.requests.clear()
    free = await world.command("netbox prefix available", prefix=pools[0]["prefix"], count=3)
    listed = next(f for f in free.embeds[0]["fields"] if f["name"] == "Free addresses")
    assert len(listed["value"].splitlines()) == 3
    routes = {r.route for r in netbox.requests}
    assert "ipam/prefixes/{id}/available-ips" in routes  # one prefix's endpoint, no scan
    blocks = await world.command("netbox prefix available", prefix="10.0.0.0/8", count=2)
    assert next(f for f in blocks.embeds[0]["fields"] if f["name"] == "Free prefixes")


async def test_vlan_circuit_and_rack_cards(world: BotWorld, dataset: Dataset) -> None:
    vlan = await choose(world, "netbox vlan show", "vlan", "v10")
    reply = await world.command("netbox vlan show", vlan=vlan)
    assert reply.embeds[0]["title"].startswith("VLAN 10")
    assert "Prefixes" in {f["name"] for f in reply.embeds[0]["fields"]}

    circuit = dataset.rows("circuits/circuits")[0]
    reply = await world.command("netbox circuit show", circuit=circuit["cid"])
    shown = facts(reply)
    assert shown["Provider"] == circuit["provider"]["name"]
    assert {"Side A", "Side Z"} <= set(shown)

    rack = next(r for r in dataset.rows("dcim/racks") if (r.get("device_count") or 0) > 1)
    label = await choose(world, "netbox rack show", "rack", rack["name"])
    reply = await world.command("netbox rack show", rack=label)
    table = next(f for f in reply.embeds[0]["fields"] if f["name"] == "Devices by position")
    positions = [int(u) for u in re.findall(r"^U(\d+)", table["value"], re.M)]
    assert positions == sorted(positions, reverse=True) and positions


# ---------------------------------------------------------------------- search and share
async def test_search_ranks_and_each_result_opens_its_card(
    world: BotWorld, dataset: Dataset
) -> None:
    site = dataset.rows("dcim/sites")[0]
    found = await world.command("netbox search", term=site["name"])
    lines = found.embeds[0]["description"].splitlines()
    assert lines[0].startswith("1. site: ")  # the exact name first
    assert "index of NetBox, read just now" in found.embeds[0]["footer"]["text"]
    opened = await world.press(
        found, next(b for b in found.buttons.values() if b.startswith("1. "))
    )
    assert opened.ephemeral
    assert opened.embeds[0]["url"].endswith(f"/dcim/sites/{site['id']}/")


async def test_share_posts_the_card_in_the_channel_without_pinging(
    world: BotWorld, dataset: Dataset
) -> None:
    tenant = next(t for t in dataset.rows("tenancy/tenants") if "@everyone" in t["description"])
    site = next(s for s in dataset.rows("dcim/sites") if s["name"] in HOSTILE)
    reply = await world.command("netbox site show", name=site["name"])
    before = len(world.messages_in(world.fake.channel))
    answer = await world.press(reply, "Share")
    assert (
        answer.content == "Shared in this channel\\." or answer.content == "Shared in this channel."
    )
    posted = [m for m in world.messages_in(world.fake.channel) if not m.ephemeral][-1]
    assert len(world.messages_in(world.fake.channel)) > before
    assert posted.content == f"Shared by <@{world.fake.user['id']}>"
    assert posted.allowed_mentions == {"parse": []}
    assert posted.embeds[0]["title"] == reply.embeds[0]["title"]
    assert "Share" not in posted.buttons.values()
    assert tenant  # the data set's hostile description is in a tenant too


# ---------------------------------------------------------------------- autocomplete
async def test_autocomplete_limits_and_ambiguous_names(world: BotWorld, dataset: Dataset) -> None:
    choices = await world.fake.autocomplete("netbox device show", {"name": ""}, focused="name")
    assert len(choices) == 25
    ips = await world.fake.autocomplete("netbox ip lookup", {"address": "10."}, focused="address")
    assert len(ips) == 25
    tenants = await world.fake.autocomplete("site list", {"tenant": "Zür"}, focused="tenant")
    assert tenants and all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in tenants)

    sw1 = [d for d in dataset.rows("dcim/devices") if d.get("name") == "sw1"]
    assert len(sw1) > 1
    same = await world.fake.autocomplete("netbox device show", {"name": "sw1"}, focused="name")
    labels = {c["name"] for c in same if c["name"].startswith("sw1 (")}
    assert labels == {f"sw1 ({clip(d['site']['name'], 60)})" for d in sw1}
    picked = next(label for label in sorted(labels) if re.fullmatch(r"sw1 \([\w-]+\)", label))
    reply = await world.command("netbox device show", name=picked)
    assert facts(reply)["Site"].replace("\\", "") == picked[5:-1]
    clipped = next(label for label in labels if label.endswith("…)"))
    reply = await world.command("netbox device show", name=clipped)
    assert facts(reply)["Site"].startswith("Zürich")

    vague = await world.command("netbox device show", name="sw1")
    assert vague.content.startswith("Several devices are named")
    assert "sw1 \\(" in vague.content and error_id(vague)


# ---------------------------------------------------------------------- access
async def test_access_roles_per_command_and_admins(
    netbox_bot: NetboxBot, netbox: FakeNetBox, dataset: Dataset, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    noc = fake.add_role(fake.guild, "noc")
    admins = fake.add_role(fake.guild, "netbot-admins")
    member = fake.add_member(fake.guild, fake.add_user("noc-member"), roles=[noc])
    stranger = fake.add_member(fake.guild, fake.add_user("stranger"))
    boss = fake.add_member(fake.guild, fake.add_user("boss"), roles=[admins])
    world = await netbox_bot(
        netbox, access={"ip": [int(noc["id"])]}, top={"roles": {"admin": [int(admins["id"])]}}
    )
    host = dataset.rows("ipam/ip-addresses")[0]["address"].split("/")[0]

    assert await world.fake.autocomplete(
        "netbox ip lookup", {"address": "10."}, focused="address", user=stranger
    ) == []  # fmt: skip
    assert len(await world.fake.autocomplete(
        "netbox ip lookup", {"address": "10."}, focused="address", user=member
    )) == 25  # fmt: skip
    refused = await world.command("netbox ip lookup", address=host, by=stranger)
    assert refused.content.startswith("Your roles do not allow /netbox ip")
    assert refused.ephemeral and error_id(refused)
    assert facts(await world.command("netbox ip lookup", address=host, by=member))["Prefix"]
    assert facts(await world.command("netbox ip lookup", address=host, by=boss))["Prefix"]
    # a command nobody restricted is everyone's; a button checks its own command
    found = await world.command("netbox search", term=host, by=stranger)
    ip_button = next(label for label in found.buttons.values() if "IP address" in (label or ""))
    pressed = await world.press(found, ip_button, by=stranger)
    assert pressed.content.startswith("Your roles do not allow /netbox ip")


# ---------------------------------------------------------------------- failures
async def test_each_netbox_failure_gets_a_clear_ephemeral_answer(
    netbox_bot: NetboxBot, netbox: FakeNetBox, dataset: Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world = await netbox_bot(netbox, timeout_seconds=5)
    site = next(s["name"] for s in dataset.rows("dcim/sites") if s["name"].isascii())

    netbox.fail_next(503, route="dcim/sites")
    reply = await world.command("netbox site show", name=site)
    assert reply.ephemeral and reply.content.startswith("NetBox answered HTTP 503")
    logged = [r.getMessage() for r in caplog.records if error_id(reply) in r.getMessage()]
    assert len(logged) == 1

    netbox.delay_next(60, route="dcim/sites")  # slower than netbox.timeout_seconds (5)
    reply = await world.command("netbox site show", name=site)
    assert reply.content.startswith("NetBox did not answer within 5 s") and error_id(reply)

    netbox.fail_next(404, route="dcim/sites")
    reply = await world.command("netbox site show", name=site)
    assert plain(reply.content).startswith("NetBox has no such object (HTTP 404)")

    reply = await world.command("netbox site show", name="no such site @everyone")
    assert reply.content.startswith("NetBox has no site named 'no such site @\u200beveryone'")
    assert reply.allowed_mentions == {"parse": []}

    health = world.runtime.health.snapshot(True)["backends"]["netbox"]
    assert health["failing"] is False  # the last call to NetBox succeeded

    await netbox.stop()  # NetBox down
    reply = await world.command("netbox site show", name=site)
    assert plain(reply.content).startswith(f"NetBox is unreachable at {netbox.url}")
    assert world.runtime.health.snapshot(True)["backends"]["netbox"]["failing"] is True
    assert netbox.token not in caplog.text


async def test_a_bad_token_is_named_as_such(
    netbox_bot: NetboxBot, netbox: FakeNetBox, dataset: Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    world = await netbox_bot(netbox, token="wrong-token-0123456789", ready=False)
    reply = await world.command("netbox device show", name="sw1")
    assert plain(reply.content).startswith(
        "NetBox refused netbot's token (NETBOX_TOKEN, HTTP 403): it is wrong or expired"
    )
    refresh = world.runtime.supervisor.jobs[REFRESH_JOB]
    while refresh.runs < 1:  # the refresh at start runs beside the command: wait for its end
        await asyncio.wait_for(refresh.done.wait(), READY_WITHIN)
    assert "index refresh failing: NetBox refused netbot's token" in caplog.text
    assert "wrong-token-0123456789" not in caplog.text
    await world.stop()

    netbox.add_token("sites-only-token-0123", {"dcim/sites"})
    world = await netbox_bot(netbox, token="sites-only-token-0123", ready=False)
    listed = await world.command("site list")
    assert listed.embeds and listed.embeds[0]["title"] == "Sites"
    reply = await world.command("netbox device find", term="sw")
    assert plain(reply.content).startswith(
        "NetBox refused netbot's token (NETBOX_TOKEN, HTTP 403): it may not read this"
    )


# ---------------------------------------------------------------------- freshness
async def test_a_command_failing_first_does_not_hide_the_index_refresh_outage(
    world: BotWorld, netbox: FakeNetBox, dataset: Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    """Commands and the index refresh share NetBox's health; the refresh's one log line
    must not depend on which of them met the outage first."""
    caplog.set_level(logging.INFO)
    cog = world.cog("Netbox")
    site = next(s["name"] for s in dataset.rows("dcim/sites") if s["name"].isascii())
    may_read = netbox.tokens.pop(netbox.token)  # an admin revokes netbot's token
    reply = await world.command("netbox site show", name=site)
    assert plain(reply.content).startswith("NetBox refused netbot's token")
    await cog.refresh_index()
    await cog.refresh_index()
    netbox.tokens[netbox.token] = may_read
    await cog.refresh_index()
    lines = [r.getMessage() for r in caplog.records if "netbox: index refresh " in r.getMessage()]
    assert len(lines) == 2, lines
    assert lines[0].startswith("netbox: index refresh failing: NetBox refused netbot's token")
    assert lines[1] == "netbox: index refresh recovered"
    assert world.runtime.health.snapshot(True)["backends"]["netbox"]["failing"] is False


async def test_a_name_the_index_missed_is_fetched_and_the_index_refreshed(
    netbox_bot: NetboxBot,
) -> None:
    data = generate_dataset(3, sites=4, devices=12)
    async with FakeNetBox(data) as netbox:
        world = await netbox_bot(netbox)
        cog = world.cog("Netbox")
        model = next(d for d in data.rows("dcim/devices") if d.get("name"))
        fresh = {
            k: v
            for k, v in model.items()
            if k not in ("id", "url", "display_url", "created", "last_updated")
        }
        data.add(
            "dcim/devices",
            "dcim/devices",
            **{**fresh, "name": "brand-new-router", "display": "brand-new-router"},
        )
        assert cog.catalog.index.resolve("device", "brand-new-router") == []

        reply = await world.command("netbox device show", name="brand-new-router")
        assert facts(reply) and reply.embeds[0]["title"] == "brand\\-new\\-router"
        assert cog._refreshing is not None
        await asyncio.wait_for(cog._refreshing, READY_WITHIN)
        assert [c.label for c in cog.catalog.index.resolve("device", "brand-new-router")] == [
            "brand-new-router"
        ]
        choices = await world.fake.autocomplete(
            "netbox device show", {"name": "brand-new"}, focused="name"
        )
        assert choices == [{"name": "brand-new-router", "value": "brand-new-router"}]
        await world.stop()


# ---------------------------------------------------------------------- presentation
async def test_a_table_too_long_for_the_card_is_attached_whole(netbox_bot: NetboxBot) -> None:
    data = generate_dataset(5, sites=3, devices=8)
    device = next(d for d in data.rows("dcim/devices") if d.get("name") and d["name"].isascii())
    model = next(i for i in data.rows("dcim/interfaces") if i["device"]["id"] == device["id"])
    fresh = {
        k: v
        for k, v in model.items()
        if k not in ("id", "url", "display_url", "created", "last_updated")
    }
    for n in range(150):
        name = f"ge-1/0/{n} @everyone [x](https://evil.example)"
        data.add("dcim/interfaces", "dcim/interfaces", **{**fresh, "name": name, "display": name,
                 "cable": None, "link_peers": [], "connected_endpoints": None})  # fmt: skip
    async with FakeNetBox(data) as netbox:
        world = await netbox_bot(netbox)
        reply = await world.command("netbox device show", name=device["name"])
        embed = reply.embeds[0]
        total = (
            len(embed["title"])
            + len(embed.get("description") or "")
            + len(embed["footer"]["text"])
            + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
        )
        assert total <= 6000 and all(len(f["value"]) <= 1024 for f in embed["fields"])
        table = next(f for f in embed["fields"] if f["name"].startswith("Interfaces"))
        assert "more\n(all of it in the attached file)" in table["value"]
        assert "@\u200beveryone" in table["value"] and "](https" not in table["value"]
        [attachment] = reply.payload["attachments"]
        assert attachment["filename"].endswith(".txt")
        text = world.fake.file_bytes(attachment).decode()
        assert text.count("ge-1/0/") == 150 and "ge-1/0/149 @everyone" in text
        await world.stop()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_tls_options_through_the_bot(
    netbox_bot: NetboxBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    certificates = make_certificates(tmp_path / "tls")
    data = generate_dataset(6, sites=3, devices=6)
    async with FakeNetBox(data, tls=certificates.server_context()) as netbox:
        world = await netbox_bot(netbox, ca_bundle=str(certificates.ca))
        assert (await world.command("site list")).embeds[0]["title"] == "Sites"
        assert "verify_tls is off" not in caplog.text
        await world.stop()

        world = await netbox_bot(netbox, verify_tls=False)
        assert (await world.command("site list")).embeds[0]["title"] == "Sites"
        assert "netbox: verify_tls is off" in caplog.text
        await world.stop()

        world = await netbox_bot(netbox, ready=False)
        refused = await world.command("site list")
        assert plain(refused.content).startswith(
            f"NetBox's TLS certificate at {netbox.url} is not trusted: set netbox.ca_bundle"
        )
        await world.stop()


async def test_forged_or_old_buttons_are_refused_plainly(world: BotWorld) -> None:
    card = await world.command("site list")
    for forged in ("nb:o:sites:0:active:0:0", "nb:o:sites:1:evil:0:0", "nb:o:secret:1",
                   "nb:p:device:abc", "nb:s:ip:not-an-ip"):  # fmt: skip
        card.payload["components"] = [  # as an older netbot's, or someone's forgery
            {"type": 1, "components": [{"type": 2, "style": 2, "label": "x", "custom_id": forged}]}
        ]
        reply = await world.press(card, "x")
        assert reply.ephemeral and error_id(reply)
        assert plain(reply.content).startswith(
            ("This button is not one netbot knows", "That is not an IP address")
        ), reply.content
