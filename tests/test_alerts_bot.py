"""Alerts end to end: fake Kontur API -> real engine -> real py-cord -> fake Discord.

Time is a `ManualClock`: the engine's loop sleeps on it, and a test moves it forward and
waits for the poll that follows (no real waiting for intervals, no sleeps).
"""

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from netbot.alerts import state as alert_state
from netbot.bot import create_bot
from netbot.config import parse_config
from netbot.db import Database
from netbot.runtime import Runtime
from netbot.secrets import Secret, Secrets
from tests.alert_events import details, make_event
from tests.fake_kontur import FakeKontur
from tests.fake_usgs import FakeUsgs
from tests.fakediscord import FakeDiscord, FakeMessage, run_bot

START = dt.datetime(2025, 3, 14, 12, 0, 0, tzinfo=dt.UTC)
POLL = 60


class ManualClock:
    """A clock that moves only when the test says; `sleep` waits for the test to move it."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now
        self._moved = asyncio.Condition()

    def now(self) -> dt.datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        wake = self._now + dt.timedelta(seconds=seconds)
        async with self._moved:
            await self._moved.wait_for(lambda: self._now >= wake)

    async def advance(self, seconds: float) -> None:
        async with self._moved:
            self._now += dt.timedelta(seconds=seconds)
            self._moved.notify_all()


class Harness:
    def __init__(
        self,
        fake: FakeDiscord,
        kontur: FakeKontur,
        clock: ManualClock,
        runtime: Runtime,
        channel: dict,
    ) -> None:
        self.fake, self.kontur, self.clock, self.runtime, self.channel = (
            fake,
            kontur,
            clock,
            runtime,
            channel,
        )
        self.engine: Any = None

    async def polls(self, count: int) -> None:
        """Wait until the engine finished `count` polls in total."""
        async with self.engine.polled:
            await asyncio.wait_for(
                self.engine.polled.wait_for(lambda: self.engine.today.polls >= count), 10
            )

    async def next_poll(self, seconds: float = POLL) -> None:
        done = self.engine.today.polls
        await self.clock.advance(seconds)
        await self.polls(done + 1)

    def posts(self) -> list[FakeMessage]:
        return self.fake.messages_in(self.channel)


def make_runtime(
    fake: FakeDiscord, kontur: FakeKontur, db: Database, channel: dict, **alerts: Any
) -> Runtime:
    admin = fake.add_role(fake.guild, "ops-admins")
    fake.add_member(fake.guild, fake.user, roles=[admin])
    config = parse_config(
        {
            "guilds": [int(fake.guild["id"])],
            "roles": {"admin": [int(admin["id"])]},
            "cogs": {"tickets": False},
            "alerts": {
                "channel_id": int(channel["id"]),
                "api_url": kontur.api_url,
                "token_url": kontur.token_url,
                "poll_seconds": POLL,
                **alerts,
            },
        }
    )
    secrets = Secrets(
        discord_api_base_url=fake.api_base_url,
        kontur_username=kontur.username,
        kontur_password=Secret(kontur.password),
    )
    return Runtime(config=config, secrets=secrets, database=db)


@asynccontextmanager
async def running(harness: Harness) -> AsyncIterator[Harness]:
    """The bot on `harness.runtime`, with the ManualClock driving its alert engine."""
    bot = create_bot(harness.runtime, load_cogs=False)
    bot.load_configured_cogs()
    cog = bot.get_cog("Alerts")
    cog.engine.clock = harness.clock
    harness.engine = cog.engine
    async with run_bot(bot, harness.fake, fail_on_command_error=False):
        await harness.polls(1)
        yield harness
    assert "netbot_errors_total{" not in harness.runtime.metrics.render().decode(), (
        "a command crashed"
    )


@pytest.fixture
async def world(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[Harness]:
    channel = fake_discord.add_channel(fake_discord.guild, "disasters")
    async with FakeKontur() as kontur:
        db = Database.open(f"sqlite:///{tmp_path / 'netbot.sqlite3'}")
        harness = Harness(
            fake_discord,
            kontur,
            ManualClock(START),
            make_runtime(fake_discord, kontur, db, channel),
            channel,
        )
        yield harness
        db.close()


def severe(event_id: str, minutes_ago: float, **kw: Any) -> dict[str, Any]:
    return make_event(event_id, updated_at=START - dt.timedelta(minutes=minutes_ago), **kw)


async def test_first_start_records_the_cursor_and_sends_nothing(world: Harness) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000002", 10))
    async with running(world):
        assert world.posts() == []
        cursor = world.engine.state.cursors["kontur-public"]
        assert cursor == START - dt.timedelta(minutes=10)
        assert alert_state.load(world.runtime.database).cursors["kontur-public"] == cursor


async def test_new_event_is_posted_as_an_embed_without_pings(world: Harness) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        long_name = "@everyone Orange flood alert " + "x" * 300
        world.kontur.add_event(
            make_event(
                "00000000-0000-4000-8000-0000000000aa",
                type="WILDFIRE", version=3, name=long_name, updated_at=START + dt.timedelta(seconds=5),
                episode_details=details(2150, populatedAreaKm2=7.35, forestAreaKm2=38.2, hotspotDaysPerYearMax=4),
                event_details=details(5120, forestAreaKm2=61.9, hotspotDaysPerYearMax=11),
            )
        )  # fmt: skip
        await world.next_poll()
        [post] = world.posts()
    embed = post.embeds[0]
    assert post.allowed_mentions == {"parse": []}
    assert post.content in ("", None)  # the name lives in the embed title: no text mention
    assert len(embed["title"]) == 256 and embed["title"].startswith(
        "[Update] @\u200beveryone Orange flood"
    )
    assert (
        embed["url"] == "https://disaster.ninja/active/?event=00000000-0000-4000-8000-0000000000aa"
    )
    assert embed["description"].splitlines() == [
        "A synthetic event.",
        "Total population: 2,150 people on 7.35 km².",
        "Forest area: 38.2 km² (currently), 61.9 km² (from beginning).",
        "Wildfire days in last year: 4 (episode), 11 (event).",
    ]
    assert world.engine.today.notified == 1


async def test_digest_at_the_configured_time_once(world: Harness) -> None:
    world.clock._now = dt.datetime(2025, 3, 15, 17, 58, tzinfo=dt.UTC)
    world.kontur.add_event(
        severe("00000000-0000-4000-8000-000000000001", -60 * 24 + 120)
    )  # before start
    async with running(world):
        moderate = make_event(
            "00000000-0000-4000-8000-0000000000d1", current_severity="MODERATE", population=10,
            updated_at=dt.datetime(2025, 3, 15, 9, 0, tzinfo=dt.UTC),
        )  # fmt: skip
        world.kontur.add_event(moderate)  # older than the cursor: never an alert, but in the digest
        await world.next_poll()  # 17:59: not yet
        assert world.posts() == []
        await world.next_poll()  # 18:00: the digest
        [digest] = world.posts()
        await world.next_poll()  # 18:01: not again
    assert len(world.posts()) == 1
    assert (
        digest.embeds[0]["title"]
        == "Disaster digest for 03/15/2025 (no severe events happened during this time)"
    )
    assert digest.embeds[0]["description"] == (
        "1. [Synthetic flood 00d1](https://disaster.ninja/active/?event=00000000-0000-4000-8000-0000000000d1)"
    )
    assert alert_state.load(world.runtime.database).last_digest_day == dt.date(2025, 3, 15)


async def test_good_news_when_nothing_qualifies(world: Harness) -> None:
    world.clock._now = dt.datetime(2025, 3, 16, 18, 0, tzinfo=dt.UTC)
    async with running(world):
        [post] = world.posts()
    assert post.content == "Good news! No extreme or severe events happened for 03/16/2025"


async def test_restart_in_the_middle_of_a_day_neither_repeats_nor_misses(world: Harness) -> None:
    first = "00000000-0000-4000-8000-0000000000a1"
    second = "00000000-0000-4000-8000-0000000000a2"
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        world.kontur.add_event(severe(first, -1))
        await world.next_poll()
    assert [p.embeds[0]["url"][-2:] for p in world.posts()] == ["a1"]

    world.kontur.add_event(severe(first, -3, version=2))  # updated again, same day
    world.kontur.add_event(severe(second, -4))
    await world.clock.advance(600)
    async with running(world):  # a new bot on the same database
        pass
    assert [p.embeds[0]["url"][-2:] for p in world.posts()] == ["a1", "a2"]


async def test_failures_keep_the_loop_running_log_once_and_show_in_health(
    world: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        world.kontur.fail_next(500, times=30)
        with caplog.at_level(logging.ERROR, logger="netbot.alerts.engine"):
            for _ in range(3):
                await world.next_poll()
        kontur = world.runtime.health.snapshot(True)["backends"]["kontur"]
        assert kontur["failing"] is True and kontur["consecutive_failures"] == 3
        assert len([r for r in caplog.records if "kontur is failing" in r.getMessage()]) == 1
        world.kontur.fail_next(500, times=0)
        world.kontur._faults["api"].clear()
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000b1", -1))
        await world.next_poll()
        assert world.runtime.health.snapshot(True)["backends"]["kontur"]["failing"] is False
    assert len(world.posts()) == 1


async def test_status_and_test_commands(world: Harness) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        status = await (await world.fake.slash("alerts status")).message()
        sample = await (await world.fake.slash("alerts test")).message()
        stranger = world.fake.add_user("stranger")
        world.fake.add_member(world.fake.guild, stranger)
        refused = await (await world.fake.slash("alerts test", user=stranger)).message()
    assert status.ephemeral
    assert "Cursor kontur-public: " in status.content and "(2025-03-14 11:30 UTC)" in status.content
    assert "Today: 0 alert(s)" in status.content
    assert "Next digest check: " in status.content and "(2025-03-14 18:00 UTC)" in status.content
    assert sample.content.startswith("Posted a sample alert")
    assert world.posts()[0].embeds[0]["title"] == "[Test] Orange flood alert in Exampleland"
    assert refused.ephemeral and refused.content.startswith("Only admins can post a test alert.")


def kontur_quake(quake_time: dt.datetime) -> dict[str, Any]:
    """Kontur's event for the quake `usgs_feature` describes (20 s, ~7 km and 0.1 M apart)."""
    quake = make_event(
        "00000000-0000-4000-8000-0000000000e1", type="EARTHQUAKE",
        started_at=quake_time + dt.timedelta(seconds=20), updated_at=START + dt.timedelta(seconds=30),
    )  # fmt: skip
    quake["severityData"] = {"magnitude": 6.7, "depthKm": 12.0}
    point = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [119.9, -0.95]},
        "properties": {},
    }
    quake["geometries"] = {"type": "FeatureCollection", "features": [point]}
    return quake


@asynccontextmanager
async def usgs_world(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[tuple[Harness, FakeUsgs]]:
    channel = fake.add_channel(fake.guild, "disasters")
    async with FakeKontur() as kontur, FakeUsgs() as usgs:
        kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
        db = Database.open(f"sqlite:///{tmp_path / 'netbot.sqlite3'}")
        usgs_config = {
            "enabled": True,
            "feed_url": usgs.url,
            "min_magnitude": 6.0,
            "min_alert": "orange",
        }
        runtime = make_runtime(fake, kontur, db, channel, usgs=usgs_config)
        yield Harness(fake, kontur, ManualClock(START), runtime, channel), usgs
        db.close()


async def test_usgs_first_then_kontur_quake_not_repeated_even_after_restart(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    quake_time = START - dt.timedelta(minutes=3)
    async with usgs_world(fake_discord, tmp_path) as (world, usgs):
        usgs.set_features([usgs_feature("us7000abcd", quake_time, 6.8, "orange", -0.93, 119.84)])
        async with running(world):
            [post] = world.posts()  # USGS, on the first poll, minutes before Kontur
        world.kontur.add_event(kontur_quake(quake_time))  # Kontur's arrives while the bot restarts
        async with running(world):
            await world.next_poll()
    assert world.posts() == [post]
    assert post.embeds[0]["title"].startswith("M 6.8 - ") and "USGS" in post.embeds[0]["title"]


async def test_kontur_first_then_usgs_quake_not_repeated(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    quake_time = START - dt.timedelta(minutes=3)
    async with usgs_world(fake_discord, tmp_path) as (world, usgs):
        usgs.set_features([])
        async with running(world):
            world.kontur.add_event(kontur_quake(quake_time))
            await world.next_poll()
            usgs.set_features(
                [usgs_feature("us7000abcd", quake_time, 6.8, "orange", -0.93, 119.84)]
            )
            far = usgs_feature("us7000wxyz", quake_time, 7.2, "red", 35.0, 139.0)  # another quake
            usgs.set_features(
                [usgs_feature("us7000abcd", quake_time, 6.8, "orange", -0.93, 119.84), far]
            )
            await world.next_poll()
    titles = [p.embeds[0]["title"] for p in world.posts()]
    assert len(titles) == 2
    assert titles[0].startswith("Synthetic earthquake")
    assert titles[1].startswith("M 7.2 - ")


def usgs_feature(
    quake_id: str, when: dt.datetime, mag: float, alert: str, lat: float, lon: float
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": quake_id,
        "properties": {
            "mag": mag, "place": "35 km SW of Tomohon, Indonesia", "time": int(when.timestamp() * 1000),
            "updated": int(when.timestamp() * 1000), "url": f"https://earthquake.usgs.gov/earthquakes/eventpage/{quake_id}",
            "alert": alert, "tsunami": 0, "type": "earthquake", "title": f"M {mag} - 35 km SW of Tomohon, Indonesia",
        },
        "geometry": {"type": "Point", "coordinates": [lon, lat, 10.0]},
    }  # fmt: skip


async def test_an_internal_error_is_reported_once_and_the_loop_goes_on(
    world: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        with world.runtime.database.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE state")  # every save now fails
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000c1", -1))
        with caplog.at_level(logging.ERROR, logger="netbot.alerts.engine"):
            await world.next_poll()
            await world.next_poll()
        kontur = world.runtime.health.snapshot(True)["backends"]["kontur"]
    assert kontur["failing"] is True
    assert kontur["last_error"].startswith("internal error ")
    [line] = [r for r in caplog.records if "kontur is failing: internal error" in r.getMessage()]
    assert line.exc_info is not None  # the traceback is in the log, under the error id


async def test_a_post_failing_mid_poll_loses_and_repeats_nothing(world: Harness) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        for suffix, seconds in (("f1", 1), ("f2", 2), ("f3", 3)):
            world.kontur.add_event(
                severe(f"00000000-0000-4000-8000-0000000000{suffix}", -seconds / 60)
            )
        # Discord refuses the second post of the poll; the third is not tried either.
        world.fake.fail_next("POST", "/channels/{channel_id}/messages", 403, after=1)
        await world.next_poll()
        assert [p.embeds[0]["url"][-2:] for p in world.posts()] == ["f1"]
        assert world.runtime.health.snapshot(True)["backends"]["discord"]["failing"] is True
        await world.next_poll()
        assert world.runtime.health.snapshot(True)["backends"]["discord"]["failing"] is False
    assert [p.embeds[0]["url"][-2:] for p in world.posts()] == ["f1", "f2", "f3"]
