"""The Slack bridge's outbox and drainer against the fake Slack (slack_sdk over real sockets),
on real SQLite and PostgreSQL: order per channel, exactly once, edits/threads/deletes through
the persisted map, per-incident channels, outages and 429 storms, recovery of a message
Slack took before the local record was written, the start-up scope check, hostile text.

Time is a `ManualClock` (the drain job's waits, pacing and backoff); the fake's pacing runs
on the same clock. Nothing sleeps: tests wait for the drainer's progress or the fake's calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fakes.slack import FakeSlack
from fakes.slack.server import ALL_SCOPES, Message
from netbot.capabilities import env_vars, parse_config
from netbot.chat import Link, Own, Post
from netbot.core.config import ConfigError
from netbot.core.db import Database
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets
from netbot.slack import lane_reports, mirror, outbox_metadata
from netbot.slack.models import MirroredMessage, OutboxRow
from netbot.slack.outbox import channel_name, enqueue
from netbot.slack.payload import post_from_json, post_to_json
from tests.slack_bridge_kit import START, Bridged, make, slack

__all__ = ["make", "slack"]  # the kit's fixtures, used here by name

HOSTILE = (
    "<!channel> <!here|here> <@U0123> <#C0123> @here @channel "
    "<https://evil.example|https://good.example> &lt;!everyone&gt; **bold** `code`"
)


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [m.text for m in slack.messages(channel)]


def note(text: str) -> Post:
    return Post(body=text)


# ---------------------------------------------------------------- the outbox itself


def test_a_post_survives_the_outbox_as_json() -> None:
    post = Post(
        title=(Own("[Update] "), "Flood <!here>"),
        link="https://example.org/e/1",
        body=("in ", Link(("the ", Own("valley")), "https://example.org/v")),
        listing=(("one",), ("two", Own(" <!mine>"))),
        footer=("Kontur",),
        accent="warning",
    )
    assert post_from_json(post_to_json(post)) == post
    with pytest.raises(ValueError):
        post_from_json({"title": [{"evil": 1}]})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("inc-20260301-1-Server DOWN!!", "inc-20260301-1-server-down"),
        ("INC-7-x", "inc-7-x"),
        ("<!channel> @here", "inc-channel-here"),
        ("é" * 200, "inc"),
        ("x" * 200, "inc-" + "x" * 76),
    ],
)
def test_incident_channel_names_fit_slack(name: str, expected: str) -> None:
    made = channel_name("inc-", name)
    assert made == expected
    assert len(made) <= 80 and made == made.lower()


def test_rows_roll_back_with_the_change_that_caused_them(db: Database, slack: FakeSlack) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.session() as session:
        enqueue(session, now=START, lane="C1", kind="post", payload={"post": {}})
        raise Boom
    with db.session() as session:
        assert session.scalars(select(OutboxRow)).all() == []


# ---------------------------------------------------------------- delivery


async def test_posts_are_delivered_once_in_order_per_channel(make: Callable[..., Bridged]) -> None:
    bridged = make(routes={"alerts": [], "digests": []})
    a, b = bridged.slack.add_channel("alerts"), bridged.slack.add_channel("digests")
    bridged.settings["slack"]["routes"] = {"alerts": [a, b], "digests": [b]}
    async with bridged.running():
        for n in range(5):
            bridged.write(
                lambda s, n=n: bridged.outbox.post(s, "alerts", f"alert:{n}", note(f"a{n}"))
            )
        bridged.write(lambda s: bridged.outbox.post(s, "digests", "digest:1", note("digest")))
        await bridged.drained()
    assert texts(bridged.slack, a) == [f"a{n}" for n in range(5)]
    assert texts(bridged.slack, b) == [*(f"a{n}" for n in range(5)), "digest"]
    stored = bridged.slack.messages(a)
    rows = [r for r in bridged.rows() if r.lane == a]
    assert [m.metadata for m in stored] == [outbox_metadata(r.id) for r in rows]
    assert all(r.state == "done" and not r.in_doubt for r in bridged.rows())
    assert all(m.unfurl_links is False for m in stored)


async def test_paced_to_one_message_per_second_per_channel(make: Callable[..., Bridged]) -> None:
    bridged = make(pace_seconds=1.0)
    bridged.slack.pace_interval, bridged.slack.burst = 1.0, 1  # Slack's 429 past 1/s
    channels = [bridged.slack.add_channel(f"c{n}") for n in range(3)]
    bridged.settings["slack"]["routes"] = {"alerts": channels}
    async with bridged.running():
        for n in range(4):
            bridged.write(lambda s, n=n: bridged.outbox.post(s, "alerts", f"a:{n}", note(f"{n}")))
        for second in range(4):
            for channel in channels:
                await bridged.slack.wait_for_messages(channel, second + 1, within=10)
            assert all(len(bridged.slack.messages(c)) == second + 1 for c in channels)
            await bridged.advance(1.0)
        await bridged.drained()
    posts = bridged.slack.calls_to("chat.postMessage")
    assert len(posts) == 12 and all(call.ok for call in posts)  # the fake never had to 429


async def test_incident_lifecycle_headline_thread_and_own_channel(
    make: Callable[..., Bridged],
) -> None:
    bridged = make(broadcast_status=True, incident_channels={"enabled": True, "prefix": "inc-"})
    headlines = bridged.slack.add_channel("incidents")
    bridged.settings["slack"]["routes"] = {"incidents": [headlines]}
    out = lambda: bridged.outbox  # noqa: E731  (the outbox of the running process)
    async with bridged.running():
        bridged.write(lambda s: out().opened(s, 7, "20260301-1-db-down", "DB down <!here>"))
        bridged.write(lambda s: out().headline(s, 7, note("DB down: investigating")))
        bridged.write(lambda s: out().timeline(s, 7, "entry:1", note("declared")))
        bridged.write(
            lambda s: out().timeline(s, 7, "entry:2", note("identified"), status_change=True)
        )
        bridged.write(lambda s: out().headline(s, 7, note("DB down: identified")))
        await bridged.drained()
    # A restart: the map in the database still knows every message.
    async with bridged.running():
        bridged.write(lambda s: out().timeline(s, 7, "entry:1", note("declared (edited)")))
        bridged.write(lambda s: out().timeline_removed(s, 7, "entry:2"))
        bridged.write(lambda s: out().headline(s, 7, note("DB down: resolved")))
        bridged.write(lambda s: out().closed(s, 7))
        await bridged.drained()
    slack = bridged.slack
    [headline] = [m for m in slack.messages(headlines) if not m.is_reply]
    assert headline.text == "DB down: resolved"
    assert headline.edits == ["DB down: investigating", "DB down: identified"]
    replies = slack.messages(headlines, thread_ts=headline.ts)[1:]
    assert [m.text for m in replies] == ["declared (edited)"]  # entry 2 was deleted
    deleted = [m for m in slack.messages(headlines, deleted=True) if m.deleted]
    assert [(m.text, m.reply_broadcast) for m in deleted] == [("identified", True)]
    own = slack.channel_named("inc-20260301-1-db-down")
    assert own.archived and own.topic == "DB down &lt;!here&gt;"
    assert [m.text for m in slack.messages(own.id)] == ["declared (edited)"]
    assert len(slack.calls_to("conversations.create")) == 1


async def test_superseded_edits_are_skipped(make: Callable[..., Bridged]) -> None:
    bridged = make()
    channel = bridged.slack.add_channel("incidents")
    bridged.settings["slack"]["routes"] = {"incidents": [channel]}
    async with bridged.running():
        bridged.write(lambda s: bridged.outbox.headline(s, 1, note("v0")))
        await bridged.drained()
        bridged.slack.hold()  # the next edits queue up behind a stalled Slack

        def many(session: Session) -> None:
            for n in range(1, 6):
                bridged.outbox.headline(session, 1, note(f"v{n}"))

        bridged.write(many)
        bridged.slack.release()
        await bridged.drained()
    [message] = bridged.slack.messages(channel)
    assert message.text == "v5"
    assert len(bridged.slack.calls_to("chat.update")) < 5
    states = [r.state for r in bridged.rows() if r.kind == "edit"]
    assert states[-1] == "done" and set(states[:-1]) <= {"done", "skipped"}


async def test_a_reply_under_a_deleted_parent_is_skipped_not_flooded(
    make: Callable[..., Bridged],
) -> None:
    bridged = make()
    channel = bridged.slack.add_channel("incidents")
    bridged.settings["slack"]["routes"] = {"incidents": [channel]}
    async with bridged.running():
        bridged.write(lambda s: bridged.outbox.headline(s, 3, note("head")))
        await bridged.drained()
        with bridged.database.session() as session:  # the headline mirror deleted
            enqueue(session, now=START, lane=channel, kind="delete", payload={},
                    source_key="incident:3:headline")  # fmt: skip
        for n in range(3):
            bridged.write(lambda s, n=n: bridged.outbox.timeline(s, 3, f"e{n}", note(f"r{n}")))
        await bridged.drained()
    assert bridged.slack.messages(channel) == []
    assert [r.state for r in bridged.rows() if r.kind == "reply"] == ["skipped"] * 3


async def test_refused_content_is_given_up_and_the_channel_goes_on(
    make: Callable[..., Bridged], caplog: pytest.LogCaptureFixture
) -> None:
    bridged = make()
    gone, live = bridged.slack.add_channel("gone", archived=True), bridged.slack.add_channel("ok")
    bridged.settings["slack"]["routes"] = {"alerts": [gone, live]}
    async with bridged.running():
        with caplog.at_level(logging.WARNING):
            bridged.write(lambda s: bridged.outbox.post(s, "alerts", "a:1", note("first")))
            bridged.write(lambda s: bridged.outbox.post(s, "alerts", "a:2", note("second")))
            await bridged.drained()
        reports = {r.lane: r for r in await bridged.runtime.workers.run(
            "database", lane_reports, bridged.database)}  # fmt: skip
    assert texts(bridged.slack, live) == ["first", "second"]
    assert [r.state for r in bridged.rows() if r.lane == gone] == ["failed", "failed"]
    assert "is_archived" in (reports[gone].last_error or "")
    assert reports[live].last_success is not None and reports[live].backlog == 0
    assert sum("refused" in r.message and "error " in r.message for r in caplog.records) == 2


async def test_not_invited_is_retried_until_the_bot_is_invited(
    make: Callable[..., Bridged],
) -> None:
    bridged = make()
    channel = bridged.slack.add_channel("private-ish", member=False)
    bridged.settings["slack"]["routes"] = {"alerts": [channel]}
    async with bridged.running():
        bridged.write(lambda s: bridged.outbox.post(s, "alerts", "a:1", note("waits")))
        await bridged.until(lambda: bool(bridged.rows()[0].last_error))
        [row] = bridged.rows()
        assert row.state == "pending" and "not_in_channel" in (row.last_error or "")
        assert not row.in_doubt  # Slack said no: nothing to look for later
        bridged.slack.channels[channel].member = True  # an admin invites the bot
        await bridged.advance(2)
        await bridged.drained()
    assert texts(bridged.slack, channel) == ["waits"]


async def test_outage_then_429_storm_delivers_everything_once_in_order(
    make: Callable[..., Bridged],
) -> None:
    bridged = make(retry={"client_retries": 0, "first_seconds": 1, "max_seconds": 30,
                          "request_timeout_seconds": 5})  # fmt: skip
    channels = [bridged.slack.add_channel(f"c{n}") for n in range(3)]
    bridged.settings["slack"]["routes"] = {"alerts": channels[:2], "incidents": channels[2:]}
    expected = [f"m{n}" for n in range(20)]
    async with bridged.running():
        await bridged.slack.go_down("503")
        for n, text in enumerate(expected):
            bridged.write(
                lambda s, n=n, t=text: bridged.outbox.post(s, "alerts", f"a:{n}", note(t))
            )
        bridged.write(lambda s: bridged.outbox.headline(s, 1, note("h0")))
        bridged.write(lambda s: bridged.outbox.headline(s, 1, note("h1")))
        for _ in range(60):  # ten minutes of the test clock, Slack answering 503
            await bridged.until(bridged.idle)
            await bridged.advance(10)
        assert all(bridged.slack.messages(c) == [] for c in channels)
        assert {r.state for r in bridged.rows()} == {"pending"}
        await bridged.slack.come_up()
        bridged.slack.rate_limit_storm(25, retry_after=2)
        await bridged.drive()
    for channel in channels[:2]:
        assert texts(bridged.slack, channel) == expected  # once each, in order
    [headline] = bridged.slack.messages(channels[2])
    assert headline.text == "h1"
    answered = [c.status for c in bridged.slack.calls]
    # Each channel was tried again and again (with backoff, up to 30 s apart) while down.
    assert answered.count(503) >= 3 * 10 and answered.count(429) == 25
    assert {r.state for r in bridged.rows()} == {"done"}


async def test_a_message_slack_took_before_the_crash_is_found_not_posted_again(
    make: Callable[..., Bridged],
) -> None:
    bridged = make()
    channel = bridged.slack.add_channel("alerts")
    bridged.settings["slack"]["routes"] = {"alerts": [channel], "incidents": [channel]}
    async with bridged.running():
        bridged.write(lambda s: bridged.outbox.headline(s, 9, note("head")))
        await bridged.drained()
        await bridged.runtime.supervisor.stop()  # the drainer stops; rows are written
        bridged.write(lambda s: bridged.outbox.post(s, "alerts", "a:1", note("top")))
        bridged.write(lambda s: bridged.outbox.timeline(s, 9, "e1", note("in thread")))
    # What a crash between Slack's answer and the local record leaves: Slack has both
    # messages (with their outbox ids), the rows are pending and in doubt.
    top, reply = [r for r in bridged.rows() if r.state == "pending"]
    head = next(m for m in bridged.slack.messages(channel))
    client_post = bridged.slack.channels[channel]
    for row, thread in ((top, None), (reply, head.ts)):
        client_post.messages.append(Message(
            f"{1800000000 + row.id}.000000", row.payload["post"]["body"][0], "U0FAKEBOT1",
            thread_ts=thread, metadata=outbox_metadata(row.id),
        ))  # fmt: skip
    with bridged.database.session() as session:
        for row in session.scalars(select(OutboxRow).where(OutboxRow.state == "pending")):
            row.in_doubt, row.attempts = True, 1
    async with bridged.running():
        await bridged.drained()
    assert texts(bridged.slack, channel) == ["head", "top", "in thread"]
    assert len(bridged.slack.calls_to("chat.postMessage")) == 1  # only the headline, once
    assert bridged.slack.calls_to("conversations.replies")
    with bridged.database.session() as session:
        found = session.get(MirroredMessage, ("incident:9:e1", channel))
        assert found is not None and found.ts == f"{1800000000 + reply.id}.000000"


async def test_missing_scopes_are_named_at_start_up(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeSlack(scopes=ALL_SCOPES - {"channels:manage", "channels:history"}) as slack:
        bridged = Bridged(db, slack, {"base_url": slack.base_url,
                                     "incident_channels": {"enabled": True}})  # fmt: skip
        with caplog.at_level(logging.ERROR):
            async with bridged.running():
                await asyncio.wait_for(bridged.bridge.checked.wait(), 10)
                assert bridged.bridge.missing == {"channels:history", "channels:manage"}
                health = bridged.runtime.health.snapshot(True)["backends"]["slack"]
    assert health["failing"] and "channels:history, channels:manage" in health["last_error"]
    assert any("channels:history, channels:manage" in r.message for r in caplog.records)


async def test_hostile_text_from_every_source_arrives_escaped(
    make: Callable[..., Bridged],
) -> None:
    bridged = make(incident_channels={"enabled": True})
    channel = bridged.slack.add_channel("all")
    routes = {"alerts": [channel], "digests": [channel], "good_news": [channel],
              "incidents": [channel]}  # fmt: skip
    bridged.settings["slack"]["routes"] = routes
    hostile = Post(title=HOSTILE, body=HOSTILE, footer=HOSTILE,
                   listing=(HOSTILE,), link="https://example.org/ok")  # fmt: skip
    async with bridged.running():
        out = bridged.outbox
        bridged.write(lambda s: out.post(s, "alerts", "a", hostile))  # a feed
        bridged.write(lambda s: out.post(s, "digests", "d", hostile))
        bridged.write(lambda s: out.opened(s, 1, HOSTILE, HOSTILE))  # a user's incident
        bridged.write(lambda s: out.headline(s, 1, hostile))
        bridged.write(lambda s: out.timeline(s, 1, "m", note(HOSTILE)))  # a Discord message
        await bridged.drained()
    shown = [m for c in bridged.slack.channels.values() for m in c.messages]
    assert len(shown) == 5  # alert, digest, headline, reply, and the reply's own-channel copy
    [own] = [c for c in bridged.slack.channels.values() if c.id != channel]
    assert "<" not in own.topic and own.name == channel_name("inc-", HOSTILE)
    for message in shown:
        every = [message.text, *(str(b) for b in message.blocks or [])]
        for text in every:
            for bad in ("<!channel>", "<!here", "<@U0123>", "<#C0123>", "<https://evil"):
                assert bad not in text
            assert "&lt;!everyone&gt;" not in text.replace("&amp;lt;", "")


async def test_a_stop_mid_call_is_quick_and_the_mirror_still_arrives_once(
    make: Callable[..., Bridged],
) -> None:
    bridged = make()
    channel = bridged.slack.add_channel("alerts")
    bridged.settings["slack"]["routes"] = {"alerts": [channel]}
    async with bridged.running():
        await asyncio.wait_for(bridged.bridge.checked.wait(), 10)
        await bridged.slack.go_down("timeout")  # requests stall until Slack comes back
        asked = len(bridged.slack.requests)
        bridged.write(lambda s: bridged.outbox.post(s, "alerts", "a:1", note("once")))
        await bridged.slack.wait_for_requests(asked + 1, within=10)
    # The process stopped with its post in flight (the test's timeout bounds the stop).
    [row] = bridged.rows()
    assert row.state == "pending" and row.in_doubt and row.attempts == 1
    await bridged.slack.come_up()  # the stalled post may now be stored, or not
    async with bridged.running():
        await bridged.drained()
    assert texts(bridged.slack, channel) == ["once"]
    assert bridged.slack.calls_to("conversations.history")  # looked for before posting again


async def test_an_incident_channel_made_before_a_crash_is_taken_over(
    make: Callable[..., Bridged],
) -> None:
    bridged = make(incident_channels={"enabled": True, "prefix": "inc-"})
    bridged.settings["slack"]["routes"] = {}
    taken = bridged.slack.add_channel("inc-20260301-4-fire")  # a name already in use
    async with bridged.running():
        await bridged.runtime.supervisor.stop()
        bridged.write(lambda s: bridged.outbox.opened(s, 4, "20260301-4-fire", "fire"))
        bridged.write(lambda s: bridged.outbox.timeline(s, 4, "e1", note("smoke")))
    with bridged.database.session() as session:  # first: not in doubt, the name is someone's
        session.execute(update(OutboxRow).values(in_doubt=False))
    async with bridged.running():
        await bridged.drained()
    create, post = bridged.rows()
    assert create.state == "failed" and "name_taken" in (create.last_error or "")
    assert post.state == "skipped" and bridged.slack.messages(taken) == []
    bridged.write(lambda s: bridged.outbox.opened(s, 5, "20260301-4-fire", "fire again"))
    bridged.write(lambda s: bridged.outbox.timeline(s, 5, "e1", note("smoke")))
    with bridged.database.session() as session:  # then: in doubt, as after a crash
        session.execute(update(OutboxRow).where(OutboxRow.lane == "@incident:5")
                        .values(in_doubt=True, attempts=1))  # fmt: skip
    async with bridged.running():
        await bridged.drained()
    assert texts(bridged.slack, taken) == ["smoke"]
    assert bridged.slack.channels[taken].topic == "fire again"
    assert len(bridged.slack.channels) == 1


def test_channel_names_instead_of_ids_are_configuration_errors() -> None:
    bad = {"guilds": [1], "slack": {"routes": {"alerts": ["#alerts", "C0123ABCD"]},
                                    "incident_channels": {"prefix": "Inc "}}}  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        parse_config(bad)
    keys = [problem.key for problem in raised.value.problems]
    assert keys == ["slack.routes.alerts.0", "slack.incident_channels.prefix"]


@pytest.mark.parametrize(
    ("cogs", "secrets", "mirrored"),
    [({}, {"SLACK_BOT_TOKEN": "xoxb-1"}, True), ({"slack": False}, {"SLACK_BOT_TOKEN": "x"}, False),
     ({}, {}, False)],
)  # fmt: skip
def test_the_mirror_hook_exists_only_when_the_bridge_can_run(
    db: Database, cogs: dict[str, bool], secrets: dict[str, str], mirrored: bool
) -> None:
    runtime = Runtime(
        config=parse_config({"guilds": [1], "cogs": cogs}),
        secrets=Secrets.from_mapping(secrets, env_vars()),
        database=db,
    )
    assert (mirror(runtime) is not None) is mirrored
    runtime.close()
