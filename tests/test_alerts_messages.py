"""Alert message text: DN's number format, the analytics rows and their hide/merge rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.alert_events import event
from netbot.alerts.messages import (
    alert_message,
    as_text,
    digest_header,
    good_news,
    number,
    rows,
)
from netbot.core.text import outside

LINK = "https://disaster.ninja/active/?event={}"


# number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1284300, "1,284,300"),
        (2318.47, "2,318.47"),
        (5.004, "5"),
        (5.001, "5"),
        (18.0, "18"),
        (0.38, "0.38"),
        (0.004, "0"),
        (0, "0"),
        (None, "0"),
        (1234.5, "1,234.5"),
        (100, "100"),
        (1000, "1,000"),
        (12.5, "12.5"),
        (0.995, "0.99"),  # 0.995 is 0.99499... as a float
        (9.999, "10"),
        (-0.004, "0"),
    ],
)
def test_number_format(value, text):
    assert number(value) == text


@settings(max_examples=300, database=None, deadline=None)
@given(st.floats(min_value=0, max_value=1e12, exclude_max=True, allow_nan=False))
def test_number_has_at_most_two_decimals_and_reads_back_close(value):
    text = number(value)
    integer, _, decimals = text.partition(".")
    assert len(decimals) <= 2
    assert not decimals.endswith("0")
    assert integer == f"{int(integer.replace(',', '')):,}"
    # Decimal: exact, so the half-way case (x.625 -> x.62) sits exactly on the bound.
    assert abs(Decimal(text.replace(",", "")) - Decimal(value)) <= Decimal("0.005")


# rows


def flood(current: dict | None = None, total: dict | None = None, type: str = "FLOOD", **kw):
    return event(
        type=type,
        episode_details=dict(current or {}),
        event_details=total or {},
        **kw,
    )


def only(population: float = 0, area: float = 0, **extra) -> dict:
    return {"population": population, "populatedAreaKm2": area, **extra}


def test_total_population_row():
    ev = flood(only(1284300, 2318.47))
    assert rows(ev) == ["Total population: 1,284,300 people on 2,318.47 km²."]


def test_row_hidden_when_both_values_are_zero():
    assert rows(flood(only(0, 0, industrialAreaKm2=0), {"industrialAreaKm2": 0})) == []


def test_row_hidden_when_both_values_format_to_zero():
    ev = flood(only(0, 0, forestAreaKm2=0.004), {"forestAreaKm2": 0.001})
    assert rows(ev) == []


def test_row_hidden_when_both_keys_are_missing():
    assert rows(flood(only(0, 0))) == []


def test_row_shown_when_only_one_side_is_nonzero():
    ev = flood(only(0, 0, industrialAreaKm2=0), {"industrialAreaKm2": 41.75})
    assert rows(ev) == ["Industrial area: 0 km² (currently), 41.75 km² (from beginning)."]


def test_pair_merges_when_values_are_equal():
    ev = flood(only(0, 0, industrialAreaKm2=12.5), {"industrialAreaKm2": 12.5})
    assert rows(ev) == ["Industrial area: 12.5 km²."]


def test_pair_merges_when_formatted_values_are_equal():
    ev = flood(only(0, 0, forestAreaKm2=5.001), {"forestAreaKm2": 5.004})
    assert rows(ev) == ["Forest area: 5 km²."]


def test_pair_shows_currently_and_from_beginning():
    ev = flood(
        only(0, 0, industrialAreaKm2=3.2, forestAreaKm2=120.5),
        {"industrialAreaKm2": 41.75, "forestAreaKm2": 980.25},
    )
    assert rows(ev) == [
        "Industrial area: 3.2 km² (currently), 41.75 km² (from beginning).",
        "Forest area: 120.5 km² (currently), 980.25 km² (from beginning).",
    ]


def test_total_values_come_from_event_details():
    ev = flood(only(0, 0, forestAreaKm2=96), {"forestAreaKm2": 410, "population": 99})
    assert rows(ev) == ["Forest area: 96 km² (currently), 410 km² (from beginning)."]


def test_wildfire_row_for_wildfires_with_episode_and_event_labels():
    ev = flood(
        only(2150, 7.35, hotspotDaysPerYearMax=4),
        {"hotspotDaysPerYearMax": 11},
        type="WILDFIRE",
    )
    assert rows(ev) == [
        "Total population: 2,150 people on 7.35 km².",
        "Wildfire days in last year: 4 (episode), 11 (event).",
    ]


def test_wildfire_row_merges_equal_values():
    ev = flood(only(0, 0, hotspotDaysPerYearMax=7), {"hotspotDaysPerYearMax": 7}, type="WILDFIRE")
    assert rows(ev) == ["Wildfire days in last year: 7."]


@pytest.mark.parametrize("kind", ["FLOOD", "EARTHQUAKE", "CYCLONE", "VOLCANO", "DROUGHT"])
def test_no_wildfire_row_for_other_types(kind):
    ev = flood(only(0, 0, hotspotDaysPerYearMax=3), {"hotspotDaysPerYearMax": 3}, type=kind)
    assert rows(ev) == []


def test_area_prefers_total_populated_area():
    ev = flood({"population": 500, "totalPopulatedAreaKm2": 0.38, "populatedAreaKm2": 99})
    assert rows(ev) == ["Total population: 500 people on 0.38 km²."]


def test_area_falls_back_to_populated_area():
    ev = flood({"population": 500, "populatedAreaKm2": 44})
    assert rows(ev) == ["Total population: 500 people on 44 km²."]


def test_area_missing_formats_as_zero():
    assert rows(flood({"population": 500})) == ["Total population: 500 people on 0 km²."]


def test_urban_core_row():
    ev = flood(only(0, 0, urbanCorePopulation=412870, urbanCoreAreaKm2=96.31))
    assert rows(ev) == ["Urban core: 412,870 people on 96.31 km²."]


def test_urban_core_row_hidden_when_its_keys_are_absent():
    assert rows(flood(only(15000, 44))) == ["Total population: 15,000 people on 44 km²."]


def test_urban_core_row_hidden_when_both_values_are_zero():
    ev = flood(only(500, 0.38, urbanCorePopulation=0, urbanCoreAreaKm2=0))
    assert rows(ev) == ["Total population: 500 people on 0.38 km²."]


def test_urban_core_row_shown_with_one_key():
    ev = flood(only(0, 0, urbanCorePopulation=41000))
    assert rows(ev) == ["Urban core: 41,000 people on 0 km²."]


def test_row_order():
    ev = flood(
        {
            "population": 182000,
            "totalPopulatedAreaKm2": 412.6,
            "urbanCorePopulation": 41000,
            "urbanCoreAreaKm2": 12.2,
            "industrialAreaKm2": 2.4,
            "forestAreaKm2": 96,
            "hotspotDaysPerYearMax": 4,
        },
        {"industrialAreaKm2": 18, "forestAreaKm2": 410, "hotspotDaysPerYearMax": 11},
        type="WILDFIRE",
    )
    assert rows(ev) == [
        "Urban core: 41,000 people on 12.2 km².",
        "Total population: 182,000 people on 412.6 km².",
        "Industrial area: 2.4 km² (currently), 18 km² (from beginning).",
        "Forest area: 96 km² (currently), 410 km² (from beginning).",
        "Wildfire days in last year: 4 (episode), 11 (event).",
    ]


def test_no_rows_without_episode_details():
    ev = event(episode_details=None, event_details={"industrialAreaKm2": 0})
    assert rows(ev) == []


def test_rows_without_episode_details_show_the_totals():
    ev = event(episode_details=None, event_details={"forestAreaKm2": 58.3})
    assert rows(ev) == ["Forest area: 0 km² (currently), 58.3 km² (from beginning)."]


# alert_message


def test_title_without_prefix_for_version_1():
    message = alert_message(event("e1", name="Flood in X", version=1))
    assert message.title == "Flood in X"


@pytest.mark.parametrize("version", [2, 7, 13])
def test_update_prefix_for_later_versions(version):
    message = alert_message(event("e1", name="Flood in X", version=version))
    assert message.title == "[Update] Flood in X"


def test_link_is_the_disaster_ninja_map():
    message = alert_message(event("0a1b2c3d-0000-4000-8000-00000000abcd"))
    assert (
        message.link == "https://disaster.ninja/active/?event=0a1b2c3d-0000-4000-8000-00000000abcd"
    )
    assert message.event_id == "0a1b2c3d-0000-4000-8000-00000000abcd"


def test_description_is_kept():
    assert alert_message(event(description="It rained.")).description == "It rained."


@pytest.mark.parametrize("description", [None, ""])
def test_description_none_when_null_or_empty(description):
    message = alert_message(event(description=description))
    assert message.description is None
    assert "None" not in as_text(message)


def test_message_rows_are_the_events_rows():
    ev = flood(only(2150, 7.35))
    assert alert_message(ev).rows == rows(ev)


# digest header, good news, text


def test_digest_header_uses_us_dates():
    assert digest_header(dt.date(2025, 3, 5)) == (
        "Disaster digest for 03/05/2025 (no severe events happened during this time)"
    )


def test_good_news_uses_us_dates():
    assert good_news(dt.date(2025, 12, 31)) == (
        "Good news! No extreme or severe events happened for 12/31/2025"
    )


def test_as_text_has_the_link_description_and_every_row():
    ev = flood(
        only(182000, 412.6, urbanCorePopulation=41000, urbanCoreAreaKm2=12.2, forestAreaKm2=96),
        {"forestAreaKm2": 410},
        name="Cyclone MARLO",
        version=2,
        description="Winds of 120 km/h.",
    )
    text = as_text(alert_message(ev))
    lines = text.split("\n")
    assert lines[0] == f"[[Update] Cyclone MARLO]({LINK.format(ev.event_id)})"
    assert lines[1] == "Winds of 120 km/h."
    assert lines[2:] == [outside(row) for row in rows(ev)]  # Markdown-escaped, as all feed data
    assert len(lines[2:]) == 3


def test_as_text_without_description():
    ev = flood(only(500, 1), description=None)
    lines = as_text(alert_message(ev)).split("\n")
    assert lines == [
        f"[{ev.name}]({LINK.format(ev.event_id)})",
        "Total population: 500 people on 1 km².",
    ]
