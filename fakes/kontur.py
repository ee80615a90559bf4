"""A fake Kontur Event API and Keycloak token endpoint on `FakeHttpServer`, for tests and benches.

Real search semantics: per-feed event lists, `after` compared with `updatedAt` (`>` for ASC,
`<` for DESC), `limit`, `sortOrder`, `nextAfterValue` = the last event's `updatedAt`, and 204
with an empty body when nothing matches. Bearer tokens are checked (401 when missing, wrong or
expired); `expire_tokens` ends them early. The request log (routes "api" and "token"), faults
(`fail_next`, `delay_next`, `malformed_next`; aimed at the search unless told) and waits are the
base's. Anything the real API would reject (e.g. `episodeFilterType` other than LATEST) is
recorded in `failures` and fails the test at context exit.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import secrets
import time
import uuid
from typing import Any

from aiohttp import web

from fakes.http import FakeHttpServer, Recorded
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


class FakeKontur(FakeHttpServer):
    def __init__(self, *, username: str = "netbot", password: str = "fake-kontur-pass",
                 client_id: str = "kontur_platform", expires_in: float = 300,
                 refresh_expires_in: float = 1800, default_timeout: float = 5.0) -> None:  # fmt: skip
        super().__init__("fake Kontur", default_timeout=default_timeout)
        self.username, self.password, self.client_id = username, password, client_id
        self.expires_in, self.refresh_expires_in = expires_in, refresh_expires_in
        self.feeds: dict[str, list[dict[str, Any]]] = {}
        self.issued: list[str] = []  # every access and refresh token ever issued
        self.first_served: dict[str, float] = {}  # eventId -> monotonic time first sent
        self.added_at: dict[str, float] = {}  # eventId -> monotonic time added
        self._tokens: dict[str, float] = {}  # access token -> expiry (monotonic)
        self._refresh: dict[str, float] = {}
        self.add_route("GET", API_PATH, self._search, name="api")
        self.add_route("POST", TOKEN_PATH, self._token, name="token")

    @property
    def api_url(self) -> str:
        return self.url_for(API_PATH)

    @property
    def token_url(self) -> str:
        return self.url_for(TOKEN_PATH)

    # -- test controls ----------------------------------------------------------------------

    def add_event(self, event: dict[str, Any], feed: str = "kontur-public") -> dict[str, Any]:
        """Add (or replace, by eventId) an event; safe to call while the bot polls."""
        events = self.feeds.setdefault(feed, [])
        events[:] = [e for e in events if e["eventId"] != event["eventId"]] + [event]
        events.sort(key=lambda e: moment(e["updatedAt"]))
        self.added_at[event["eventId"]] = time.monotonic()
        return event

    def fail_next(self, status: int = 500, *, times: int = 1, route: str | None = "api") -> None:
        """The base's, aimed at the search unless told: a client asks for a token rarely, so
        a fault meant for "the next request" would otherwise hit whichever comes first."""
        super().fail_next(status, times=times, route=route)

    def delay_next(self, seconds: float, *, times: int = 1, route: str | None = "api") -> None:
        """The base's, aimed at the search unless told (see `fail_next`)."""
        super().delay_next(seconds, times=times, route=route)

    def malformed_next(self, times: int = 1) -> None:
        """The next `times` searches answer 200 with truncated JSON."""
        self.answer_next(200, '{"pageMetadata": {', times=times, route="api")

    def expire_tokens(self, *, refresh_too: bool = False) -> None:
        self._tokens = dict.fromkeys(self._tokens, 0.0)
        if refresh_too:
            self._refresh = dict.fromkeys(self._refresh, 0.0)

    def api_requests(self) -> list[Recorded]:
        return self.requests_to("api")

    def token_requests(self) -> list[Recorded]:
        return self.requests_to("token")

    # -- handlers ---------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type = form.get("grant_type")
        now = time.monotonic()
        ok = form.get("client_id") == self.client_id and (
            (grant_type == "password" and form.get("username") == self.username
             and form.get("password") == self.password)
            or (grant_type == "refresh_token"
                and self._refresh.get(str(form.get("refresh_token")), 0.0) > now)
        )  # fmt: skip
        if not ok:
            refusal = {"error": "invalid_grant", "error_description": "Invalid user credentials"}
            return web.json_response(refusal, status=401)
        access, refresh = f"acc-{secrets.token_hex(16)}", f"ref-{secrets.token_hex(16)}"
        self._tokens[access] = now + self.expires_in
        self._refresh[refresh] = now + self.refresh_expires_in
        self.issued += [access, refresh]
        return web.json_response(
            {"access_token": access, "expires_in": self.expires_in, "token_type": "Bearer",
             "refresh_token": refresh, "refresh_expires_in": self.refresh_expires_in}
        )  # fmt: skip

    async def _search(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or self._tokens.get(token, 0.0) <= time.monotonic():
            return web.json_response({"error": "unauthorized"}, status=401)
        if q.get("episodeFilterType") != "LATEST":
            self.failures.append(f"episodeFilterType={q.get('episodeFilterType')!r}, not LATEST")
        try:
            order, limit = q.get("sortOrder", "ASC"), int(q.get("limit", "20"))
            after = parse_time(q["after"].replace(" ", "+")) if "after" in q else None
            assert order in ("ASC", "DESC") and 1 <= limit <= 1000 and "feed" in q
        except (ValueError, AssertionError) as exc:
            self.failures.append(f"bad search query {q}: {exc!r}")
            return web.json_response({"error": "bad"}, status=400)
        events = self.feeds.get(q["feed"], [])
        if order == "DESC":
            events = events[::-1]
        if after is not None:
            later = (lambda t: t > after) if order == "ASC" else (lambda t: t < after)
            events = [e for e in events if later(moment(e["updatedAt"]))]
        page = events[:limit]
        if not page:
            return web.Response(status=204)
        for event in page:
            self.first_served.setdefault(event["eventId"], time.monotonic())
        body = {"pageMetadata": {"nextAfterValue": page[-1]["updatedAt"]}, "data": page}
        return web.Response(text=json.dumps(body), content_type="application/json")
