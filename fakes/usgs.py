"""A fake USGS GeoJSON summary feed on `FakeHttpServer`: the feed and its ETags, nothing else.

    async with FakeUsgs() as usgs:
        usgs.set_features([feature, ...])      # new content, new ETag
        client = UsgsClient(usgs.url)
        usgs.fail_next(500)                    # the base's faults, log and waits
        usgs.answer_next(200, "{not json")
        usgs.hold(); usgs.release()
        usgs.requests[0].headers

A request whose ``If-None-Match`` matches the current ETag (or, without it, whose
``If-Modified-Since`` is not older than the content) gets ``304 Not Modified``.
"""

from __future__ import annotations

import email.utils
import json
from typing import Any

from aiohttp import web

from fakes.http import FakeHttpServer

FEED_PATH = "/earthquakes/feed/v1.0/summary/4.5_hour.geojson"


class FakeUsgs(FakeHttpServer):
    def __init__(self, features: list[dict[str, Any]] | None = None) -> None:
        super().__init__("fake USGS")
        self.features: list[dict[str, Any]] = []
        self._version = 0
        self._modified = 1_741_950_000  # epoch seconds of the current content
        self.set_features(features or [])
        self.add_route("GET", "/{tail:.*}", self._feed, name="feed")

    @property
    def url(self) -> str:
        return self.url_for(FEED_PATH)

    @property
    def etag(self) -> str:
        return f'"usgs-{self._version}"'

    @property
    def last_modified(self) -> str:
        return email.utils.formatdate(self._modified, usegmt=True)

    def set_features(self, features: list[dict[str, Any]]) -> None:
        """Replace the content; the ETag and Last-Modified change."""
        self.features = list(features)
        self._version += 1
        self._modified += 60

    def _body(self) -> dict[str, Any]:
        return {
            "type": "FeatureCollection",
            "metadata": {
                "generated": self._modified * 1000,
                "url": self.url,
                "title": "USGS Magnitude 4.5+ Earthquakes, Past Hour",
                "status": 200,
                "api": "1.14.1",
                "count": len(self.features),
            },
            "features": self.features,
            "bbox": [-180.0, -90.0, -10.0, 180.0, 90.0, 700.0],
        }

    def _not_modified(self, request: web.Request) -> bool:
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            return self.etag in [tag.strip() for tag in if_none_match.split(",")]
        since = request.headers.get("If-Modified-Since")
        if since:
            try:
                return email.utils.parsedate_to_datetime(since).timestamp() >= self._modified
            except (TypeError, ValueError):
                return False
        return False

    async def _feed(self, request: web.Request) -> web.Response:
        validators = {"ETag": self.etag, "Last-Modified": self.last_modified}
        if self._not_modified(request):
            return web.Response(status=304, headers=validators)
        return web.Response(
            body=json.dumps(self._body()).encode(),
            content_type="application/geo+json",
            headers=validators,
        )
