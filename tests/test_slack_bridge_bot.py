"""The Slack bridge end to end in the bot: fake Kontur -> the alert engine -> real py-cord ->
fake Discord, and the same alert through the outbox -> the drainer -> slack_sdk -> the fake
Slack; the digest and its good-news twin too; `/slack status` for admins, /healthz and
/metrics showing the bridge. Time is the world's `ManualClock` (alerts poll, drain job, the
fake Slack's pacing).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from fakes.alert_events import make_event
from fakes.discord import FakeDiscord
from fakes.kontur import FakeKontur
from fakes.slack import FakeSlack
from netbot.alerts import POLL_JOB
from netbot.core.tasks import ManualClock
from netbot.slack import DRAIN_JOB, outbox_metadata
from netbot.slack.models import OutboxRow
from tests.plugins.world import BotWorld, WorldFactory

START = dt.datetime(2025, 3, 14, 12, 0, 0, tzinfo=dt.UTC)
POLL = 60


@pytest.fixture
async def kontur() -> AsyncIterator[FakeKontur]:
    async with FakeKontur() as kontur:
        yield kontur


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


class World:
    def __init__(self, world: BotWorld, clock: ManualClock, slack: FakeSlack, **ids: Any):
        self.world, self.clock, self.slack = world, clock, slack
        self.discord_channel: dict[str, Any] = ids["discord_channel"]
        self.slack_alerts: str = ids["slack_alerts"]
        self.slack_digests: str = ids["slack_digests"]
        self.admin: dict[str, Any] = ids["admin"]

    async def next_poll(self) -> None:
        job = self.world.runtime.supervisor.jobs[POLL_JOB]
        done = job.runs
        await self.world.advance(dt.timedelta(seconds=POLL))

        async def ran() -> None:
            while job.runs <= done:
                await job.done.wait()

        await asyncio.wait_for(ran(), 10)

    async def drained(self) -> None:
        await self.world.cog("Slack").bridge.drainer.drained(10)


@pytest.fixture
async def world(
    fake_discord: FakeDiscord, world_factory: WorldFactory, kontur: FakeKontur, slack: FakeSlack
) -> World:
    channel = fake_discord.add_channel(fake_discord.guild, "disasters")
    admin = fake_discord.add_role(fake_discord.guild, "ops-admins")
    fake_discord.add_member(fake_discord.guild, fake_discord.user, roles=[admin])
    alerts, digests = slack.add_channel("alerts"), slack.add_channel("digests")
    clock = ManualClock(START)
    slack.clock = lambda: clock.now().timestamp()
    bot = await world_factory(
        config={
            "roles": {"admin": [int(admin["id"])]},
            "cogs": {"tickets": False},
            "alerts": {"channel_id": int(channel["id"]), "api_url": kontur.api_url,
                       "token_url": kontur.token_url, "poll_seconds": POLL,
                       "digest_time": "18:00"},
            "slack": {"base_url": slack.base_url,
                      "routes": {"alerts": [alerts], "digests": [digests],
                                 "good_news": [digests]},
                      "retry": {"client_retries": 0}},
        },
        secrets={"KONTUR_USERNAME": kontur.username, "KONTUR_PASSWORD": kontur.password,
                 "SLACK_BOT_TOKEN": slack.token},
        clock=clock,
        start=False,
    )  # fmt: skip
    return World(bot, clock, slack, discord_channel=channel, slack_alerts=alerts,
                 slack_digests=digests, admin=admin)  # fmt: skip


async def test_an_alert_reaches_discord_and_slack_once_escaped(
    world: World, kontur: FakeKontur
) -> None:
    kontur.add_event(make_event("00000000-0000-4000-8000-000000000001",
                                updated_at=START - dt.timedelta(minutes=30)))  # fmt: skip
    async with world.world.running():
        await world.next_poll()  # the first poll only records the cursor
        hostile = "<!channel> Flood <@U0123> <https://evil.example|https://disaster.ninja>"
        kontur.add_event(make_event("00000000-0000-4000-8000-0000000000aa", name=hostile,
                                    updated_at=START + dt.timedelta(seconds=5)))  # fmt: skip
        await world.next_poll()
        [discord_post] = world.world.messages_in(world.discord_channel)
        [message] = await world.slack.wait_for_messages(world.slack_alerts, 1, within=10)
        await world.drained()
        await world.next_poll()  # nothing new: nothing more, anywhere
        await world.drained()
        health = world.world.runtime.health.snapshot(True)["backends"]
        metrics = world.world.runtime.metrics.render().decode()
    assert len(world.world.messages_in(world.discord_channel)) == 1
    assert world.slack.messages(world.slack_alerts) == [message]
    assert discord_post.embeds[0]["title"].startswith(r"\<!channel\> Flood")  # Discord's escape
    for text in (message.text, str(message.blocks)):
        assert "<!channel>" not in text and "<@U0123>" not in text
        assert "<https://evil" not in text
    assert "&lt;!channel&gt; Flood" in message.text
    with world.world.database.session() as session:
        [row] = session.scalars(select(OutboxRow)).all()
    assert row.source_key == "alert:00000000-0000-4000-8000-0000000000aa" and row.state == "done"
    assert message.metadata == outbox_metadata(row.id)
    assert health["slack"]["failing"] is False and health["slack"]["last_success"]
    assert 'netbot_queue_depth{queue="slack_outbox"} 0.0' in metrics
    assert "netbot_slack_delivery_seconds_count 1.0" in metrics


async def test_the_good_news_digest_is_mirrored_to_its_channel(world: World) -> None:
    await world.clock.set(dt.datetime(2025, 3, 15, 17, 59, 30, tzinfo=dt.UTC))
    async with world.world.running():
        await world.next_poll()  # 18:00:30: no alert today -> the good news
        [message] = await world.slack.wait_for_messages(world.slack_digests, 1, within=10)
        await world.drained()
    assert len(world.world.messages_in(world.discord_channel)) == 1
    assert world.slack.messages(world.slack_alerts) == []
    assert message.text


async def test_slack_status_for_admins_only(
    world: World, kontur: FakeKontur, fake_discord: FakeDiscord
) -> None:
    async with world.world.running():
        await world.next_poll()  # no event yet: the cursor starts now
        kontur.add_event(make_event("00000000-0000-4000-8000-0000000000bb",
                                    updated_at=START + dt.timedelta(seconds=90)))  # fmt: skip
        await world.slack.go_down("503")
        await world.next_poll()  # posted in Discord; Slack down: the mirror waits
        drainer = world.world.cog("Slack").bridge.drainer
        async with asyncio.timeout(10):
            while not world.slack.calls_to("chat.postMessage") or drainer.working:
                drainer.progress.clear()
                await drainer.progress.wait()
        reply = await world.world.command("slack status")
        assert world.slack.messages(world.slack_alerts) == []
        outsider = fake_discord.add_user("outsider")
        fake_discord.add_member(fake_discord.guild, outsider)
        refused = await world.world.command("slack status", by=outsider)
        await world.slack.come_up()
        await world.world.advance(dt.timedelta(seconds=5))
        await world.slack.wait_for_messages(world.slack_alerts, 1, within=10)
        assert world.world.runtime.supervisor.jobs[DRAIN_JOB].failures == 0
    line = reply.content
    assert world.slack_alerts in line and "1 waiting" in line
    assert "last success never" in line and "HTTP 503" in line
    assert "Only admins" in refused.content
