"""Property tests: whatever JSON the feeds send, the parsers and rules never raise, and the
cursor never moves backwards nor past now plus the allowance (issue 7, "Trust").

Arbitrary JSON values (recursive), and event-shaped objects whose every field is either a
plausible value or arbitrary JSON, go through the Kontur page parser and cursor, the event
parser, the rules, the message renderers, and the USGS parser and matcher.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netbot.alerts import rules
from netbot.alerts.config import AlertsConfig, UsgsConfig
from netbot.alerts.engine import UsgsWatch
from netbot.alerts.events import ANALYTICS_KEYS, parse_events
from netbot.alerts.kontur import KonturBadResponse, KonturClient, page_cursor
from netbot.alerts.messages import alert_message, as_text, markdown_body, markdown_title
from netbot.alerts.usgs import kontur_quake_point, parse_feed, quake_message

NOW = dt.datetime(2025, 3, 14, 12, 0, 30, tzinfo=dt.UTC)
HORIZON = NOW + rules.FUTURE_ALLOWANCE
RULES = rules.Rules.from_config(AlertsConfig())
FEED = "kontur-public"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
offsets = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=14))]
)
moments = st.datetimes(
    min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31), timezones=offsets
)
near = st.datetimes(
    min_value=dt.datetime(2025, 3, 13),
    max_value=dt.datetime(2025, 3, 15),
    timezones=st.just(dt.UTC),
)
stamps = (moments | near).map(lambda m: m.isoformat().replace("+00:00", "Z"))


def field(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(plausible, plausible, json_values)


analytics = st.dictionaries(
    st.sampled_from(ANALYTICS_KEYS),
    field(st.integers(0, 10**7) | st.floats(0, 1e6)),
    max_size=len(ANALYTICS_KEYS),
)
severities = st.sampled_from(["MINOR", "MODERATE", "SEVERE", "EXTREME", "UNKNOWN"])
point = st.fixed_dictionaries(
    {
        "type": st.just("Feature"),
        "geometry": st.fixed_dictionaries(
            {
                "type": st.just("Point"),
                "coordinates": field(st.lists(st.floats(-180, 180), max_size=3)),
            }
        ),
    }
)
geometries = st.fixed_dictionaries({"features": field(st.lists(point, max_size=2))})
episode = st.fixed_dictionaries(
    {},
    optional={
        "severity": field(severities),
        "name": field(st.text(max_size=30)),
        "description": field(st.text(max_size=30)),
        "updatedAt": field(stamps),
        "endedAt": field(stamps),
        "startedAt": field(stamps),
        "episodeDetails": field(analytics),
        "severityData": field(
            st.fixed_dictionaries({"magnitude": field(st.floats(0, 10) | st.text(max_size=5))})
        ),
        "geometries": field(geometries),
    },
)
events = st.fixed_dictionaries(
    {"eventId": field(st.uuids().map(str) | st.text(max_size=3000)), "updatedAt": field(stamps)},
    optional={
        "version": field(st.integers(0, 20)),
        "name": field(st.text(max_size=300)),
        "description": field(st.text(max_size=300)),
        "type": field(st.sampled_from(["FLOOD", "EARTHQUAKE", "WILDFIRE", "DROUGHT"])),
        "severity": field(severities),
        "startedAt": field(stamps),
        "endedAt": field(stamps),
        "eventDetails": field(analytics),
        "episodes": field(st.lists(episode, max_size=3)),
        "severityData": field(st.fixed_dictionaries({"magnitude": field(st.floats(0, 10))})),
        "geometries": field(geometries),
    },
)
elements = st.lists(events | json_values, max_size=6)
cursors = st.none() | near


def bounded(before: dt.datetime | None, after: dt.datetime | None) -> None:
    """The cursor property: never backwards, never past the horizon (unless it was already)."""
    if before is None:
        assert after is None or after <= HORIZON
        return
    assert after is not None and before <= after <= max(before, HORIZON)


@SETTINGS
@given(data=elements, next_after=field(stamps) | st.none(), cursor=cursors)
def test_kontur_page_cursor_never_raises_nor_runs_ahead(
    data: list[Any], next_after: Any, cursor: dt.datetime | None
) -> None:
    next_text = next_after if isinstance(next_after, str) else None
    reached, usable, problems = page_cursor(data, next_text, cursor, HORIZON)
    bounded(cursor, reached)
    assert len(usable) + len(problems) == len(data)


@SETTINGS
@given(body=json_values | st.fixed_dictionaries({"pageMetadata": json_values, "data": elements}))
def test_kontur_page_parser_refuses_only_with_bad_response(body: Any) -> None:
    try:
        data, next_after, size = KonturClient._parse_page(json.dumps(body).encode(), FEED)
    except KonturBadResponse:
        return
    assert size == len(data) and (next_after is None or isinstance(next_after, str))


@SETTINGS
@given(data=elements, cursor=cursors)
def test_kontur_rules_and_messages_never_raise_nor_move_the_cursor_wrongly(
    data: list[Any], cursor: dt.datetime | None
) -> None:
    parsed, problems = parse_events(data)
    assert len(parsed) + len(problems) == len(data)
    state = rules.AlertState(cursors={FEED: cursor} if cursor else {})
    outcome = rules.poll(parsed, state, NOW, RULES, FEED)
    bounded(cursor, outcome.state.cursors.get(FEED))
    rules.digest_events(parsed, NOW, RULES)
    for event in parsed:
        assert event.updated_at.utcoffset() == dt.timedelta(0)
        message = alert_message(event)
        assert len(markdown_title(message, 256)) <= 256
        assert len(markdown_body(message, 4096)) <= 4096
        assert len(message.link) <= 2048
        as_text(message)
        kontur_quake_point(event.raw)


usgs_features = st.fixed_dictionaries(
    {
        "type": field(st.just("Feature")),
        "id": field(st.text(min_size=1, max_size=12)),
        "properties": field(
            st.fixed_dictionaries(
                {
                    "type": field(st.just("earthquake")),
                    "mag": field(st.floats(0, 10)),
                    "time": field(st.integers(0, 2**53)),
                    "ids": field(st.lists(st.text("abc,", max_size=4), max_size=3).map(",".join)),
                    "place": field(st.text(max_size=40)),
                    "url": field(st.text(max_size=40)),
                    "alert": field(st.sampled_from(["green", "orange", "red"])),
                }
            )
        ),
        "geometry": field(point.map(lambda p: p["geometry"])),
    }
)


@SETTINGS
@given(
    body=json_values
    | st.fixed_dictionaries(
        {
            "type": st.just("FeatureCollection"),
            "features": st.lists(usgs_features | json_values, max_size=5),
        }
    )
)
def test_usgs_parser_and_matcher_never_raise(body: Any) -> None:
    try:
        quakes = parse_feed(body)
    except ValueError:
        return
    watch = UsgsWatch(client=None, config=UsgsConfig())  # type: ignore[arg-type]
    for quake in quakes:
        message = quake_message(quake)
        assert len(markdown_title(message, 256)) <= 256
        assert quake.url.startswith(("https://", "http://"))
        watch.known(quake)
        watch.announced[message.event_id] = quake
    restored = UsgsWatch(client=None, config=UsgsConfig())  # type: ignore[arg-type]
    restored.load_json(json.loads(json.dumps(watch.to_json())))
    assert all(restored.known(quake) for quake in quakes)


@pytest.mark.parametrize("text", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00"])
def test_moments_beyond_utc_are_problems(text: str) -> None:
    event = {"eventId": "e1", "updatedAt": text}
    reached, usable, problems = page_cursor([event], text, None, HORIZON)
    assert reached is None and usable == [] and len(problems) == 1
