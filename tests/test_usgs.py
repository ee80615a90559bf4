"""USGS earthquake source: parsing, rules, de-duplication against Kontur, client, message."""

from __future__ import annotations

import datetime as dt
import json
import math
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakes.usgs import FakeUsgs
from netbot.alerts.usgs import (
    Quake,
    UsgsBadResponse,
    UsgsClient,
    UsgsUnavailable,
    kontur_quake_point,
    parse_feed,
    quake_message,
    qualifies,
    same_quake,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KONTUR_PAGE1 = PROJECT_ROOT.parent / "shared" / "fixtures" / "alerts" / "kontur_feed_page1.json"

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 14, 11, 21, 4, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def feature(
    quake_id: str = "us7000pq3k",
    *,
    mag: Any = 6.4,
    place: Any = "35 km SW of Tomohon, Indonesia",
    time_ms: Any = T0_MS,
    alert: Any = "orange",
    tsunami: Any = 0,
    kind: Any = "earthquake",
    coordinates: Any = (119.8124, -0.9587, 10.0),
) -> dict[str, Any]:
    """A feature shaped like the USGS summary feed's (values invented)."""
    url = f"https://earthquake.usgs.gov/earthquakes/eventpage/{quake_id}"
    return {
        "type": "Feature",
        "properties": {
            "mag": mag,
            "place": place,
            "time": time_ms,
            "updated": time_ms + 431_000 if isinstance(time_ms, int) else time_ms,
            "tz": None,
            "url": url,
            "detail": f"https://earthquake.usgs.gov/earthquakes/feed/v1.0/detail/{quake_id}.geojson",
            "felt": 12,
            "cdi": 5.8,
            "mmi": 6.912,
            "alert": alert,
            "status": "reviewed",
            "tsunami": tsunami,
            "sig": 1048,
            "net": "us",
            "code": quake_id[2:],
            "ids": f",{quake_id},",
            "sources": ",us,",
            "types": ",dyfi,losspager,moment-tensor,origin,phase-data,shakemap,",
            "nst": 112,
            "dmin": 1.874,
            "rms": 0.81,
            "gap": 23,
            "magType": "mww",
            "type": kind,
            "title": f"M {mag} - {place}",
        },
        "geometry": {"type": "Point", "coordinates": list(coordinates)},
        "id": quake_id,
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "metadata": {"generated": T0_MS + 600_000, "count": len(features), "status": 200},
        "features": list(features),
        "bbox": [-180.0, -90.0, -10.0, 180.0, 90.0, 700.0],
    }


def quake(**overrides: Any) -> Quake:
    values: dict[str, Any] = {
        "id": "us7000pq3k",
        "time": T0,
        "magnitude": 6.4,
        "alert": "orange",
        "latitude": -0.9587,
        "longitude": 119.8124,
        "depth_km": 10.0,
        "place": "35 km SW of Tomohon, Indonesia",
        "url": "https://earthquake.usgs.gov/earthquakes/eventpage/us7000pq3k",
        "title": "M 6.4 - 35 km SW of Tomohon, Indonesia",
    }
    values.update(overrides)
    return Quake(**values)


# --- parse_feed ----------------------------------------------------------------------------


def test_parse_feed_reads_realistic_features() -> None:
    body = collection(
        feature(),
        feature(
            "ak0253xyz1v",
            mag=4.6,
            place="88 km SSE of Chignik, Alaska",
            time_ms=T0_MS - 1_800_000,
            alert=None,
            tsunami=1,
            coordinates=(-158.0233, 55.5531, 35.45),
        ),
    )
    quakes = parse_feed(json.loads(json.dumps(body)))  # exactly what JSON gives
    assert [q.id for q in quakes] == ["us7000pq3k", "ak0253xyz1v"]
    first, second = quakes
    assert first == Quake(
        id="us7000pq3k",
        time=T0,
        magnitude=6.4,
        alert="orange",
        latitude=-0.9587,
        longitude=119.8124,
        depth_km=10.0,
        place="35 km SW of Tomohon, Indonesia",
        url="https://earthquake.usgs.gov/earthquakes/eventpage/us7000pq3k",
        title="M 6.4 - 35 km SW of Tomohon, Indonesia",
        tsunami=False,
    )
    assert first.time.tzinfo is not None and first.time.utcoffset() == dt.timedelta(0)
    assert second.alert is None
    assert second.tsunami is True
    assert (second.latitude, second.longitude, second.depth_km) == (55.5531, -158.0233, 35.45)
    assert second.time == T0 - dt.timedelta(minutes=30)


def test_parse_feed_skips_malformed_and_non_earthquake_features() -> None:
    good = feature("us_good")
    body = collection(
        feature("us_blast", kind="quarry blast"),
        feature("us_explosion", kind="explosion"),
        feature("us_nomag", mag=None),
        feature("us_strmag", mag="6.1"),
        feature("us_notime", time_ms=None),
        feature("us_shortcoords", coordinates=(120.0,)),
        feature("us_badlat", coordinates=(120.0, 95.0, 10.0)),
        feature("us_nancoords", coordinates=(float("nan"), 1.0, 10.0)),
        {**feature("us_noid"), "id": None},
        {**feature("us_nogeom"), "geometry": None},
        {**feature("us_noprops"), "properties": "x"},
        {**feature("us_poly"), "geometry": {"type": "Polygon", "coordinates": [[[0, 0]]]}},
        "not a feature",
        None,
        good,
        feature("us_weirdalert", alert="pink"),
    )
    quakes = parse_feed(body)
    assert [q.id for q in quakes] == ["us_good", "us_weirdalert"]
    assert quakes[1].alert is None  # an unknown PAGER level is treated as "no alert yet"


def test_parse_feed_depth_missing_is_none() -> None:
    (only,) = parse_feed(collection(feature(coordinates=(119.8, -0.95))))
    assert only.depth_km is None


@pytest.mark.parametrize(
    "body",
    [
        [],
        "FeatureCollection",
        {"type": "Feature"},
        {"type": "FeatureCollection"},
        {"type": "FeatureCollection", "features": {}},
    ],
)
def test_parse_feed_rejects_non_feature_collections(body: Any) -> None:
    with pytest.raises(ValueError, match="FeatureCollection"):
        parse_feed(body)


def test_parse_feed_empty_collection() -> None:
    assert parse_feed(collection()) == []


# --- qualifies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("magnitude", "alert", "expected"),
    [
        (6.0, "orange", True),  # exactly at the magnitude threshold
        (5.9, "orange", False),  # just below it
        (5.9, "red", False),  # a high alert does not lift a low magnitude
        (6.0, "yellow", False),  # alert below min_alert
        (6.0, "green", False),
        (6.0, "red", True),  # above min_alert
        (8.2, "green", False),  # PAGER has spoken, and it says green
        (6.9, None, False),  # no PAGER yet: needs min_magnitude + 1.0
        (7.0, None, True),  # exactly min_magnitude + 1.0
        (7.4, None, True),
    ],
)
def test_qualifies_boundaries(magnitude: float, alert: str | None, expected: bool) -> None:
    assert (
        qualifies(quake(magnitude=magnitude, alert=alert), min_magnitude=6.0, min_alert="orange")
        is expected
    )


def test_qualifies_alert_order() -> None:
    levels = ["green", "yellow", "orange", "red"]
    for i, min_alert in enumerate(levels):
        for j, alert in enumerate(levels):
            got = qualifies(
                quake(magnitude=6.5, alert=alert), min_magnitude=6.5, min_alert=min_alert
            )
            assert got is (j >= i), (alert, min_alert)


def test_qualifies_decimal_magnitudes_exact_at_threshold() -> None:
    # 6.1 + 1.0 is not exactly 7.1 in binary floating point for every pair; the rule must hold.
    for base in (4.5, 5.5, 6.1, 6.3, 6.7):
        no_alert = quake(magnitude=round(base + 1.0, 1), alert=None)
        assert qualifies(no_alert, min_magnitude=base, min_alert="yellow")
        assert qualifies(
            quake(magnitude=base, alert="yellow"), min_magnitude=base, min_alert="yellow"
        )


def test_qualifies_rejects_unknown_min_alert() -> None:
    with pytest.raises(ValueError, match="PAGER"):
        qualifies(quake(), min_magnitude=6.0, min_alert="purple")


# --- same_quake ----------------------------------------------------------------------------

WINDOW = dt.timedelta(minutes=60)


def north_of(lat: float, km: float) -> float:
    """The latitude ``km`` due north along a meridian (mean Earth radius)."""
    return lat + math.degrees(km / 6371.0088)


def test_same_quake_matches_close_report() -> None:
    q = quake()
    assert same_quake(
        q,
        kontur_started_at=T0 + dt.timedelta(seconds=3),
        kontur_lat=-0.93,
        kontur_lon=119.84,
        kontur_magnitude=6.4,
        window=WINDOW,
    )


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (dt.timedelta(minutes=60), True),
        (dt.timedelta(minutes=-60), True),
        (dt.timedelta(minutes=60, seconds=1), False),
        (dt.timedelta(minutes=-61), False),
    ],
)
def test_same_quake_time_window(offset: dt.timedelta, expected: bool) -> None:
    q = quake()
    got = same_quake(
        q,
        kontur_started_at=T0 + offset,
        kontur_lat=q.latitude,
        kontur_lon=q.longitude,
        kontur_magnitude=None,
        window=WINDOW,
    )
    assert got is expected


@pytest.mark.parametrize(("km", "expected"), [(99.0, True), (101.0, False)])
def test_same_quake_distance(km: float, expected: bool) -> None:
    q = quake(latitude=10.0, longitude=30.0)
    got = same_quake(
        q,
        kontur_started_at=T0,
        kontur_lat=north_of(10.0, km),
        kontur_lon=30.0,
        kontur_magnitude=q.magnitude,
        window=WINDOW,
    )
    assert got is expected


def test_same_quake_distance_across_antimeridian() -> None:
    # 179.6 E and 179.6 W at the equator are ~89 km apart, not ~40,000 km.
    q = quake(latitude=0.0, longitude=179.6)
    assert same_quake(
        q,
        kontur_started_at=T0,
        kontur_lat=0.0,
        kontur_lon=-179.6,
        kontur_magnitude=None,
        window=WINDOW,
    )


@pytest.mark.parametrize(
    ("kontur_magnitude", "expected"),
    [(6.4, True), (5.9, True), (6.9, True), (5.8, False), (7.0, False), (None, True)],
)
def test_same_quake_magnitude(kontur_magnitude: float | None, expected: bool) -> None:
    q = quake(magnitude=6.4)
    got = same_quake(
        q,
        kontur_started_at=T0,
        kontur_lat=q.latitude,
        kontur_lon=q.longitude,
        kontur_magnitude=kontur_magnitude,
        window=WINDOW,
    )
    assert got is expected


def test_same_quake_naive_kontur_time_is_utc() -> None:
    q = quake()
    assert same_quake(
        q,
        kontur_started_at=T0.replace(tzinfo=None),
        kontur_lat=q.latitude,
        kontur_lon=q.longitude,
        kontur_magnitude=None,
        window=dt.timedelta(seconds=1),
    )


# --- kontur_quake_point --------------------------------------------------------------------


def load_kontur_event(event_id: str) -> dict[str, Any]:
    if not KONTUR_PAGE1.exists():
        pytest.skip(f"shared fixtures absent: {KONTUR_PAGE1} (../shared not checked out)")
    page = json.loads(KONTUR_PAGE1.read_text())
    return next(e for e in page["data"] if e["eventId"] == event_id)


E01_ID = "869a5b4d-c343-5e1c-b93a-e9d3cbec8040"


def test_kontur_quake_point_on_fixture_e01() -> None:
    event = load_kontur_event(E01_ID)
    point = kontur_quake_point(event)
    assert point == (dt.datetime(2025, 3, 14, 11, 21, 7, tzinfo=UTC), -0.93, 119.84, 6.4)
    started, lat, lon, mag = point
    # The early USGS report of the same quake is recognised.
    assert same_quake(
        quake(),
        kontur_started_at=started,
        kontur_lat=lat,
        kontur_lon=lon,
        kontur_magnitude=mag,
        window=WINDOW,
    )


def test_kontur_quake_point_non_earthquake_fixture_event() -> None:
    page_event = load_kontur_event("bd6f6770-1f67-575e-8d9f-cb06618666bd")  # E02, a flood
    assert page_event["type"] == "FLOOD"
    assert kontur_quake_point(page_event) is None


def _kontur_event(**overrides: Any) -> dict[str, Any]:
    def point_fc(lon: float, lat: float) -> dict[str, Any]:
        return {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}},
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}},
            ],
        }

    event: dict[str, Any] = {
        "type": "EARTHQUAKE",
        "startedAt": "2025-03-14T08:20:11.250+00:00",
        "severityData": {"magnitude": 7.0, "depthKm": 15.0},
        "geometries": point_fc(142.0, 38.0),
        "episodes": [
            {
                "startedAt": "2025-03-14T08:20:11Z",
                "severityData": {"magnitude": 7.1},
                "geometries": point_fc(142.3, 38.2),
            }
        ],
    }
    event.update(overrides)
    return event


def test_kontur_quake_point_prefers_latest_episode() -> None:
    started, lat, lon, mag = kontur_quake_point(_kontur_event())  # type: ignore[misc]
    assert started == dt.datetime(2025, 3, 14, 8, 20, 11, 250_000, tzinfo=UTC)
    assert (lat, lon, mag) == (38.2, 142.3, 7.1)


def test_kontur_quake_point_falls_back_to_event() -> None:
    assert kontur_quake_point(_kontur_event(episodes=[])) == (
        dt.datetime(2025, 3, 14, 8, 20, 11, 250_000, tzinfo=UTC),
        38.0,
        142.0,
        7.0,
    )
    no_mag = _kontur_event(episodes=[], severityData={})
    assert kontur_quake_point(no_mag)[3] is None  # type: ignore[index]


def test_kontur_quake_point_none_without_point_or_type() -> None:
    assert kontur_quake_point(_kontur_event(type="FLOOD")) is None
    empty = {"type": "FeatureCollection", "features": []}
    assert kontur_quake_point(_kontur_event(geometries=empty, episodes=[])) is None
    assert kontur_quake_point(_kontur_event(startedAt=None, episodes=[])) is None


# --- UsgsClient ----------------------------------------------------------------------------


async def test_client_conditional_get() -> None:
    async with FakeUsgs([feature("us_a"), feature("us_b", mag=5.1)]) as usgs:
        client = UsgsClient(usgs.url)
        try:
            first = await client.fetch()
            assert [q.id for q in first] == ["us_a", "us_b"]
            assert "If-None-Match" not in usgs.requests[0].headers

            assert await client.fetch() == []  # unchanged: 304
            sent = usgs.requests[1].headers
            assert sent["If-None-Match"] == usgs.etag
            assert sent["If-Modified-Since"] == usgs.last_modified

            usgs.set_features([feature("us_c")])
            assert [q.id for q in await client.fetch()] == ["us_c"]
            assert usgs.requests[2].headers["If-None-Match"] != usgs.etag  # the old tag
            assert await client.fetch() == []
            assert len(usgs.requests) == 4
            assert all(r.method == "GET" for r in usgs.requests)
            assert usgs.requests[0].path.endswith("/4.5_hour.geojson")
        finally:
            await client.close()


async def test_client_500_is_unavailable_then_recovers() -> None:
    async with FakeUsgs([feature()]) as usgs:
        client = UsgsClient(usgs.url)
        try:
            usgs.fail_next(500)
            with pytest.raises(UsgsUnavailable, match="500"):
                await client.fetch()
            usgs.fail_next(429)
            with pytest.raises(UsgsUnavailable, match="429"):
                await client.fetch()
            assert [q.id for q in await client.fetch()] == ["us7000pq3k"]
        finally:
            await client.close()


async def test_client_404_is_bad_response() -> None:
    async with FakeUsgs() as usgs:
        client = UsgsClient(usgs.url)
        try:
            usgs.fail_next(404)
            with pytest.raises(UsgsBadResponse, match="404"):
                await client.fetch()
        finally:
            await client.close()


async def test_client_timeout_is_unavailable() -> None:
    async with FakeUsgs([feature()]) as usgs:
        client = UsgsClient(usgs.url, timeout=0.2)
        try:
            usgs.hold()
            with pytest.raises(UsgsUnavailable, match="timed out"):
                await client.fetch()
            usgs.release()
            assert len(await client.fetch()) == 1
        finally:
            await client.close()


async def test_client_unreachable_is_unavailable() -> None:
    with socket.socket() as sock:  # a port nobody listens on once this socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = UsgsClient(f"http://127.0.0.1:{port}/feed.geojson", timeout=2.0)
    try:
        with pytest.raises(UsgsUnavailable, match="unreachable"):
            await client.fetch()
    finally:
        await client.close()


@pytest.mark.parametrize(
    "raw",
    ["{not json", "", '{"type": "Feature", "properties": {}}', "[1, 2]", '"FeatureCollection"'],
)
async def test_client_malformed_is_bad_response(raw: str) -> None:
    async with FakeUsgs([feature()]) as usgs:
        client = UsgsClient(usgs.url)
        try:
            usgs.answer_next(200, raw)
            with pytest.raises(UsgsBadResponse):
                await client.fetch()
            assert client.etag is None  # a bad body leaves no validator behind
            assert len(await client.fetch()) == 1
        finally:
            await client.close()


async def test_client_uses_given_session_and_leaves_it_open() -> None:
    async with FakeUsgs([feature()]) as usgs, aiohttp.ClientSession() as session:
        client = UsgsClient(usgs.url, session=session)
        assert len(await client.fetch()) == 1
        await client.close()
        assert not session.closed


async def test_client_close_without_fetch() -> None:
    await UsgsClient("http://127.0.0.1:9/x").close()


# --- quake_message -------------------------------------------------------------------------


def test_quake_message_content() -> None:
    (q,) = parse_feed(collection(feature()))
    assert quake_message(q).as_dict() == {
        "event_id": "usgs:us7000pq3k",
        "title": "M 6.4 - 35 km SW of Tomohon, Indonesia (USGS, PAGER orange)",
        "link": "https://earthquake.usgs.gov/earthquakes/eventpage/us7000pq3k",
        "description": (
            "Magnitude 6.4 at 10 km depth, 2025-03-14 11:21 UTC. Reported by USGS before "
            "GDACS; Kontur's impact figures follow when available."
        ),
        "rows": ["Depth: 10 km", "PAGER alert: orange"],
    }
    assert quake_message(q).name == "35 km SW of Tomohon, Indonesia"  # the feed's own text


def test_quake_message_rounding_no_alert_and_tsunami() -> None:
    q = quake(magnitude=7.26, depth_km=35.456, alert=None, tsunami=True)
    message = quake_message(q).as_dict()
    assert message["title"] == "M 7.3 - 35 km SW of Tomohon, Indonesia (USGS, no PAGER alert yet)"
    assert message["description"].startswith(
        "Magnitude 7.3 at 35.5 km depth, 2025-03-14 11:21 UTC."
    )
    assert message["rows"] == [
        "Depth: 35.5 km",
        "PAGER alert: not issued yet",
        "Tsunami: flagged by USGS; check tsunami.gov for warnings",
    ]


def test_quake_message_without_depth_or_place() -> None:
    message = quake_message(quake(depth_km=None, place="", magnitude=6.0)).as_dict()
    assert message["title"] == "M 6.0 - -0.96, 119.81 (USGS, PAGER orange)"
    assert message["description"].startswith("Magnitude 6.0, 2025-03-14 11:21 UTC.")
    assert message["rows"] == ["PAGER alert: orange"]
