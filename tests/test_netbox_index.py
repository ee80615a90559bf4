"""The NetBox name index (autocomplete and search) and the access rules, as plain units."""

from __future__ import annotations

import datetime as dt

import pytest

from netbot.core.errors import UserError
from netbot.netbox import CHOICES_LIMIT, Entry, NameIndex, NetboxConfig, host_of, network_of
from netbot.netbox import config as netbox_config

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def index_of(*entries: Entry) -> NameIndex:
    return NameIndex.build(entries, NOW)


def test_prefix_matches_come_first_then_names_holding_the_text() -> None:
    index = index_of(
        Entry("device", 1, "core-sw1", "Berlin-1"),
        Entry("device", 2, "sw1", "Berlin-1"),
        Entry("device", 3, "sw10", "Oslo-2"),
        Entry("device", 4, "router", "Oslo-2"),
    )
    assert [c.label for c in index.complete("device", "SW1")] == ["sw1", "sw10", "core-sw1"]
    assert [c.rank for c in index.complete("device", "sw1")] == [0, 1, 2]
    assert [c.label for c in index.complete("device", "")][:2] == ["core-sw1", "router"]
    assert index.complete("device", "nothing like it") == []
    assert index.complete("device", "sw1\ncore") == []  # a line break matches nothing
    assert index.complete("unknown kind", "sw") == []


def test_ambiguous_names_carry_their_site_and_resolve_by_label() -> None:
    index = index_of(
        Entry("device", 1, "sw1", "Seattle-3"),
        Entry("device", 2, "sw1", "Oslo-2"),
        Entry("device", 3, "sw1", "Oslo-2"),  # the same name at the same site: the id tells
        Entry("device", 4, "unique", ""),
    )
    labels = [c.label for c in index.complete("device", "sw1")]
    assert labels == ["sw1 (Oslo-2, id 2)", "sw1 (Oslo-2, id 3)", "sw1 (Seattle-3)"]
    assert [c.id for c in index.resolve("device", "sw1 (seattle-3)")] == [1]
    assert sorted(c.id for c in index.resolve("device", "SW1")) == [1, 2, 3]
    assert [c.label for c in index.resolve("device", "unique")] == ["unique"]
    assert index.resolve("device", "sw") == []


def test_choices_respect_discord_limits() -> None:
    long_name = "x" * 150
    entries = [Entry("site", n, f"site-{n:03}", "") for n in range(40)]
    entries += [Entry("site", 100, long_name, "Region"), Entry("site", 101, long_name, "Other")]
    index = index_of(*entries)
    assert len(index.complete("site", "")) == CHOICES_LIMIT
    assert len(index.complete("site", "site")) == CHOICES_LIMIT
    clipped = index.complete("site", "xxx")
    assert len(clipped) == 2 and all(len(c.label) <= 100 for c in clipped)
    assert clipped[0].label.endswith("… (Other)")
    assert [c.id for c in index.resolve("site", clipped[0].label)] == [101]


def test_search_ranks_exact_then_prefix_then_inside_across_kinds() -> None:
    index = index_of(
        Entry("device", 1, "berlin-fw", "Berlin"),
        Entry("site", 2, "Berlin", "Germany"),
        Entry("rack", 3, "old-berlin-r1", "Berlin"),
        Entry("tenant", 4, "Berlin Net", ""),
    )
    hits = index.search("berlin")
    assert [(h.kind, h.id) for h in hits] == [
        ("site", 2),
        ("device", 1),
        ("tenant", 4),
        ("rack", 3),
    ]
    assert len(index) == 4 and index.counts()["site"] == 1


def test_reads_are_open_to_everyone_unless_roles_are_named() -> None:
    settings = NetboxConfig(access={"default": [10], "ip": [20]})
    assert settings.may_use("ip", {20}) and not settings.may_use("ip", {10})
    assert settings.may_use("site", {10}) and not settings.may_use("site", {20})
    assert NetboxConfig().may_use("device", set())


def test_a_command_that_writes_is_denied_unless_its_roles_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(netbox_config.COMMANDS, "reserve", True)
    assert not NetboxConfig().may_use("reserve", {1, 2})
    assert not NetboxConfig(access={"default": [1]}).may_use("reserve", {1})
    assert NetboxConfig(access={"reserve": [1]}).may_use("reserve", {1})


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://netbox", "http"),
        ("https://user:pw@netbox.example", "user:password"),
        ("netbox", "http"),
    ],
)
def test_the_url_is_checked(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        NetboxConfig(url=url)
    assert NetboxConfig(url="https://netbox.example/api/").url == "https://netbox.example"
    with pytest.raises(ValueError, match="unknown command"):
        NetboxConfig(access={"sites": [1]})


def test_addresses_and_prefixes_are_read_from_labels_too() -> None:
    assert host_of("10.1.2.3/24 (vrf-a)") == "10.1.2.3"
    assert host_of(" 2001:db8::1 ") == "2001:db8::1"
    assert network_of("10.1.2.0/24 (global)") == "10.1.2.0/24"
    assert network_of("10.1.2.7/24") == "10.1.2.0/24"
    for bad in ("", "10.1.2", "host.example @everyone"):
        with pytest.raises(UserError):
            host_of(bad)
    with pytest.raises(UserError):
        network_of("10.0.0.0/33")
