"""A fake Kontur Event API and Keycloak token endpoint on 127.0.0.1 (aiohttp, random port),
for tests and benches.

Real search semantics: per-feed event lists, `after` compared with `updatedAt` (`>` for ASC,
`<` for DESC), `limit`, `sortOrder`, `nextAfterValue` = the last event's `updatedAt`, and 204
with an empty body when nothing matches. Bearer tokens are checked (401 when missing, wrong or
expired). Faults: `fail_next`, `malformed_next`, `delay_next`, `expire_tokens`. Every request is
logged; tests wait for them with `wait_for_requests` / `wait_until` (a Condition, no polling).
Anything the real API would reject (e.g. `episodeFilterType` other than LATEST) is recorded in
`failures` and fails the test at context exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from netbot.core.times import parse_time

API_PATH = "/events/v1/"
TOKEN_PATH = "/realms/kontur/protocol/openid-connect/token"
_zulu = itertools.cycle([True, False])


def stamp(moment: dt.datetime, *, zulu: bool | None = None) -> str:
    """ISO text with millis; alternates `Z` and `+00:00` unless `zulu` is given."""
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if (next(_zulu) if zulu is None else zulu) else text


def moment(text: str) -> dt.datetime:
    """`updatedAt` as the database orders it; unlike `parse_time`, a moment beyond UTC's
    range (year 9999 with a negative offset) is still ordered, as PostgreSQL would."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def make_event(updated_at: dt.datetime | str, **fields: Any) -> dict[str, Any]:
    """A minimal event (override or add any key); `updatedAt` text mixes Z and +00:00."""
    updated = stamp(updated_at) if isinstance(updated_at, dt.datetime) else updated_at
    return {"eventId": str(uuid.uuid4()), "version": 1, "name": "Test event",
            "type": "EARTHQUAKE", "severity": "SEVERE", "updatedAt": updated,
            "episodes": [], **fields}  # fmt: skip


@dataclass
class KonturRequest:
    endpoint: str  # "api" or "token"
    query: dict[str, str]
    grant_type: str | None = None
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Fault:
    kind: str  # "status", "malformed" or "delay"
    times: int
    status: int = 500
    seconds: float = 0.0


class FakeKontur:
    def __init__(self, *, username: str = "netbot", password: str = "fake-kontur-pass",
                 client_id: str = "kontur_platform", expires_in: float = 300,
                 refresh_expires_in: float = 1800, default_timeout: float = 5.0) -> None:  # fmt: skip
        self.username, self.password, self.client_id = username, password, client_id
        self.expires_in, self.refresh_expires_in = expires_in, refresh_expires_in
        self.default_timeout = default_timeout
        self.feeds: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[KonturRequest] = []
        self.failures: list[str] = []
        self.issued: list[str] = []  # every access and refresh token ever issued
        self.first_served: dict[str, float] = {}  # eventId -> monotonic time first sent
        self.added_at: dict[str, float] = {}  # eventId -> monotonic time added
        self._tokens: dict[str, float] = {}  # access token -> expiry (monotonic)
        self._refresh: dict[str, float] = {}
        self._faults: dict[str, list[_Fault]] = {"api": [], "token": []}
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get(API_PATH, self._search)
        app.router.add_post(TOKEN_PATH, self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self._loop = asyncio.get_running_loop()
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._closing.set()  # releases delayed handlers at once
        if self._runner is not None:
            await self._runner.cleanup()
        if exc is None and self.failures:
            raise AssertionError("fake Kontur failures:\n  - " + "\n  - ".join(self.failures))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PATH}"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{TOKEN_PATH}"

    # -- test controls ----------------------------------------------------------------------

    def add_event(self, event: dict[str, Any], feed: str = "kontur-public") -> dict[str, Any]:
        """Add (or replace, by eventId) an event; safe to call while the bot polls."""
        events = self.feeds.setdefault(feed, [])
        events[:] = [e for e in events if e["eventId"] != event["eventId"]] + [event]
        events.sort(key=lambda e: moment(e["updatedAt"]))
        self.added_at[event["eventId"]] = time.monotonic()
        return event

    def add_event_threadsafe(self, event: dict[str, Any], feed: str = "kontur-public") -> None:
        """`add_event` from another thread (e.g. a benchmark driver)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.add_event, event, feed)

    def fail_next(self, status: int, times: int = 1, *, endpoint: str = "api") -> None:
        self._faults[endpoint].append(_Fault("status", times, status=status))

    def malformed_next(self, times: int = 1) -> None:
        self._faults["api"].append(_Fault("malformed", times))

    def delay_next(self, seconds: float, times: int = 1, *, endpoint: str = "api") -> None:
        self._faults[endpoint].append(_Fault("delay", times, seconds=seconds))

    def expire_tokens(self, *, refresh_too: bool = False) -> None:
        self._tokens = dict.fromkeys(self._tokens, 0.0)
        if refresh_too:
            self._refresh = dict.fromkeys(self._refresh, 0.0)

    def api_requests(self) -> list[KonturRequest]:
        return [r for r in self.requests if r.endpoint == "api"]

    def token_requests(self) -> list[KonturRequest]:
        return [r for r in self.requests if r.endpoint == "token"]

    async def wait_until(self, predicate: Callable[[], bool], what: str,
                         within: float | None = None) -> None:  # fmt: skip
        within = self.default_timeout if within is None else within
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(predicate), within)
        except TimeoutError:
            raise AssertionError(f"timed out after {within}s waiting for {what}") from None

    async def wait_for_requests(self, count: int, *, endpoint: str = "api",
                                within: float | None = None) -> None:  # fmt: skip
        n = lambda: sum(r.endpoint == endpoint for r in self.requests)  # noqa: E731
        await self.wait_until(lambda: n() >= count, f"{count} {endpoint} request(s)", within)

    # -- handlers ---------------------------------------------------------------------------

    async def _fault(self, endpoint: str) -> web.Response | None:
        faults = self._faults[endpoint]
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        if fault.kind == "delay":
            with contextlib.suppress(TimeoutError):  # a stall, released when the fake closes
                await asyncio.wait_for(self._closing.wait(), fault.seconds)
            return None
        if fault.kind == "malformed":
            return web.Response(
                status=200, text='{"pageMetadata": {', content_type="application/json"
            )
        return web.json_response({"error": f"injected {fault.status}"}, status=fault.status)

    async def _answer(self, record: KonturRequest, response: web.Response) -> web.Response:
        record.status = response.status
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        record = KonturRequest("token", {}, grant_type=str(form.get("grant_type")))
        self.requests.append(record)
        if (fault := await self._fault("token")) is not None:
            return await self._answer(record, fault)
        now = time.monotonic()
        ok = form.get("client_id") == self.client_id and (
            (record.grant_type == "password" and form.get("username") == self.username
             and form.get("password") == self.password)
            or (record.grant_type == "refresh_token"
                and self._refresh.get(str(form.get("refresh_token")), 0.0) > now)
        )  # fmt: skip
        if not ok:
            refusal = {"error": "invalid_grant", "error_description": "Invalid user credentials"}
            return await self._answer(record, web.json_response(refusal, status=401))
        access, refresh = f"acc-{secrets.token_hex(16)}", f"ref-{secrets.token_hex(16)}"
        self._tokens[access] = now + self.expires_in
        self._refresh[refresh] = now + self.refresh_expires_in
        self.issued += [access, refresh]
        granted = {"access_token": access, "expires_in": self.expires_in, "token_type": "Bearer",
                   "refresh_token": refresh, "refresh_expires_in": self.refresh_expires_in}  # fmt: skip
        return await self._answer(record, web.json_response(granted))

    async def _search(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        record = KonturRequest("api", q)
        self.requests.append(record)
        if (fault := await self._fault("api")) is not None:
            return await self._answer(record, fault)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or self._tokens.get(token, 0.0) <= time.monotonic():
            return await self._answer(
                record, web.json_response({"error": "unauthorized"}, status=401)
            )
        if q.get("episodeFilterType") != "LATEST":
            self.failures.append(f"episodeFilterType={q.get('episodeFilterType')!r}, not LATEST")
        try:
            order, limit = q.get("sortOrder", "ASC"), int(q.get("limit", "20"))
            after = parse_time(q["after"].replace(" ", "+")) if "after" in q else None
            assert order in ("ASC", "DESC") and 1 <= limit <= 1000 and "feed" in q
        except (ValueError, AssertionError) as exc:
            self.failures.append(f"bad search query {q}: {exc!r}")
            return await self._answer(record, web.json_response({"error": "bad"}, status=400))
        events = self.feeds.get(q["feed"], [])
        if order == "DESC":
            events = events[::-1]
        if after is not None:
            later = (lambda t: t > after) if order == "ASC" else (lambda t: t < after)
            events = [e for e in events if later(moment(e["updatedAt"]))]
        page = events[:limit]
        if not page:
            return await self._answer(record, web.Response(status=204))
        for event in page:
            self.first_served.setdefault(event["eventId"], time.monotonic())
        body = {"pageMetadata": {"nextAfterValue": page[-1]["updatedAt"]}, "data": page}
        return await self._answer(
            record, web.Response(text=json.dumps(body), content_type="application/json")
        )
