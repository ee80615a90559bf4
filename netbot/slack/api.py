"""The drainer's Slack calls, on `SlackTarget` (netbot.slack.target), with its failures
sorted by what the outbox should do next.

Why this sort differs from the target's: the outbox must not lose a mirror, so what an
operator can fix (the bot not invited to a channel, a missing scope, a revoked token) is
retried with backoff rather than given up; only what no retry can fix (the content refused,
an archived or unknown channel) is given up, with a log line. And whether Slack may have
done a call decides whether the drainer looks for the message before posting again: a 429
or a refused connection means no; a timeout or a 5xx means maybe.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from netbot.chat import Post, PostRef, Rejected
from netbot.slack.drainer import Retry
from netbot.slack.target import SlackRejected, SlackTarget, SlackUnavailable, slack_call

T = TypeVar("T")

# Refusals an operator fixes in Slack (invite the bot, add a scope, reinstall the app).
FIXABLE = frozenset({
    "not_in_channel", "missing_scope", "invalid_auth", "not_authed", "token_revoked",
    "token_expired", "account_inactive", "no_permission", "ekm_access_denied",
})  # fmt: skip
# Failures after which Slack surely did nothing.
NOT_DONE = frozenset({"ratelimited", "rate_limited", "HTTP 429", "ClientConnectorError"})
PAGE = 200


class WebApi:
    """`netbot.slack.drainer.SlackApi` on a `SlackTarget` (one client for every channel)."""

    def __init__(self, target: SlackTarget) -> None:
        self.target = target
        self.client = target.client

    async def post(
        self,
        channel: str,
        post: Post,
        *,
        metadata: dict[str, Any],
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> str:
        target = self.target.for_channel(channel)
        if thread_ts is None:
            ref = await sorted_failures(target.post(post, metadata=metadata))
        else:
            parent = PostRef(target.name, channel, thread_ts)
            ref = await sorted_failures(target.reply(parent, post, broadcast, metadata=metadata))
        return ref.message_id

    async def edit(self, channel: str, ts: str, post: Post) -> None:
        await sorted_failures(self.target.edit(PostRef(self.target.name, channel, ts), post))

    async def delete(self, channel: str, ts: str) -> None:
        await sorted_failures(self.target.delete(PostRef(self.target.name, channel, ts)))

    async def find(self, channel: str, outbox_id: int, thread_ts: str | None) -> str | None:
        thread = None if thread_ts is None else PostRef(self.target.name, channel, thread_ts)
        ref = await sorted_failures(self.target.for_channel(channel).find(outbox_id, thread=thread))
        return None if ref is None else ref.message_id

    async def create_channel(self, name: str, topic: str, *, adopt: bool) -> str:
        place = f"channel #{name}"
        try:
            answer = await sorted_failures(
                slack_call("create a channel", place, self.client.conversations_create(name=name))
            )
            channel = str(answer["channel"]["id"])
        except SlackRejected as exc:
            if not (adopt and exc.error == "name_taken"):
                raise
            channel = await self._channel_named(name)
        if topic:
            await sorted_failures(slack_call("set a topic", place,
                                        self.client.conversations_setTopic(channel=channel,
                                                                           topic=topic)))  # fmt: skip
        return channel

    async def _channel_named(self, name: str) -> str:
        """The id of the public channel `name` (after a crash, the one an earlier try made)."""
        cursor: str | None = None
        while True:
            page = await sorted_failures(slack_call("list channels", "the workspace",
                self.client.conversations_list(types="public_channel", exclude_archived=True,
                                               limit=PAGE, cursor=cursor)))  # fmt: skip
            for channel in page.get("channels") or []:
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise Rejected("slack", f"name_taken: no channel named {name} to take over")

    async def archive_channel(self, channel: str) -> None:
        call = self.client.conversations_archive(channel=channel)
        try:
            await sorted_failures(slack_call("archive a channel", f"channel {channel}", call))
        except SlackRejected as exc:
            if exc.error != "already_archived":
                raise


async def sorted_failures(call: Awaitable[T]) -> T:
    """Await a target call; its failure as the drainer's `Retry` or `Rejected`."""
    try:
        return await call
    except SlackUnavailable as exc:
        retry_after = exc.retry_after
        raise Retry(exc.message, maybe_sent=exc.error not in NOT_DONE,
                    retry_after=retry_after) from exc  # fmt: skip
    except SlackRejected as exc:  # already a `Rejected`, the same "slack" backend and message
        if exc.error in FIXABLE:
            raise Retry(exc.message, maybe_sent=False) from exc
        raise
