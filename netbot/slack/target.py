"""The Slack chat target: a `netbot.chat.Post` shown in one Slack channel, through slack_sdk.

Why this shape: it is the same `Target` as Discord's (post, edit, delete), plus `reply` in a
thread, so a capability's posts reach Slack without knowing Slack. Rendering and escaping
are `netbot.slack.text`'s (Block Kit and a fallback; nothing from outside can ping or hide a
link).

Failures are sorted for the outbox drainer: `SlackRejected` (a `chat.Rejected`) when sending
the same thing again cannot work (`channel_not_found`, `not_in_channel`, `is_archived`,
`missing_scope`, `invalid_auth`, `msg_too_long`, ...: every `ok: false` answer not listed in
`RETRYABLE`), `SlackUnavailable` (a `BackendError`, with `retry_after` when Slack said) when
it may work later: HTTP 429, 5xx, a timeout, a refused or broken connection. slack_sdk
retries only connection errors by default; `slack_client` adds its rate-limit and
server-error handlers, with `max_retries` each: the drainer wants few retries inside the
client (which sleeps inline) and does its own backoff.

Every post may carry the outbox id in Slack's message metadata (`outbox_metadata`), so after a
crash between Slack's answer and the local record the drainer can `find` the message instead
of posting it twice. A delete of a message that is already gone counts as done (the same
crash, on a delete).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.web.async_client import AsyncWebClient

from netbot.chat import Post, PostRef, Rejected
from netbot.core.errors import BackendError
from netbot.core.text import clip
from netbot.slack.text import message

T = TypeVar("T")

EVENT_TYPE = "netbot_outbox"  # the metadata event_type marking netbot's own messages
# `ok: false` errors that may pass: everything else Slack refuses is refused for good.
RETRYABLE = frozenset(
    {"ratelimited", "rate_limited", "fatal_error", "internal_error", "service_unavailable",
     "request_timeout", "team_added_to_org"}
)  # fmt: skip
# Scopes: posting; names and icons of our own choosing; per-incident channels; finding a
# message by its outbox id after a crash (conversations.history / replies).
POST_SCOPES = frozenset({"chat:write", "channels:history"})
CUSTOMIZE_SCOPE = "chat:write.customize"
CHANNEL_SCOPES = frozenset({"channels:manage", "channels:read"})


class SlackRejected(Rejected):
    """Slack refused, and would refuse again: `error` is Slack's code (`needed` names the
    missing scope for `missing_scope`)."""

    def __init__(self, message: str, error: str, needed: str | None = None) -> None:
        super().__init__("slack", message)
        self.error, self.needed = error, needed


class SlackUnavailable(BackendError):
    """Slack could not take the call now (429, 5xx, timeout, network); `retry_after` is
    Slack's own advice in seconds, when it gave one."""

    def __init__(self, message: str, error: str, retry_after: float | None = None) -> None:
        super().__init__("slack", message)
        self.error, self.retry_after = error, retry_after


class ProportionalJitter(Jitter):
    """Up to half the interval again, at random: slack_sdk's own jitter adds up to a whole
    second to every retry, which would dwarf a small backoff."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 2)


def slack_client(
    token: str,
    *,
    base_url: str | None = None,
    max_retries: int = 1,
    backoff: float = 0.5,
    timeout: float = 30.0,
) -> AsyncWebClient:
    """An `AsyncWebClient` that retries 429 (after `Retry-After`), HTTP 500/503 (backing off
    `backoff` * 2^n s, plus up to half that) and connection errors, each at most
    `max_retries` times."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=ProportionalJitter())
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
        AsyncRateLimitErrorRetryHandler(max_retry_count=max_retries),
        AsyncServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
    ]
    return AsyncWebClient(
        token=token,
        base_url=base_url or AsyncWebClient.BASE_URL,
        timeout=int(max(timeout, 1)),
        retry_handlers=handlers,
    )


def required_scopes(*, customize: bool = False, channels: bool = False) -> frozenset[str]:
    """The bot token scopes the bridge needs for what it is configured to do."""
    needed = set(POST_SCOPES)
    if customize:
        needed.add(CUSTOMIZE_SCOPE)
    if channels:
        needed |= CHANNEL_SCOPES
    return frozenset(needed)


async def missing_scopes(client: AsyncWebClient, needed: Iterable[str]) -> set[str]:
    """The scopes in `needed` the client's token lacks, from auth.test's `x-oauth-scopes`
    header (checked at start-up, not at the first failed post). Raises like a post would
    (`SlackRejected` for a bad token, `SlackUnavailable` when Slack is down)."""
    response = await slack_call("check its token", "Slack", client.auth_test())
    granted = str(response.headers.get("x-oauth-scopes", ""))
    return set(needed) - {scope.strip() for scope in granted.split(",") if scope.strip()}


def outbox_metadata(outbox_id: int | str) -> dict[str, Any]:
    """Slack message metadata naming the outbox row a message delivers."""
    return {"event_type": EVENT_TYPE, "event_payload": {"outbox_id": str(outbox_id)}}


def outbox_id_of(slack_message: dict[str, Any]) -> str | None:
    """The outbox id in a message read back with `include_all_metadata`, if it is ours."""
    metadata = slack_message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    value = (metadata.get("event_payload") or {}).get("outbox_id")
    return None if value is None else str(value)


class SlackTarget:
    """Posts into one Slack channel (`place` names it in errors: "the #alerts Slack channel").
    `for_channel` gives a target for another channel on the same client."""

    name = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        place: str = "a Slack channel",
        *,
        username: str | None = None,
        icon_url: str | None = None,
    ) -> None:
        self.client, self.channel, self.place = client, channel, place
        self.username, self.icon_url = username, icon_url

    def for_channel(self, channel: str, place: str | None = None) -> SlackTarget:
        return SlackTarget(self.client, channel, place or f"Slack channel {channel}",
                           username=self.username, icon_url=self.icon_url)  # fmt: skip

    async def post(self, post: Post, *, metadata: dict[str, Any] | None = None) -> PostRef:
        return await self._send(post, metadata, "post")

    async def reply(
        self,
        parent: PostRef,
        post: Post,
        broadcast: bool = False,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> PostRef:
        """A reply in `parent`'s thread (also shown in the channel when `broadcast`)."""
        thread = {"thread_ts": parent.message_id, "reply_broadcast": broadcast or None}
        return await self._send(post, metadata, "reply in a thread", **thread)

    async def edit(self, ref: PostRef, post: Post) -> None:
        call = self.client.chat_update(channel=ref.channel_id, ts=ref.message_id, **message(post))
        await slack_call("edit a post", self.place, call)

    async def delete(self, ref: PostRef) -> None:
        try:
            await slack_call("delete a post", self.place,
                        self.client.chat_delete(channel=ref.channel_id, ts=ref.message_id))  # fmt: skip
        except SlackRejected as exc:
            if exc.error != "message_not_found":  # already gone: what a delete wants
                raise

    async def find(
        self,
        outbox_id: int | str,
        *,
        thread: PostRef | None = None,
        oldest: str | None = None,
        pages: int = 5,
        page_size: int = 200,
    ) -> PostRef | None:
        """The message delivering `outbox_id`, if Slack has it: searched in the channel's
        history (newest first, after `oldest` ts), or in `thread`'s replies, at most `pages`
        pages of `page_size` (the history methods are rate-limited: call this only when in doubt)."""
        cursor: str | None = None
        for _ in range(pages):
            if thread is None:
                call = self.client.conversations_history(
                    channel=self.channel, include_all_metadata=True, oldest=oldest,
                    limit=page_size, cursor=cursor)  # fmt: skip
            else:
                call = self.client.conversations_replies(
                    channel=thread.channel_id, ts=thread.message_id, include_all_metadata=True,
                    oldest=oldest, limit=page_size, cursor=cursor)  # fmt: skip
            page = await slack_call("look for a post", self.place, call)
            for found in page.get("messages") or []:
                if outbox_id_of(found) == str(outbox_id):
                    return PostRef(self.name, thread.channel_id if thread else self.channel,
                                   str(found["ts"]))  # fmt: skip
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
        return None

    async def _send(
        self, post: Post, metadata: dict[str, Any] | None, action: str, **extra: Any
    ) -> PostRef:
        kwargs = {**message(post), **extra, "metadata": metadata, "unfurl_links": False,
                  "unfurl_media": False, "username": self.username, "icon_url": self.icon_url}  # fmt: skip
        channel = self.channel
        sent = await slack_call(
            action, self.place, self.client.chat_postMessage(channel=channel, **kwargs)
        )
        return PostRef(self.name, str(sent.get("channel") or channel), str(sent["ts"]))


async def slack_call(action: str, place: str, call: Awaitable[T]) -> T:
    """Await one Web API call, its failure sorted into `SlackRejected` or `SlackUnavailable`
    with one line saying what failed (never the token)."""
    try:
        return await call
    except SlackApiError as exc:
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        status = response.status_code
        error = str(data.get("error") or f"HTTP {status}")
        line = f"Slack refused to {action} in {place}: {error}"
        if status == 429 or status >= 500 or error in RETRYABLE:
            after = response.headers.get("Retry-After") if response.headers else None
            retry_after = float(after) if after and str(after).isdigit() else None
            raise SlackUnavailable(line, error, retry_after) from exc
        needed = data.get("needed")
        if needed:
            line += f" (needs the {needed} scope)"
        raise SlackRejected(line, error, needed) from exc
    except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
        why = clip(" ".join(str(exc).split()) or type(exc).__name__, 200)
        raise SlackUnavailable(f"Slack unreachable to {action} in {place}: {why}",
                               type(exc).__name__) from exc  # fmt: skip
