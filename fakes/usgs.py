"""A tiny fake USGS GeoJSON summary feed on 127.0.0.1, with ETags and faults on demand.

    async with FakeUsgs() as usgs:
        usgs.set_features([feature, ...])      # new content, new ETag
        client = UsgsClient(usgs.url)
        usgs.fail(500, times=1)                # next request answers 500
        usgs.serve_raw("{not json")            # every request answers this body (None: stop)
        usgs.hold()                            # requests wait until release() or close
        usgs.requests                          # log: method, path, headers

A request whose ``If-None-Match`` matches the current ETag (or, without it, whose
``If-Modified-Since`` is not older than the content) gets ``304 Not Modified``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeUsgs:
    def __init__(self, features: list[dict[str, Any]] | None = None) -> None:
        self.features: list[dict[str, Any]] = []
        self.requests: list[LoggedRequest] = []
        self._version = 0
        self._modified = 1_741_950_000  # epoch seconds of the current content
        self._failures: list[int] = []
        self._raw: str | None = None
        self._release = asyncio.Event()
        self._release.set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.set_features(features or [])

    # --- controls ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/earthquakes/feed/v1.0/summary/4.5_hour.geojson"

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

    def fail(self, status: int = 500, *, times: int = 1) -> None:
        """The next ``times`` requests answer ``status`` with a short text body."""
        self._failures.extend([status] * times)

    def serve_raw(self, body: str | None) -> None:
        """Answer every request with this body (status 200, JSON type); None restores."""
        self._raw = body

    def hold(self) -> None:
        """Make requests wait until :meth:`release` (or close): a server that hangs."""
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    # --- server -----------------------------------------------------------------------

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

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(LoggedRequest(request.method, request.path, dict(request.headers)))
        await self._release.wait()
        if self._failures:
            status = self._failures.pop(0)
            return web.Response(status=status, text=f"fake USGS failure {status}")
        if self._raw is not None:
            return web.Response(text=self._raw, content_type="application/json")
        validators = {"ETag": self.etag, "Last-Modified": self.last_modified}
        if self._not_modified(request):
            return web.Response(status=304, headers=validators)
        return web.Response(
            body=json.dumps(self._body()).encode(),
            content_type="application/geo+json",
            headers=validators,
        )

    async def start(self) -> FakeUsgs:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def close(self) -> None:
        self._release.set()  # let held requests finish so shutdown does not wait
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeUsgs:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
