"""The fake Slack behaves like Slack where the bridge depends on it, and its contract check
catches what Slack would not accept or never answer.

Why: the bridge's delivery guarantees are only as good as the fake that proves them; these
tests drive the fake with slack_sdk's own clients (no retry handlers unless said, so every
answer is seen as sent) and assert Slack's semantics: errors, scopes, pacing, paging,
threads, metadata, outages and Socket Mode redelivery.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from fakes.slack import FakeSlack, contract

TS = re.compile(r"^\d{10}\.\d{6}$")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(pace_interval=0) as server:
        yield server


def client_of(fake: FakeSlack, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
    """A plain client: slack_sdk's default handlers only (no 429/5xx retries)."""
    return AsyncWebClient(token=token or fake.token, base_url=fake.base_url, **kwargs)


async def refused(call: Any) -> dict[str, Any]:
    """The answer of a call Slack refuses (SlackApiError), with its HTTP status."""
    with pytest.raises(SlackApiError) as caught:
        await call
    response = caught.value.response
    data = response.data if isinstance(response.data, dict) else {}
    return {**data, "status": response.status_code, "headers": response.headers}


async def test_messages_threads_and_metadata_read_back_as_slack_shows_them(
    fake: FakeSlack,
) -> None:
    channel = fake.add_channel("alerts")
    client = client_of(fake)
    meta = {"event_type": "netbot_outbox", "event_payload": {"outbox_id": "7"}}
    parent = await client.chat_postMessage(channel=channel, text="parent", metadata=meta)
    quiet = await client.chat_postMessage(channel=channel, text="r1", thread_ts=parent["ts"])
    loud = await client.chat_postMessage(
        channel=channel, text="r2", thread_ts=quiet["ts"], reply_broadcast=True
    )
    stamps = [parent["ts"], quiet["ts"], loud["ts"]]
    assert all(TS.match(ts) for ts in stamps) and stamps == sorted(set(stamps))
    # a reply to a reply joins the parent's thread
    assert [m.thread_ts for m in fake.messages(channel)] == [parent["ts"]] * 3

    plain = await client.conversations_history(channel=channel)
    assert [m["text"] for m in plain["messages"]] == ["r2", "parent"]  # no quiet reply
    assert all("metadata" not in m for m in plain["messages"])
    assert plain["messages"][1]["reply_count"] == 2
    full = await client.conversations_history(channel=channel, include_all_metadata=True)
    assert full["messages"][1]["metadata"] == meta

    thread = await client.conversations_replies(
        channel=channel, ts=parent["ts"], include_all_metadata=True
    )
    assert [m["text"] for m in thread["messages"]] == ["parent", "r1", "r2"]

    await client.chat_update(channel=channel, ts=parent["ts"], text="parent v2")
    await client.chat_delete(channel=channel, ts=quiet["ts"])
    assert fake.messages(channel)[0].edits == ["parent"]
    assert [m.text for m in fake.messages(channel)] == ["parent v2", "r2"]
    assert [m.deleted for m in fake.messages(channel, deleted=True)] == [False, True, False]
    gone = await refused(client.chat_delete(channel=channel, ts=quiet["ts"]))
    assert gone["error"] == "message_not_found"
    assert len(fake.calls_to("chat.postMessage", channel=channel)) == 3


async def test_history_pages_and_time_window(fake: FakeSlack) -> None:
    channel = fake.add_channel("busy")
    client = client_of(fake)
    stamps = [(await client.chat_postMessage(channel=channel, text=str(n)))["ts"] for n in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = await client.conversations_history(channel=channel, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page["has_more"]:
            break
    assert seen == ["4", "3", "2", "1", "0"]
    window = await client.conversations_history(channel=channel, oldest=stamps[1], latest=stamps[3])
    assert [m["text"] for m in window["messages"]] == ["2"]
    both = await client.conversations_history(
        channel=channel, oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert [m["text"] for m in both["messages"]] == ["3", "2", "1"]
    bad = await refused(client.conversations_history(channel=channel, cursor="%%%"))
    assert bad["error"] == "invalid_cursor"


async def test_tokens_and_scopes_are_checked(fake: FakeSlack) -> None:
    channel = fake.add_channel("alerts")
    assert (await refused(client_of(fake, "xoxb-wrong").auth_test()))["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=fake.base_url)
    assert (await refused(anonymous.auth_test()))["error"] == "not_authed"

    fake.scopes = frozenset({"chat:write"})
    answer = await client_of(fake).auth_test()
    assert answer.headers["x-oauth-scopes"] == "chat:write"
    missing = await refused(client_of(fake).conversations_create(name="inc-1"))
    assert missing["error"] == "missing_scope"
    assert (missing["needed"], missing["provided"]) == ("channels:manage", "chat:write")
    custom = await refused(
        client_of(fake).chat_postMessage(channel=channel, text="x", username="Alerts")
    )
    assert (custom["error"], custom["needed"]) == ("missing_scope", "chat:write.customize")
    assert fake.messages(channel) == []


@pytest.mark.parametrize(
    ("setup", "error"),
    [("unknown", "channel_not_found"), ("outsider", "not_in_channel"),
     ("archived", "is_archived")],
)  # fmt: skip
async def test_channel_refusals(fake: FakeSlack, setup: str, error: str) -> None:
    channels = {
        "unknown": "C0NOTHERE1",
        "outsider": fake.add_channel("elsewhere", member=False),
        "archived": fake.add_channel("old", archived=True),
    }
    answer = await refused(client_of(fake).chat_postMessage(channel=channels[setup], text="x"))
    assert (answer["status"], answer["ok"], answer["error"]) == (200, False, error)


async def test_join_then_post(fake: FakeSlack) -> None:
    channel = fake.add_channel("elsewhere", member=False)
    client = client_of(fake)
    await client.conversations_join(channel=channel)
    again = await client.conversations_join(channel=channel)
    assert again["warning"] == "already_in_channel"
    await client.chat_postMessage(channel=channel, text="now in")
    assert [m.text for m in fake.messages(channel)] == ["now in"]


async def test_content_limits(fake: FakeSlack) -> None:
    channel = fake.add_channel("alerts")
    client = client_of(fake)
    too_long = await refused(client.chat_postMessage(channel=channel, text="x" * 40_001))
    assert too_long["error"] == "msg_too_long"
    many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    blocks = await refused(client.chat_postMessage(channel=channel, text="x", blocks=many))
    assert blocks["error"] == "invalid_blocks"
    wide = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    assert (await refused(client.chat_postMessage(channel=channel, text="x", blocks=wide)))[
        "error"
    ] == "invalid_blocks"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns too
        empty = await refused(client.chat_postMessage(channel=channel, text=""))
    assert empty["error"] == "no_text"
    await client.chat_postMessage(channel=channel, text="x" * 40_000)
    assert len(fake.messages(channel)) == 1


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "invalid_name_required"), ("x" * 81, "invalid_name_maxlength"),
     ("Incident-1", "invalid_name_specials"), ("inc 1", "invalid_name_specials"),
     ("inc.1", "invalid_name_specials"), ("alerts", "name_taken")],
)  # fmt: skip
async def test_channel_name_rules(fake: FakeSlack, name: str, error: str) -> None:
    fake.add_channel("alerts")
    answer = await refused(client_of(fake).conversations_create(name=name))
    assert answer["error"] == error
    assert [c.name for c in fake.channels.values()] == ["alerts"]


async def test_channel_lifecycle(fake: FakeSlack) -> None:
    client = client_of(fake)
    created = await client.conversations_create(name="inc-12-" + "x" * 73)
    channel = created["channel"]["id"]
    assert len(created["channel"]["name"]) == 80 and created["channel"]["is_member"]
    await client.conversations_setTopic(channel=channel, topic="Incident 12: <!here>")
    info = await client.conversations_info(channel=channel)
    assert info["channel"]["topic"]["value"] == "Incident 12: <!here>"
    too_long = await refused(client.conversations_setTopic(channel=channel, topic="t" * 251))
    assert too_long["error"] == "too_long"
    listed = await client.conversations_list(types="public_channel", exclude_archived=True)
    assert [c["id"] for c in listed["channels"]] == [channel]
    await client.conversations_archive(channel=channel)
    assert (await refused(client.conversations_archive(channel=channel)))["error"] == (
        "already_archived"
    )
    closed = await refused(client.chat_postMessage(channel=channel, text="late"))
    assert closed["error"] == "is_archived"
    listed = await client.conversations_list(exclude_archived=True)
    assert listed["channels"] == []


async def test_pacing_answers_429_with_retry_after_per_channel() -> None:
    now = [1000.0]
    async with FakeSlack(pace_interval=1.0, burst=2, clock=lambda: now[0]) as fake:
        busy, idle = fake.add_channel("busy"), fake.add_channel("idle")
        client = client_of(fake)
        await client.chat_postMessage(channel=busy, text="1")
        await client.chat_postMessage(channel=busy, text="2")  # the burst's tolerance
        limited = await refused(client.chat_postMessage(channel=busy, text="3"))
        assert (limited["status"], limited["error"]) == (429, "ratelimited")
        assert limited["headers"]["Retry-After"] == "1"
        await client.chat_postMessage(channel=idle, text="elsewhere")  # per channel
        now[0] += 1.0
        await client.chat_postMessage(channel=busy, text="3")
        assert [m.text for m in fake.messages(busy)] == ["1", "2", "3"]
        refused_calls = [c for c in fake.calls_to("chat.postMessage", busy) if not c.ok]
        assert [c.status for c in refused_calls] == [429]


async def test_rate_limit_storm_hits_only_its_method(fake: FakeSlack) -> None:
    channel = fake.add_channel("alerts")
    client = client_of(fake)
    fake.rate_limit_storm(2, retry_after=30, method="chat.postMessage")
    await client.auth_test()  # not covered by the storm
    for _ in range(2):
        storm = await refused(client.chat_postMessage(channel=channel, text="x"))
        assert (storm["status"], storm["headers"]["Retry-After"]) == (429, "30")
    await client.chat_postMessage(channel=channel, text="x")
    assert len(fake.messages(channel)) == 1


async def test_outages_end_and_the_same_port_answers_again(fake: FakeSlack) -> None:
    channel = fake.add_channel("alerts")
    client = client_of(fake, timeout=1, retry_handlers=[])
    await fake.go_down("503")
    assert (await refused(client.chat_postMessage(channel=channel, text="x")))["status"] == 503
    await fake.come_up()
    await fake.go_down("refused")
    with pytest.raises(aiohttp.ClientConnectorError):
        await client.chat_postMessage(channel=channel, text="x")
    await fake.come_up()
    await fake.go_down("timeout")
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel=channel, text="x")
    await fake.come_up()
    await client.chat_postMessage(channel=channel, text="after")
    # the call that timed out is still done when Slack recovers: a timeout leaves a post in
    # doubt (the drainer looks for it by its metadata), a 503 or a refusal does not
    assert [m.text for m in fake.messages(channel)] == ["x", "after"]


async def test_latency_is_added_to_each_call() -> None:
    async with FakeSlack(latency=0.1) as fake:
        started = time.monotonic()
        await client_of(fake).auth_test()
        assert time.monotonic() - started >= 0.1


async def test_contract_catches_unknown_parameters_and_bad_answers(fake: FakeSlack) -> None:
    if not contract.CONTRACT_CHECKING:
        pytest.skip(contract.SKIP_REASON)
    channel = fake.add_channel("alerts")
    await client_of(fake).api_call(
        "chat.postMessage", json={"channel": channel, "text": "x", "unfurl_link": False}
    )
    bad = await refused(
        client_of(fake).api_call(
            "chat.postMessage",
            json={"channel": channel, "text": "x", "metadata": {"event_type": "Bad Type"}},
        )
    )
    assert bad["error"] == "invalid_metadata_format"
    problems, fake.failures[:] = list(fake.failures), []
    assert len(problems) == 2
    assert "unfurl_link" in problems[0] and "event_payload" in problems[1]
    # what the fake would answer is checked too: a channel id Slack never gives
    answer = {"ok": True, "channel": "alerts", "ts": "1.2", "message": {"text": "x"}}
    problem = contract.check_response("chat.postMessage", answer)
    assert problem is not None and "channel" in problem and "ts" in problem
    assert contract.check_response("chat.delete", {"ok": False, "error": "made_up"})
    assert contract.covered("conversations.history") and contract.covered("apps.connections.open")


async def test_token_in_the_url_fails_the_test(fake: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        await session.get(fake.url_for("/api/auth.test?token=" + fake.token))
    problems, fake.failures[:] = list(fake.failures), []
    assert problems == ["auth.test: token sent in the URL"]


class Listener:
    """A Socket Mode app that acks (or not) and remembers what it received."""

    def __init__(self, ack: bool) -> None:
        self.ack = ack
        self.received: list[dict[str, Any]] = []
        self.changed = asyncio.Condition()

    async def wait_for(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.received) >= count), 5)

    async def __call__(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        async with self.changed:
            self.received.append({"retry_attempt": request.retry_attempt, **request.payload})
            self.changed.notify_all()
        if self.ack:
            await client.send_socket_mode_response(
                SocketModeResponse(envelope_id=request.envelope_id)
            )


@pytest.mark.parametrize("ack", [True, False])
async def test_socket_mode_delivers_user_replies_and_redelivers_unacked(ack: bool) -> None:
    async with FakeSlack(pace_interval=0) as fake:
        fake.socket_mode.ack_timeout, fake.socket_mode.max_retries = 0.2, 2
        channel = fake.add_channel("incidents")
        parent = await client_of(fake).chat_postMessage(channel=channel, text="headline")
        listener = Listener(ack)
        app = SocketModeClient(app_token=fake.app_token, web_client=client_of(fake))
        app.socket_mode_request_listeners.append(listener)
        await app.connect()
        try:
            await fake.socket_mode.wait_connected()
            event_id = await fake.slack_user_reply(channel, parent["ts"], "U0HUMAN01", "on it")
            if ack:
                await fake.socket_mode.wait_for_ack(event_id)
            else:
                await listener.wait_for(3)
        finally:
            await app.close()
        assert [r["event_id"] for r in listener.received] == [event_id] * len(listener.received)
        assert [r["retry_attempt"] for r in listener.received] == ([0] if ack else [0, 1, 2])
        event = listener.received[0]["event"]
        assert (event["text"], event["thread_ts"], event["user"]) == (
            "on it", parent["ts"], "U0HUMAN01",
        )  # fmt: skip
        assert fake.messages(channel, thread_ts=parent["ts"])[-1].text == "on it"
        assert fake.socket_mode.opened >= 1


async def test_deleted_parents_tombstones_and_orphan_replies(fake: FakeSlack) -> None:
    """Slack's threads when a parent goes: with replies it stays as a tombstone and the
    thread goes on; without, a reply to it is answered ok and shown nowhere."""
    channel = fake.add_channel("incidents")
    client = client_of(fake)
    kept = await client.chat_postMessage(channel=channel, text="kept thread")
    await client.chat_postMessage(channel=channel, text="r1", thread_ts=kept["ts"])
    await client.chat_delete(channel=channel, ts=kept["ts"])
    await client.chat_postMessage(channel=channel, text="r2", thread_ts=kept["ts"])
    thread = await client.conversations_replies(channel=channel, ts=kept["ts"])
    assert [m.get("subtype") for m in thread["messages"]] == ["tombstone", None, None]
    history = await client.conversations_history(channel=channel)
    assert [m["text"] for m in history["messages"]] == ["This message was deleted."]

    lone = await client.chat_postMessage(channel=channel, text="lone")
    await client.chat_delete(channel=channel, ts=lone["ts"])
    lost = await client.chat_postMessage(channel=channel, text="lost", thread_ts=lone["ts"])
    assert lost["ok"] and [m.text for m in fake.orphans(channel)] == ["lost"]
    gone = await refused(client.conversations_replies(channel=channel, ts=lone["ts"]))
    assert gone["error"] == "thread_not_found"
    malformed = await refused(client.chat_postMessage(channel=channel, text="x", thread_ts="7"))
    assert malformed["error"] == "invalid_thread_ts"
