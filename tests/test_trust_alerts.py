"""Trust (issue 7) in the alert domain code: malformed feed data is a problem, never a crash;
the latest episode is chosen by time; feed dates are UTC and never run ahead of the clock;
USGS quakes are known by every id they carry; feed text is escaped wherever it is rendered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fakes.alert_events import NOW, event, make_event
from netbot.alerts import rules
from netbot.alerts.config import AlertsConfig, UsgsConfig
from netbot.alerts.engine import UsgsWatch
from netbot.alerts.events import latest_episode, page_warning, parse_events
from netbot.alerts.kontur import page_cursor
from netbot.alerts.messages import alert_message, as_text, rows
from netbot.alerts.usgs import Quake, kontur_quake_point, parse_feed
from netbot.core.times import parse_time

RULES = rules.Rules.from_config(AlertsConfig())
FEED = "kontur-public"


def broken(where: str, key: str, value: Any) -> dict[str, Any]:
    raw = make_event(updated_at=NOW - dt.timedelta(minutes=1))
    if where == "episode":
        raw["episodes"][0]["episodeDetails"][key] = value
    elif where == "event_details":
        raw["eventDetails"][key] = value
    else:
        raw[key] = value
    return raw


@pytest.mark.parametrize(
    ("where", "key", "value", "why"),
    [
        ("episode", "population", "lots", "population"),
        ("episode", "population", True, "population"),
        ("episode", "population", 10**400, "population"),
        ("episode", "populatedAreaKm2", "wide", "populatedAreaKm2"),
        ("event_details", "forestAreaKm2", [1], "forestAreaKm2"),
        ("event", "version", [2], "version"),
        ("event", "version", "2", "version"),
        ("event", "episodes", {"0": {}}, "episodes"),
        ("event", "episodes", ["x"], "episodes"),
        ("event", "description", {"text": "x"}, "description"),
        ("event", "name", 5, "name"),
        ("event", "type", ["FLOOD"], "type"),
        ("event", "eventDetails", [], "eventDetails"),
        ("event", "endedAt", "soon", "endedAt"),
        ("event", "eventId", "e" * 3000, "eventId"),
        ("event", "updatedAt", "9999-12-31T23:00:00-05:00", "updatedAt"),
    ],
)
def test_a_malformed_event_is_a_problem_not_an_exception(
    where: str, key: str, value: Any, why: str
) -> None:
    good = make_event("00000000-0000-4000-8000-0000000000a1")
    events, problems = parse_events([broken(where, key, value), good])
    assert [e.event_id for e in events] == ["00000000-0000-4000-8000-0000000000a1"]
    [problem] = problems
    assert why in problem and len(problem) < 300


def test_feed_times_are_utc() -> None:
    moment = parse_time("2025-03-14T07:00:00-05:00")
    assert moment == dt.datetime(2025, 3, 14, 12, tzinfo=dt.UTC)
    assert moment.utcoffset() == dt.timedelta(0)
    with pytest.raises(ValueError):
        parse_time("9999-12-31T23:00:00-05:00")
    with pytest.raises(ValueError):
        parse_time(5)  # type: ignore[arg-type]


def test_an_event_dated_beyond_the_allowance_is_skipped_and_holds_the_cursor() -> None:
    soon = event("00000000-0000-4000-8000-0000000000a1", updated_at=NOW + dt.timedelta(minutes=9))
    later = event("00000000-0000-4000-8000-0000000000a2", updated_at=NOW + dt.timedelta(minutes=11))
    outcome = rules.poll([soon, later], rules.AlertState(), NOW, RULES, FEED)
    assert [reason for _, reason in outcome.decisions] == [None, rules.AHEAD_REASON]
    assert outcome.state.cursors[FEED] == NOW + dt.timedelta(minutes=9)


def at(minutes: float) -> str:
    return (NOW + dt.timedelta(minutes=minutes)).isoformat()


def test_page_cursor_stops_at_the_horizon_and_skips_an_unusable_next_after() -> None:
    horizon = NOW + rules.FUTURE_ALLOWANCE
    data = [
        {"eventId": "a", "updatedAt": at(-5)},
        {"eventId": "b", "updatedAt": "9999-12-31T23:59:59Z"},
        {"eventId": "c", "updatedAt": "9999-12-31T23:00:00-05:00"},
    ]
    cursor, events, problems = page_cursor(
        data, "9999-12-31T23:00:00-05:00", parse_time(at(-60)), horizon
    )
    assert cursor == parse_time(at(-5))
    assert [e["eventId"] for e in events] == ["a"]
    assert len(problems) == 2 and "ahead" in problems[0] and "updatedAt" in problems[1]


def test_the_latest_episode_is_chosen_by_time_not_position() -> None:
    raw = make_event(current_severity="MINOR", population=100)
    newer = {
        **raw["episodes"][0],
        "severity": "SEVERE",
        "updatedAt": at(2),
        "episodeDetails": {"population": 9000},
    }
    raw["episodes"] = [raw["episodes"][0], newer]  # oldest first, as without the LATEST filter
    [parsed], _ = parse_events([raw])
    assert parsed.severity == "SEVERE" and parsed.episode_details == {"population": 9000}
    assert latest_episode(raw) is newer


def test_a_page_without_episodes_is_worth_a_warning() -> None:
    bare = make_event()
    bare["episodes"] = []
    events, _ = parse_events([bare, make_event("00000000-0000-4000-8000-0000000000a2")])
    assert page_warning(events) is None
    events, _ = parse_events([bare])
    assert "episode" in (page_warning(events) or "")


def test_a_kontur_magnitude_given_as_text_is_read() -> None:
    raw = make_event(type="EARTHQUAKE")
    raw["severityData"] = {"magnitude": "6.7"}
    raw["geometries"] = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}],
    }
    point = kontur_quake_point(raw)
    assert point is not None and point[1:] == (2.0, 1.0, 6.7)


def usgs_feature(preferred: str, ids: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": preferred,
        "properties": {
            "mag": 6.8,
            "time": 1741951267000,
            "type": "earthquake",
            "ids": ids,
            "place": "x",
            "url": "javascript:alert(1)",
        },
        "geometry": {"type": "Point", "coordinates": [119.8, -0.9, 10.0]},
    }


def test_usgs_quakes_are_known_by_every_id_they_carry() -> None:
    ids = ",at00qdlek0,pt20199000,us7000aq3e,"
    [first] = parse_feed(
        {"type": "FeatureCollection", "features": [usgs_feature("us7000aq3e", ids)]}
    )
    assert first.all_ids() == {"at00qdlek0", "pt20199000", "us7000aq3e"}
    assert first.url == "https://earthquake.usgs.gov/earthquakes/eventpage/us7000aq3e"  # not js:
    watch = UsgsWatch(client=None, config=UsgsConfig())  # type: ignore[arg-type]
    watch.announced["usgs:us7000aq3e"] = first
    [moved] = parse_feed(
        {"type": "FeatureCollection", "features": [usgs_feature("at00qdlek0", ids)]}
    )
    assert watch.known(moved)
    restored = UsgsWatch(client=None, config=UsgsConfig())  # type: ignore[arg-type]
    restored.load_json(watch.to_json())
    assert restored.known(moved)
    [other] = parse_feed(
        {"type": "FeatureCollection", "features": [usgs_feature("us7000zzzz", ",us7000zzzz,")]}
    )
    assert not restored.known(other)


def test_old_saved_quakes_without_ids_still_load() -> None:
    watch = UsgsWatch(client=None, config=UsgsConfig())  # type: ignore[arg-type]
    watch.load_json({"usgs": {"usgs:us1": ["2025-03-14T12:00:00+00:00", 1.0, 2.0, 6.5]}})
    assert watch.announced["usgs:us1"].all_ids() == {"us1"}


EVIL = "Flood](https://evil.example) [**x**"


def test_plain_text_renderings_escape_feed_text() -> None:
    ev = event(name=EVIL, description="[Reset](https://evil.example)")
    text = as_text(alert_message(ev))
    assert text.splitlines()[:2] == [
        r"[Flood\]\(https://evil.example\) \[\*\*x\*\*]"
        "(https://disaster.ninja/active/?event=00000000-0000-4000-8000-000000000001)",
        r"\[Reset\]\(https://evil.example\)",
    ]


def test_rows_never_contain_feed_text() -> None:
    ev = event(population=2150, event_details={"forestAreaKm2": 3})
    assert all(isinstance(row, str) for row in rows(ev))
    assert alert_message(ev).title == ev.name


def test_the_map_link_quotes_the_event_id() -> None:
    raw = make_event("a b)c")
    [parsed], _ = parse_events([raw])
    assert alert_message(parsed).link == "https://disaster.ninja/active/?event=a%20b%29c"


def test_quake_without_id_list_has_its_own_id() -> None:
    [quake] = parse_feed({"type": "FeatureCollection", "features": [usgs_feature("us1", "")]})
    assert isinstance(quake, Quake) and quake.all_ids() == {"us1"}
