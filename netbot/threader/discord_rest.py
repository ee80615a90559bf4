"""A small Discord REST client for the threader: aiohttp, no gateway, no `discord` import.

The threader runs as its own process (cron or a service) and reads Discord only through
REST, so it needs no privileged gateway connection and never competes with the bot's.
Rate limits are honoured as Discord documents them: a 429 waits `retry_after` (the global
limit stops every route; a route's limit only that route's bucket), and a bucket whose
`X-RateLimit-Remaining` reached 0 waits for its reset before the next call. 5xx answers
and broken connections are retried with backoff; every other 4xx is raised at once (a 403
retried in a loop gets the IP banned).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from netbot.core.secrets import Secret

log = logging.getLogger(__name__)

API_VERSION = 10
RETRIES = 6
CONNECT_RETRIES = 3
BACKOFF_SECONDS = 0.5
MAX_WAIT_SECONDS = 60.0  # a longer retry_after is an outage, not a pause
# No one is ever pinged by what the threader posts.
NO_MENTIONS: dict[str, Any] = {"parse": []}


class DiscordError(Exception):
    """Discord answered with an error: `status` and Discord's JSON error `code`."""

    def __init__(self, status: int, code: int, message: str, route: str) -> None:
        super().__init__(f"Discord answered {status} (code {code}: {message}) for {route}")
        self.status, self.code, self.route = status, code, route


class DiscordUnavailable(Exception):
    """Discord did not answer usefully (5xx, timeouts, rate-limited too long) after retries."""


@dataclass(frozen=True)
class Webhook:
    id: int
    token: Secret


def _route_key(method: str, path: str) -> str:
    """Discord's bucket key: the path with ids replaced, except the major parameter."""
    path = re.sub(r"^/webhooks/(\d+)/[^/]+", r"/webhooks/\1/:token", path)  # never the token
    major = re.match(r"/(channels|guilds|webhooks)/(\d+)", path)
    generic = re.sub(r"/\d+", "/:id", path)
    return f"{method} {generic} {major.group(2) if major else ''}"


class DiscordRest:
    """Discord's REST API at `base_url` (DISCORD_API_BASE_URL, `{API_VERSION}` filled in)."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        timeout: float = 15.0,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.replace("{API_VERSION}", str(API_VERSION)).rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._sleep = sleep
        self._global_until = 0.0
        self._bucket_until: dict[str, float] = {}
        self.requests = 0

    def __repr__(self) -> str:  # never the token
        return f"DiscordRest({self.base_url!r})"

    async def __aenter__(self) -> DiscordRest:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _wait_for_limits(self, key: str) -> None:
        until = max(self._global_until, self._bucket_until.get(key, 0.0))
        delay = until - time.monotonic()
        if delay > 0:
            await self._sleep(delay)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """One API call, retried as the module says; the JSON answer (None for 204)."""
        key = _route_key(method, path)
        url = self.base_url + path
        headers = {"User-Agent": "netbot-threader (https://github.com/netbot, 1)"}
        if auth:
            headers["Authorization"] = f"Bot {self._token.reveal()}"
        for attempt in range(RETRIES):
            await self._wait_for_limits(key)
            self.requests += 1
            try:
                async with self._client().request(
                    method, url, json=body, params=params, headers=headers
                ) as answer:
                    status = answer.status
                    text = await answer.text()
                    self._note_bucket(key, answer.headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                # A refused connection is an outage, not a blip: give up sooner.
                refused = isinstance(exc, aiohttp.ClientConnectorError)
                if attempt >= (CONNECT_RETRIES if refused else RETRIES) - 1:
                    raise DiscordUnavailable(f"Discord unreachable for {key}: {exc!r}") from None
                await self._sleep(BACKOFF_SECONDS * 2**attempt)
                continue
            data = _json(text)
            if status == 429:
                wait = float(data.get("retry_after", 1.0)) if isinstance(data, dict) else 1.0
                if wait > MAX_WAIT_SECONDS or attempt == RETRIES - 1:
                    raise DiscordUnavailable(f"Discord rate-limited {key} for {wait:g} s")
                until = time.monotonic() + wait
                if isinstance(data, dict) and data.get("global"):
                    self._global_until = until
                else:
                    self._bucket_until[key] = until
                log.info("discord: 429 on %s, waiting %.2f s", key, wait)
                continue
            if status >= 500:
                if attempt == RETRIES - 1:
                    raise DiscordUnavailable(f"Discord answered {status} for {key}")
                await self._sleep(BACKOFF_SECONDS * 2**attempt)
                continue
            if status >= 400:
                code = data.get("code", 0) if isinstance(data, dict) else 0
                message = data.get("message", "") if isinstance(data, dict) else ""
                raise DiscordError(status, int(code), str(message)[:200], key)
            return data
        raise AssertionError("unreachable")

    def _note_bucket(self, key: str, headers: Any) -> None:
        if headers.get("X-RateLimit-Remaining") == "0":
            try:
                after = float(headers.get("X-RateLimit-Reset-After", "0"))
            except ValueError:
                return
            self._bucket_until[key] = time.monotonic() + min(after, MAX_WAIT_SECONDS)

    # --- the calls the threader makes ----------------------------------------------------

    async def me(self) -> dict[str, Any]:
        user: dict[str, Any] = await self.request("GET", "/users/@me")
        return user

    async def active_threads(self, guild_id: int) -> list[dict[str, Any]]:
        answer = await self.request("GET", f"/guilds/{guild_id}/threads/active")
        threads: list[dict[str, Any]] = answer.get("threads", [])
        return threads

    async def channel(self, channel_id: int) -> dict[str, Any] | None:
        """The channel or thread (archived ones too); None when it no longer exists."""
        try:
            found: dict[str, Any] = await self.request("GET", f"/channels/{channel_id}")
        except DiscordError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    async def messages(
        self, channel_id: int, *, before: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Up to `limit` messages, newest first (before `before` when given)."""
        params = {"limit": str(limit)}
        if before is not None:
            params["before"] = str(before)
        found: list[dict[str, Any]] = await self.request(
            "GET", f"/channels/{channel_id}/messages", params=params
        )
        return found

    async def messages_since(
        self, channel_id: int, after: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Every message newer than `after`, and at least the newest 100, oldest first; and
        whether that is the whole thread (the last page came back short).

        Read backwards from the newest (pages of 100 `before` the oldest seen), which both
        Discord and simple fakes answer the same way, until a page reaches `after`."""
        found: list[dict[str, Any]] = []
        before: int | None = None
        while True:
            page = await self.messages(channel_id, before=before)
            found.extend(page)
            if len(page) < 100:
                complete = True
                break
            if int(page[-1]["id"]) <= after:
                complete = False
                break
            before = int(page[-1]["id"])
        return sorted(found, key=lambda m: int(m["id"])), complete

    async def webhook_for(self, channel_id: int, name: str) -> Webhook:
        """The channel's webhook named `name` that this application can use, created once
        (Discord allows 15 per channel: one per channel, never one per message)."""
        hooks = await self.request("GET", f"/channels/{channel_id}/webhooks")
        for hook in hooks:
            if hook.get("name") == name and hook.get("token"):
                return Webhook(int(hook["id"]), Secret(hook["token"]))
        hook = await self.request("POST", f"/channels/{channel_id}/webhooks", body={"name": name})
        return Webhook(int(hook["id"]), Secret(hook["token"]))

    async def execute_webhook(
        self, hook: Webhook, thread_id: int, content: str, username: str
    ) -> dict[str, Any]:
        """Post `content` in the thread as `username`; the message (wait=true) with its id."""
        body = {"content": content, "username": username, "allowed_mentions": NO_MENTIONS}
        message: dict[str, Any] = await self.request(
            "POST",
            f"/webhooks/{hook.id}/{hook.token.reveal()}",
            body=body,
            params={"wait": "true", "thread_id": str(thread_id)},
            auth=False,
        )
        return message

    async def edit_webhook_message(
        self, hook: Webhook, thread_id: int, message_id: int, content: str
    ) -> None:
        await self.request(
            "PATCH",
            f"/webhooks/{hook.id}/{hook.token.reveal()}/messages/{message_id}",
            body={"content": content, "allowed_mentions": NO_MENTIONS},
            params={"thread_id": str(thread_id)},
            auth=False,
        )

    async def delete_webhook_message(self, hook: Webhook, thread_id: int, message_id: int) -> None:
        """Delete a message the webhook posted (already gone: fine, that was the point)."""
        try:
            await self.request(
                "DELETE",
                f"/webhooks/{hook.id}/{hook.token.reveal()}/messages/{message_id}",
                params={"thread_id": str(thread_id)},
                auth=False,
            )
        except DiscordError as exc:
            if exc.status != 404:
                raise

    async def set_archived(self, thread_id: int, archived: bool) -> None:
        await self.request("PATCH", f"/channels/{thread_id}", body={"archived": archived})

    async def create_thread(self, channel_id: int, name: str) -> dict[str, Any]:
        thread: dict[str, Any] = await self.request(
            "POST", f"/channels/{channel_id}/threads", body={"name": name[:100], "type": 11}
        )
        return thread

    async def download(self, url: str, limit: int) -> bytes | None:
        """An attachment's bytes from Discord's CDN; None when larger than `limit`."""
        async with self._client().get(url) as answer:
            if answer.status != 200:
                raise DiscordError(answer.status, 0, "attachment download failed", "GET cdn")
            data = bytearray()
            async for chunk in answer.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:  # never hold more than the limit and a chunk
                    return None
        return bytes(data)


def _json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
