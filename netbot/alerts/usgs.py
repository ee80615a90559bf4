"""Second, faster earthquake source: the USGS GeoJSON summary feeds.

Kontur's Event API enriches GDACS, and GDACS waits for its own model run, so a strong quake
reaches Kontur many minutes after the USGS summary feeds (no auth, refreshed every minute) carry
it. This module reads those feeds, decides which quakes are worth an early alert, recognises the
same quake when Kontur reports it later, and renders the early message.

Everything here is pure except :class:`UsgsClient`, which only fetches and parses.

Feed shape (``https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/*.geojson``)::

    {"type": "FeatureCollection", "metadata": {...}, "features": [
        {"type": "Feature", "id": "us7000abcd",
         "properties": {"mag": 6.4, "place": "35 km SW of Tomohon, Indonesia",
                        "time": 1741951267000, "updated": ..., "url": ..., "detail": ...,
                        "alert": "orange" | null, "tsunami": 0 | 1, "sig": ...,
                        "type": "earthquake", "title": "M 6.4 - 35 km SW of ..."},
         "geometry": {"type": "Point", "coordinates": [lon, lat, depth_km]}}]}
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from netbot.alerts.events import latest_episode, number
from netbot.alerts.messages import AlertMessage
from netbot.core.errors import BackendError
from netbot.core.times import parse_time

#: PAGER alert levels, lowest first.
ALERT_LEVELS: tuple[str, ...] = ("green", "yellow", "orange", "red")
#: A quake with no PAGER alert yet must be this much stronger than ``min_magnitude``.
NO_ALERT_MAGNITUDE_MARGIN = 1.0
#: Two reports farther apart than this are different quakes.
SAME_QUAKE_MAX_KM = 100.0
#: Two reports whose magnitudes differ by more than this are different quakes.
SAME_QUAKE_MAX_MAG_DIFF = 0.5

#: USGS ids are a network code and a few characters; anything longer is a broken feed.
MAX_ID = 100
EVENT_PAGE = "https://earthquake.usgs.gov/earthquakes/eventpage/{id}"
_SAFE_URL = re.compile(r"https?://[^\s()<>\[\]]{1,500}")

_EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
_EPS = 1e-9  # magnitudes come as decimal text; keep 6.1 + 1.0 >= 7.1 true


class UsgsError(BackendError):
    """Base of the errors :class:`UsgsClient` raises; ``message`` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__("usgs", message)


class UsgsUnavailable(UsgsError):
    """The feed could not be read now (network, timeout, 5xx, 429): try again next poll."""


class UsgsBadResponse(UsgsError):
    """The feed answered, but not with a usable GeoJSON FeatureCollection."""


@dataclass(frozen=True)
class Quake:
    """One earthquake as the USGS feed reports it (the latest solution).

    A quake is reported by several networks, each with its own id, and USGS's preferred id
    can change between two fetches: `aliases` holds the other ids (the feed's `ids`), so the
    same quake is recognised whichever id it comes under.
    """

    id: str
    time: dt.datetime  # origin time, aware UTC
    magnitude: float
    alert: str | None  # PAGER level, None until PAGER has run
    latitude: float
    longitude: float
    depth_km: float | None
    place: str
    url: str  # USGS event page
    title: str
    tsunami: bool = False  # USGS "tsunami" flag: check tsunami.gov, not a warning itself
    aliases: tuple[str, ...] = ()  # the quake's other ids

    def all_ids(self) -> frozenset[str]:
        return frozenset((self.id, *self.aliases))


# --- parsing -------------------------------------------------------------------------------


def magnitude_number(value: Any) -> float | None:
    """A Kontur magnitude as a float: a JSON number or numeric text (severityData is free-form
    JSON copied from each provider, and some quote their numbers)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    return number(value)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _aliases(value: Any, quake_id: str) -> tuple[str, ...]:
    """The other ids in USGS's `ids` text (`,at00qdlek0,pt20199000,us7000aq3e,`)."""
    ids = [i.strip() for i in _text(value).split(",")]
    return tuple(dict.fromkeys(i for i in ids if i and i != quake_id and len(i) <= MAX_ID))


def _link(value: Any, quake_id: str) -> str:
    """The feed's event page when it is a plain http(s) URL, else USGS's page for the id."""
    url = _text(value)
    if _SAFE_URL.fullmatch(url):
        return url
    return EVENT_PAGE.format(id=quote(quake_id, safe=""))


def _parse_feature(feature: Any) -> Quake | None:
    """A :class:`Quake`, or None for a non-earthquake or malformed feature."""
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties")
    geometry = feature.get("geometry")
    if not isinstance(props, dict) or not isinstance(geometry, dict):
        return None
    if props.get("type") != "earthquake":  # quarry blasts, explosions, ice quakes...
        return None
    quake_id = _text(feature.get("id"))
    magnitude = number(props.get("mag"))
    millis = number(props.get("time"))
    if not quake_id or len(quake_id) > MAX_ID or magnitude is None or millis is None:
        return None
    if geometry.get("type") != "Point":
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return None
    lon, lat = number(coords[0]), number(coords[1])
    if lon is None or lat is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    depth = number(coords[2]) if len(coords) > 2 else None
    try:
        time = dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    alert = _text(props.get("alert")).lower() or None
    if alert not in ALERT_LEVELS:
        alert = None
    place = _text(props.get("place"))
    title = _text(props.get("title")) or f"M {_fmt_mag(magnitude)} - {place or quake_id}"
    return Quake(
        id=quake_id,
        time=time,
        magnitude=magnitude,
        alert=alert,
        latitude=lat,
        longitude=lon,
        depth_km=depth,
        place=place,
        url=_link(props.get("url"), quake_id),
        title=title,
        tsunami=number(props.get("tsunami")) not in (None, 0.0),
        aliases=_aliases(props.get("ids"), quake_id),
    )


def parse_feed(body: Any) -> list[Quake]:
    """The earthquakes in a USGS GeoJSON summary feed, in feed order.

    Features that are not earthquakes or are malformed (no magnitude, no time, no point...) are
    skipped, so one odd feature never hides the others. A body that is not a FeatureCollection
    raises ``ValueError``.
    """
    if not isinstance(body, dict) or body.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    features = body.get("features")
    if not isinstance(features, list):
        raise ValueError("FeatureCollection without a features list")
    return [quake for quake in map(_parse_feature, features) if quake is not None]


# --- rules ---------------------------------------------------------------------------------


def alert_rank(level: str) -> int:
    """0 for green .. 3 for red; ``ValueError`` for anything else."""
    try:
        return ALERT_LEVELS.index(level.lower())
    except ValueError:
        raise ValueError(f"unknown PAGER alert level {level!r}") from None


def qualifies(quake: Quake, *, min_magnitude: float, min_alert: str) -> bool:
    """Whether a quake deserves an early USGS alert.

    It must have ``magnitude >= min_magnitude`` and a PAGER alert at or above ``min_alert``
    (green < yellow < orange < red). PAGER's estimate usually arrives minutes after the first
    solution, and a strong quake should not wait for it: a quake with no PAGER alert yet
    qualifies when ``magnitude >= min_magnitude + 1.0`` instead. Once PAGER has spoken, its
    level rules, so a strong quake rated below ``min_alert`` does not qualify.
    """
    threshold = alert_rank(min_alert)
    if quake.magnitude + _EPS < min_magnitude:
        return False
    if quake.alert is None:
        return quake.magnitude + _EPS >= min_magnitude + NO_ALERT_MAGNITUDE_MARGIN
    return alert_rank(quake.alert) >= threshold


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in km."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def same_quake(
    quake: Quake,
    *,
    kontur_started_at: dt.datetime,
    kontur_lat: float,
    kontur_lon: float,
    kontur_magnitude: float | None,
    window: dt.timedelta,
) -> bool:
    """Whether a Kontur earthquake event is the quake USGS reported.

    Same event when the origin times are at most ``window`` apart, the epicentres at most
    100 km apart (great circle), and, when both magnitudes are known, the magnitudes at most
    0.5 apart. A naive ``kontur_started_at`` is taken as UTC.
    """
    started = kontur_started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    if abs(quake.time - started) > window:
        return False
    if distance_km(quake.latitude, quake.longitude, kontur_lat, kontur_lon) > SAME_QUAKE_MAX_KM:
        return False
    if kontur_magnitude is not None:
        return abs(quake.magnitude - kontur_magnitude) <= SAME_QUAKE_MAX_MAG_DIFF + _EPS
    return True


def _first_point(container: Any) -> tuple[float, float] | None:
    """(lat, lon) of the first Point feature in ``container["geometries"]["features"]``."""
    if not isinstance(container, dict):
        return None
    geometries = container.get("geometries")
    features = geometries.get("features") if isinstance(geometries, dict) else None
    if not isinstance(features, list):
        return None
    for feature in features:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            continue
        coords = geometry.get("coordinates")
        if isinstance(coords, list) and len(coords) >= 2:
            lon, lat = number(coords[0]), number(coords[1])
            if lon is not None and lat is not None:
                return lat, lon
    return None


def _magnitude(container: Any) -> float | None:
    data = container.get("severityData") if isinstance(container, dict) else None
    return magnitude_number(data.get("magnitude")) if isinstance(data, dict) else None


def kontur_quake_point(
    event: dict[str, Any],
) -> tuple[dt.datetime, float, float, float | None] | None:
    """``(startedAt, lat, lon, magnitude)`` of a Kontur EARTHQUAKE event, for :func:`same_quake`.

    The point and magnitude come from the latest episode (by time, see
    :func:`~netbot.alerts.events.latest_episode`) and fall back to the event's own. ``startedAt`` is the
    event's (the origin time), falling back to the episode's. None when the event is not an
    earthquake or has no usable point or start time.
    """
    if not isinstance(event, dict) or event.get("type") != "EARTHQUAKE":
        return None
    latest = latest_episode(event) or {}
    point = _first_point(latest) or _first_point(event)
    if point is None:
        return None
    started_text = event.get("startedAt") or latest.get("startedAt")
    if not isinstance(started_text, str):
        return None
    try:
        started = parse_time(started_text)
    except ValueError:
        return None
    magnitude = _magnitude(latest)
    if magnitude is None:
        magnitude = _magnitude(event)
    return started, point[0], point[1], magnitude


# --- message -------------------------------------------------------------------------------


def _fmt_mag(value: float) -> str:
    return f"{value:.1f}"


def _fmt_depth(value: float) -> str:
    text = f"{value:.1f}"
    text = text.removesuffix(".0")
    return "0" if text == "-0" else text


def quake_message(quake: Quake) -> AlertMessage:
    """The early alert, in the shape the Kontur alerts use; the place is the feed's text."""
    mag = _fmt_mag(quake.magnitude)
    where = quake.place or f"{quake.latitude:.2f}, {quake.longitude:.2f}"
    pager = f"PAGER {quake.alert}" if quake.alert else "no PAGER alert yet"
    when = quake.time.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    depth = "" if quake.depth_km is None else f" at {_fmt_depth(quake.depth_km)} km depth"
    rows: list[str] = []
    if quake.depth_km is not None:
        rows.append(f"Depth: {_fmt_depth(quake.depth_km)} km")
    rows.append(f"PAGER alert: {quake.alert or 'not issued yet'}")
    if quake.tsunami:
        rows.append("Tsunami: flagged by USGS; check tsunami.gov for warnings")
    return AlertMessage(
        event_id=f"usgs:{quake.id}",
        prefix=f"M {mag} - ",
        name=where,
        suffix=f" (USGS, {pager})",
        link=quake.url,
        description=(
            f"Magnitude {mag}{depth}, {when}. Reported by USGS before GDACS; "
            "Kontur's impact figures follow when available."
        ),
        rows=rows,
    )


# --- client --------------------------------------------------------------------------------


class UsgsClient:
    """Reads one USGS GeoJSON summary feed with conditional GETs.

    The validators (``ETag``, ``Last-Modified``) of the last good answer are sent back as
    ``If-None-Match``/``If-Modified-Since``; a ``304 Not Modified`` makes :meth:`fetch` return
    ``[]``, not the previous list: callers de-duplicate by quake id anyway, so "nothing new"
    is the honest answer. A 200 returns the whole feed, old quakes included.

    Errors: :class:`UsgsUnavailable` for network trouble, timeouts, 5xx and 429;
    :class:`UsgsBadResponse` for any other status, bodies that are not JSON, and JSON that is
    not a FeatureCollection. A session passed in is the caller's to close; otherwise the
    client makes its own on first use and :meth:`close` closes it.
    """

    def __init__(
        self,
        feed_url: str,
        *,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.feed_url = feed_url
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self.etag: str | None = None
        self.last_modified: str | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def fetch(self) -> list[Quake]:
        """The feed's earthquakes, or ``[]`` when unchanged since the last good fetch."""
        headers = {"Accept": "application/geo+json, application/json"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        session = self._get_session()
        try:
            async with session.get(self.feed_url, headers=headers, timeout=self._timeout) as resp:
                if resp.status == 304:
                    return []
                if resp.status >= 500 or resp.status == 429:
                    raise UsgsUnavailable(f"USGS feed answered HTTP {resp.status}")
                if resp.status != 200:
                    raise UsgsBadResponse(f"USGS feed answered HTTP {resp.status}")
                raw = await resp.read()
                etag = resp.headers.get("ETag")
                last_modified = resp.headers.get("Last-Modified")
        except TimeoutError:
            raise UsgsUnavailable("USGS feed timed out") from None
        except aiohttp.ClientError as exc:
            raise UsgsUnavailable(f"USGS feed unreachable: {exc.__class__.__name__}") from exc
        try:
            quakes = parse_feed(json.loads(raw))
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            reason = "not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise UsgsBadResponse(f"USGS feed body unusable: {reason}") from None
        # Remember validators only for a body we could use, so a bad one is fetched again.
        self.etag, self.last_modified = etag, last_modified
        return quakes

    async def close(self) -> None:
        """Close the session if the client made it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
