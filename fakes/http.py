"""One fake HTTP server for the fakes of outside services (aiohttp on 127.0.0.1, random port).

Why: each outside service's fake needs the same plumbing (a real socket, a request log,
injected faults, waiting for requests without sleeping, expectation breaches failing the
test); written once here, a service's fake is only its routes and its semantics.

    server = FakeHttpServer("Kontur")
    server.add_route("GET", "/events/v1/", search, name="api")   # before start
    async with server:                            # start ... stop
        server.fail_next(503, route="api")        # the next api request answers 503
        server.answer_next(200, '{"broken":')     # the next request gets this body instead
        server.delay_next(30)                     # the next request stalls (freed on close)
        server.clear_faults("api")                # drop what is still pending (None: all)
        server.hold(); server.release()           # every request waits, until released
        await server.wait_for_requests(2, route="api")
        server.requests[-1].query, .form, .headers, .status; server.url_for("/events/v1/")
        server.failures.append("...")             # fails the test when the block exits
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Self

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_order = itertools.count()  # faults on different routes still apply oldest first


@dataclass
class Recorded:
    """One request as the fake saw it, and the status it answered (0 while unanswered)."""

    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    @property
    def form(self) -> dict[str, str]:
        """An `application/x-www-form-urlencoded` body as a dict (last value wins)."""
        return dict(urllib.parse.parse_qsl(self.body.decode(errors="replace")))


@dataclass
class _Fault:
    route: str | None  # None: whichever route is asked next
    times: int
    status: int = 0  # 0: no answer of its own (a delay)
    body: str = ""
    content_type: str = "text/plain"
    delay: float = 0.0
    order: int = field(default_factory=lambda: next(_order))


class FakeHttpServer:
    """An aiohttp server on 127.0.0.1 with a request log, faults and waits (see the module)."""

    def __init__(self, name: str = "fake server", *, default_timeout: float = 5.0) -> None:
        self.name = name
        self.default_timeout = default_timeout
        self.requests: list[Recorded] = []
        self.failures: list[str] = []
        self.port = 0
        self._app = web.Application()
        self._faults: defaultdict[str | None, list[_Fault]] = defaultdict(list)  # by route
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._released = asyncio.Event()
        self._released.set()
        self._runner: web.AppRunner | None = None

    # -- set-up -----------------------------------------------------------------------------

    def add_route(self, method: str, path: str, handler: Handler, *, name: str = "") -> None:
        """Serve `method path` (aiohttp patterns, e.g. `/{tail:.*}`) with `handler`; `name`
        (default: the path) labels its requests and targets its faults. Before `start`."""
        if self._runner is not None:
            raise AssertionError(f"{self.name}: add routes before start")
        route = name or path

        async def recorded(request: web.Request) -> web.StreamResponse:
            record = Recorded(
                route, request.method, request.path, dict(request.query),
                dict(request.headers), await request.read(),
            )  # fmt: skip
            self.requests.append(record)
            await self._notify()
            response = await self._injected(route)
            if response is None:
                response = await handler(request)
            record.status = response.status
            await self._notify()
            return response

        self._app.router.add_route(method, path, recorded)

    def url_for(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> Self:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Free stalled and held requests at once, then close the socket."""
        self._closing.set()
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        await self.stop()
        if exc is None and self.failures:
            raise AssertionError(f"{self.name}:\n  - " + "\n  - ".join(self.failures))

    # -- faults -----------------------------------------------------------------------------

    def answer_next(
        self,
        status: int,
        body: str = "",
        *,
        times: int = 1,
        route: str | None = None,
        content_type: str = "application/json",
    ) -> None:
        """The next `times` requests (to `route`, or any) get this answer, not the handler's."""
        self._queue(_Fault(route, times, status, body, content_type))

    def fail_next(self, status: int = 500, *, times: int = 1, route: str | None = None) -> None:
        """The next `times` requests (to `route`, or any) answer `status` with a short text."""
        self._queue(_Fault(route, times, status, f"injected {status}"))

    def delay_next(self, seconds: float, *, times: int = 1, route: str | None = None) -> None:
        """The next `times` requests stall `seconds` (or until stop), then are answered."""
        self._queue(_Fault(route, times, delay=seconds))

    def clear_faults(self, route: str | None = None) -> None:
        """Drop the pending faults aimed at `route`, or (None) every pending fault: a service
        that recovers now, however many failures a test had queued."""
        if route is None:
            self._faults.clear()
        else:
            self._faults.pop(route, None)

    def hold(self) -> None:
        """Every request waits until `release()` or stop: a server that hangs."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def _queue(self, fault: _Fault) -> None:
        if fault.times > 0:  # "the next 0 requests" inject nothing
            self._faults[fault.route].append(fault)

    async def _injected(self, route: str) -> web.StreamResponse | None:
        """The oldest pending fault for `route` or any route, used up by one request."""
        await self._released.wait()
        heads = [queue[0] for queue in (self._faults[route], self._faults[None]) if queue]
        if not heads:
            return None
        fault = min(heads, key=lambda f: f.order)
        fault.times -= 1
        if fault.times == 0:
            self._faults[fault.route].pop(0)
        if fault.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.delay)
        if not fault.status:
            return None
        return web.Response(status=fault.status, text=fault.body, content_type=fault.content_type)

    # -- waiting ----------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(
        self, predicate: Callable[[], bool], what: str, within: float | None = None
    ) -> None:
        """Wait (on the request log's changes, no polling) until `predicate()` holds."""
        within = self.default_timeout if within is None else within
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(predicate), within)
        except TimeoutError:
            raise AssertionError(f"{self.name}: timed out after {within}s on {what}") from None

    def requests_to(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    async def wait_for_requests(
        self, count: int, *, route: str | None = None, within: float | None = None
    ) -> None:
        """Wait until `count` requests (to `route`, or any) have arrived (answered or not)."""

        def arrived() -> int:
            return sum(route in (None, r.route) for r in self.requests)

        await self.wait_until(lambda: arrived() >= count, f"{count} request(s)", within)
