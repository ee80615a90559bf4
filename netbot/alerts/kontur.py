"""Client for the Kontur Event API: OAuth2 password-grant token, paged feed search, retries.

The client fetches and checks the *shape* of what the API returns; it never interprets events
(severity, type, population...): the rules engine does that. Secrets (password, tokens, the
Authorization header) never reach a log line, an exception message or a URL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from netbot.core.errors import BackendError
from netbot.core.secrets import Secret
from netbot.core.times import iso_utc, parse_time

log = logging.getLogger(__name__)

REFRESH_MARGIN = 30.0  # seconds before expiry at which a token is renewed (at most half its life)
MAX_BACKOFF = 30.0  # cap for one backoff sleep, Retry-After included
DEFAULT_EXPIRES_IN = 60.0  # token lifetime assumed when the token endpoint does not say


class KonturError(BackendError):
    """Base of every client error; ``message`` is one line and free of secrets."""

    def __init__(self, message: str) -> None:
        super().__init__("kontur", message)


class KonturUnavailable(KonturError):
    """The API or the token endpoint is down: connection errors, timeouts, 429/5xx after retries."""


class KonturAuthError(KonturError):
    """The token endpoint refused us, the API kept answering 401 after a fresh token, or 403."""


class KonturBadResponse(KonturError):
    """A body that is not the documented shape: bad JSON, missing keys, events without ids."""


@dataclass(frozen=True)
class FeedPage:
    """Events in ascending `updatedAt` order and the cursor to pass as `after` next time.

    ``cursor`` is the newest `updatedAt` reached, or the `after` given when nothing was new.
    ``more`` is True when `max_pages` stopped the paging before the feed was exhausted.
    ``problems`` has one line per element left out: no object, no eventId or updatedAt, or
    dated beyond the horizon.
    """

    events: list[dict[str, Any]]
    cursor: dt.datetime | None
    more: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class _Token:
    access: str
    expires_at: float
    refresh: str | None
    refresh_expires_at: float


def _one_line(text: object, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _event_problem(event: Any, index: int) -> str | None:
    """Why element `index` of `data` cannot be used (no object, eventId or updatedAt), or None."""
    if not isinstance(event, dict):
        return f"data[{index}]: not an object"
    if not isinstance(event.get("eventId"), str) or not event["eventId"]:
        return f"data[{index}]: no eventId"
    try:
        parse_time(event.get("updatedAt"))
    except ValueError as exc:
        return f"event {event['eventId'][:100]}: no valid updatedAt ({_one_line(exc, 80)})"
    return None


def _time_or_none(text: Any) -> dt.datetime | None:
    try:
        return parse_time(text)
    except ValueError:
        return None


def page_cursor(
    data: list[Any],
    next_after: str | None,
    cursor: dt.datetime | None,
    horizon: dt.datetime | None,
) -> tuple[dt.datetime | None, list[dict[str, Any]], list[str]]:
    """The cursor after one ascending page, its usable events, and one problem line per
    element left out.

    Everything up to nextAfterValue was on the page (ASC), so it moves the cursor even past
    elements left out for their shape. Nothing dated after `horizon` (now plus an allowance
    for clock skew) is used or moves the cursor: a far-future date would otherwise silence
    the feed. The cursor never moves backwards.
    """
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    seen = [cursor] if cursor is not None else []
    for index, event in enumerate(data):
        if problem := _event_problem(event, index):
            problems.append(problem)
            continue
        updated = parse_time(event["updatedAt"])
        if horizon is not None and updated > horizon:
            problems.append(
                f"event {event['eventId'][:100]}: updatedAt {_one_line(event['updatedAt'], 40)} "
                "is ahead of now; ignored until then"
            )
            continue
        events.append(event)
        seen.append(updated)
    reached = _time_or_none(next_after)
    if reached is not None and (horizon is None or reached <= horizon):
        seen.append(reached)
    return max(seen, default=None), events, problems


class KonturClient:
    """One client per account; safe to share between concurrent tasks of one event loop."""

    def __init__(
        self,
        *,
        api_url: str,
        token_url: str,
        username: str,
        password: Secret,
        client_id: str = "kontur_platform",
        page_limit: int = 100,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= page_limit <= 1000:
            raise ValueError("page_limit must be within 1..1000")
        if retries < 1:
            raise ValueError("retries must be at least 1 (it counts attempts)")
        self.api_url = api_url
        self.token_url = token_url
        self.username = username
        self._password = password
        self.client_id = client_id
        self.page_limit = page_limit
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retries = retries
        self.backoff = backoff
        self._clock = clock
        self._session = session
        self._own_session = session is None
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"KonturClient(api_url={self.api_url!r}, username={self.username!r})"

    async def __aenter__(self) -> KonturClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None if self._own_session else self._session

    # -- feed search ------------------------------------------------------------------------

    async def fetch_since(
        self,
        feed: str,
        after: dt.datetime | None,
        *,
        horizon: dt.datetime | None = None,
        max_pages: int = 50,
    ) -> FeedPage:
        """Every event of `feed` updated strictly after `after` (and at most `horizon`),
        oldest first."""
        events: list[dict[str, Any]] = []
        problems: list[str] = []
        cursor = query_after = after
        for _ in range(max_pages):
            params = self._search_params(feed, "ASC", self.page_limit)
            if query_after is not None:
                params["after"] = iso_utc(query_after)
            page = await self._search(feed, params)
            if page is None:
                return FeedPage(events, cursor, problems=problems)
            data, next_after, size = page
            cursor, usable, trouble = page_cursor(data, next_after, cursor, horizon)
            events.extend(usable)
            problems.extend(trouble)
            if size < self.page_limit or cursor is None:
                return FeedPage(events, cursor, problems=problems)
            if query_after is not None and cursor <= query_after:
                log.info("Kontur feed %s: the cursor did not advance; stopping", feed)
                return FeedPage(events, cursor, problems=problems)
            query_after = cursor
        return FeedPage(events, cursor, more=True, problems=problems)

    async def latest_update(
        self, feed: str, *, horizon: dt.datetime | None = None
    ) -> dt.datetime | None:
        """The newest `updatedAt` in `feed` before `horizon` (None when there is none)."""
        params = self._search_params(feed, "DESC", 1)
        if horizon is not None:
            params["after"] = iso_utc(horizon)  # DESC: updatedAt < after
        page = await self._search(feed, params)
        if page is None:
            return None
        newest, _, _ = page_cursor(page[0], None, None, horizon)
        return newest

    @staticmethod
    def _search_params(feed: str, order: str, limit: int) -> dict[str, str]:
        return {
            "feed": feed,
            "episodeFilterType": "LATEST",
            "sortOrder": order,
            "limit": str(limit),
        }

    async def _search(
        self, feed: str, params: Mapping[str, str]
    ) -> tuple[list[Any], str | None, int] | None:
        """One search request: (elements, nextAfterValue, page size), or None for 204."""
        what = f"GET events feed={feed}"
        token = await self._access_token()
        status, body = await self._send("GET", self.api_url, what, params=params, bearer=token)
        if status == 401:
            log.debug("Kontur %s: 401, getting a new token and retrying once", what)
            await self._drop_token(token)
            token = await self._access_token()
            status, body = await self._send("GET", self.api_url, what, params=params, bearer=token)
            if status == 401:
                raise KonturAuthError(f"Kontur API refused a fresh token (401) for feed {feed}")
        if status == 403:
            raise KonturAuthError(
                f"Kontur API forbids feed {feed} (403): the account needs role read:feed:{feed}"
            )
        if status == 204:
            return None
        if status != 200:
            raise KonturError(f"Kontur API answered HTTP {status} for feed {feed}")
        return self._parse_page(body, feed)

    @staticmethod
    def _parse_page(body: bytes, feed: str) -> tuple[list[Any], str | None, int]:
        """The page's elements, nextAfterValue (text, not yet checked), and how many elements."""

        def bad(why: str) -> KonturBadResponse:
            return KonturBadResponse(f"Kontur API feed {feed}: {why}")

        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise bad(f"body is not JSON ({_one_line(exc, 80)})") from None
        if not isinstance(doc, dict):
            raise bad(f"body is a JSON {type(doc).__name__}, not an object")
        if "data" not in doc or "pageMetadata" not in doc:
            raise bad("body lacks 'data' or 'pageMetadata'")
        data, meta = doc["data"], doc["pageMetadata"]
        if not isinstance(data, list):
            raise bad(f"'data' is a {type(data).__name__}, not a list")
        if meta is not None and not isinstance(meta, dict):
            raise bad("'pageMetadata' is not an object")
        next_after = (meta or {}).get("nextAfterValue")
        if next_after is not None and not isinstance(next_after, str):
            raise bad("pageMetadata.nextAfterValue is not a timestamp")
        return data, next_after, len(data)

    # -- token ------------------------------------------------------------------------------

    async def _access_token(self) -> str:
        async with self._token_lock:
            now = self._clock()
            token = self._token
            if token is not None and now < token.expires_at:
                return token.access
            if token is not None and token.refresh and now < token.refresh_expires_at:
                try:
                    self._token = await self._grant(
                        {"grant_type": "refresh_token", "refresh_token": token.refresh}
                    )
                    return self._token.access
                except KonturAuthError:
                    log.debug("Kontur token refresh refused; signing in again")
            self._token = await self._grant(
                {
                    "grant_type": "password",
                    "username": self.username,
                    "password": self._password.reveal(),
                }
            )
            return self._token.access

    async def _drop_token(self, rejected: str) -> None:
        """Forget `rejected` (if still current) so the next call signs in from scratch."""
        async with self._token_lock:
            if self._token is not None and self._token.access == rejected:
                self._token = None

    async def _grant(self, form: dict[str, str]) -> _Token:
        grant = form["grant_type"]
        what = f"POST token grant={grant}"
        status, body = await self._send(
            "POST", self.token_url, what, data={**form, "client_id": self.client_id}
        )
        if status != 200:
            reason = ""
            try:
                doc = json.loads(body)
                reason = f": {_one_line(doc.get('error', ''), 40)}" if doc.get("error") else ""
            except (ValueError, AttributeError):
                pass
            raise KonturAuthError(
                f"Kontur token endpoint refused the {grant} grant (HTTP {status}{reason})"
            )
        try:
            doc = json.loads(body)
            access = doc["access_token"]
            expires_in = float(doc.get("expires_in") or DEFAULT_EXPIRES_IN)
            refresh = doc.get("refresh_token") or None
            refresh_expires_in = float(doc.get("refresh_expires_in") or 0)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise KonturBadResponse("Kontur token endpoint sent no usable access_token") from None
        if not isinstance(access, str) or not access:
            raise KonturBadResponse("Kontur token endpoint sent no usable access_token")
        now = self._clock()
        margin = min(REFRESH_MARGIN, expires_in / 2)
        refresh_margin = min(REFRESH_MARGIN, refresh_expires_in / 2)
        return _Token(
            access=access,
            expires_at=now + expires_in - margin,
            refresh=refresh if isinstance(refresh, str) else None,
            refresh_expires_at=now + refresh_expires_in - refresh_margin,
        )

    # -- transport --------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._own_session and self._session.closed):
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._own_session = True
        return self._session

    async def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        bearer: str | None = None,
    ) -> tuple[int, bytes]:
        """(status, body), retrying connection errors, timeouts, 429 and 5xx with backoff."""
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        problem = ""
        for attempt in range(1, self.retries + 1):
            retry_after = 0.0
            try:
                async with self._get_session().request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout
                ) as response:
                    body = await response.read()
                    status = response.status
            except TimeoutError:
                problem = f"no answer within {self.timeout.total}s"
            except aiohttp.ClientError as exc:
                problem = f"{type(exc).__name__}: {_one_line(exc, 120)}"
            else:
                if status != 429 and status < 500:
                    return status, body
                problem = f"HTTP {status}"
                retry_after = self._retry_after(response.headers.get("Retry-After"))
            if attempt == self.retries:
                break
            delay = min(MAX_BACKOFF, max(self.backoff * 2 ** (attempt - 1), retry_after))
            log.debug(
                "Kontur %s attempt %d/%d failed (%s); retrying in %.2fs",
                what, attempt, self.retries, problem, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
        log.debug("Kontur %s failed %d time(s); giving up (%s)", what, self.retries, problem)
        raise KonturUnavailable(f"Kontur {what} failed after {self.retries} attempt(s): {problem}")

    @staticmethod
    def _retry_after(value: str | None) -> float:
        try:
            return max(0.0, float(value)) if value else 0.0
        except ValueError:
            return 0.0
