"""Alerts end to end: fake Kontur API -> real engine -> real py-cord -> fake Discord.

Time is the runtime's `ManualClock`: the supervisor's `alerts.poll` job sleeps on it, and a
test moves it forward and waits for the run that follows (no real waiting, no sleeps). Each
bot gets a fresh runtime on the same database and clock, as a restarted process would.
"""

import asyncio
import copy
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from fakes.alert_events import details, make_event
from fakes.discord import FakeDiscord, FakeMessage
from fakes.discord.permissions import DEFAULT_BOT
from fakes.kontur import FakeKontur
from fakes.usgs import FakeUsgs
from netbot.alerts import POLL_JOB
from netbot.alerts import state as alert_state
from netbot.core.runtime import Runtime
from netbot.core.tasks import ManualClock
from tests.plugins.world import BotWorld, WorldFactory

START = dt.datetime(2025, 3, 14, 12, 0, 0, tzinfo=dt.UTC)
POLL = 60


class Alerts:
    """A bot world posting alerts from the fake Event API to the #disasters channel."""

    def __init__(
        self, world: BotWorld, kontur: FakeKontur, clock: ManualClock, channel: dict[str, Any]
    ) -> None:
        self.world, self.kontur, self.clock, self.channel = world, kontur, clock, channel
        self.engine: Any = None  # the running (or last) process's

    @property
    def fake(self) -> FakeDiscord:
        return self.world.fake

    @property
    def runtime(self) -> Runtime:
        return self.world.runtime

    async def polls(self, count: int) -> None:
        """Wait until the `alerts.poll` job finished `count` runs on this runtime."""
        job = self.runtime.supervisor.jobs[POLL_JOB]

        async def reached() -> None:
            while job.runs < count:
                await job.done.wait()

        await asyncio.wait_for(reached(), 10)

    async def next_poll(self, seconds: float = POLL) -> None:
        done = self.runtime.supervisor.jobs[POLL_JOB].runs
        await self.world.advance(dt.timedelta(seconds=seconds))
        await self.polls(done + 1)

    def posts(self) -> list[FakeMessage]:
        return self.world.messages_in(self.channel)


async def alerts_world(
    fake: FakeDiscord, world_factory: WorldFactory, kontur: FakeKontur, **alerts: Any
) -> Alerts:
    """The bot (started by `running`) with alerts from `kontur`; the user is an admin."""
    channel = fake.add_channel(fake.guild, "disasters")
    admin = fake.add_role(fake.guild, "ops-admins")
    fake.add_member(fake.guild, fake.user, roles=[admin])
    clock = ManualClock(START)
    world = await world_factory(
        config={
            "roles": {"admin": [int(admin["id"])]},
            "cogs": {"tickets": False},
            "alerts": {
                "channel_id": int(channel["id"]),
                "api_url": kontur.api_url,
                "token_url": kontur.token_url,
                "poll_seconds": POLL,
                **alerts,
            },
        },
        secrets={"KONTUR_USERNAME": kontur.username, "KONTUR_PASSWORD": kontur.password},
        clock=clock,
        start=False,
    )
    return Alerts(world, kontur, clock, channel)


@asynccontextmanager
async def running(alerts: Alerts) -> AsyncIterator[Alerts]:
    """A new bot process on the same database and clock, until the first poll has run."""
    async with alerts.world.running():
        alerts.engine = alerts.world.cog("Alerts").engine
        await alerts.polls(1)
        yield alerts


@pytest.fixture
async def kontur() -> AsyncIterator[FakeKontur]:
    async with FakeKontur() as kontur:
        yield kontur


@pytest.fixture
async def usgs() -> AsyncIterator[FakeUsgs]:
    async with FakeUsgs() as usgs:
        yield usgs


@pytest.fixture
async def world(
    kontur: FakeKontur, fake_discord: FakeDiscord, world_factory: WorldFactory
) -> Alerts:
    return await alerts_world(fake_discord, world_factory, kontur)


@pytest.fixture
async def quake_world(
    kontur: FakeKontur, usgs: FakeUsgs, fake_discord: FakeDiscord, world_factory: WorldFactory
) -> Alerts:
    """Alerts with USGS earthquakes too; Kontur has one old event."""
    kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    usgs_config = {
        "enabled": True,
        "feed_url": usgs.url,
        "min_magnitude": 6.0,
        "min_alert": "orange",
    }
    return await alerts_world(fake_discord, world_factory, kontur, usgs=usgs_config)


def severe(event_id: str, minutes_ago: float, **kw: Any) -> dict[str, Any]:
    return make_event(event_id, updated_at=START - dt.timedelta(minutes=minutes_ago), **kw)


async def test_first_start_records_the_cursor_and_sends_nothing(world: Alerts) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000002", 10))
    async with running(world):
        assert world.posts() == []
        cursor = world.engine.state.cursors["kontur-public"]
        assert cursor == START - dt.timedelta(minutes=10)
        assert alert_state.load(world.runtime.database).cursors["kontur-public"] == cursor


async def test_new_event_is_posted_as_an_embed_without_pings(world: Alerts) -> None:
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
    assert embed["description"].splitlines() == [  # escaped; Discord shows the plain text
        "A synthetic event.",
        "Total population: 2,150 people on 7.35 km².",
        r"Forest area: 38.2 km² \(currently\), 61.9 km² \(from beginning\).",
        r"Wildfire days in last year: 4 \(episode\), 11 \(event\).",
    ]
    assert world.engine.today.notified == 1


async def test_digest_at_the_configured_time_once(world: Alerts) -> None:
    await world.clock.set(dt.datetime(2025, 3, 15, 17, 58, tzinfo=dt.UTC))
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


async def test_good_news_when_nothing_qualifies(world: Alerts) -> None:
    await world.clock.set(dt.datetime(2025, 3, 16, 18, 0, tzinfo=dt.UTC))
    async with running(world):
        [post] = world.posts()
    assert post.content == "Good news! No extreme or severe events happened for 03/16/2025"


async def test_restart_in_the_middle_of_a_day_neither_repeats_nor_misses(world: Alerts) -> None:
    first = "00000000-0000-4000-8000-0000000000a1"
    second = "00000000-0000-4000-8000-0000000000a2"
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        world.kontur.add_event(severe(first, -1))
        await world.next_poll()
    assert [p.embeds[0]["url"][-2:] for p in world.posts()] == ["a1"]

    world.kontur.add_event(severe(first, -3, version=2))  # updated again, same day
    world.kontur.add_event(severe(second, -4))
    await world.clock.advance(dt.timedelta(seconds=600))
    async with running(world):  # a new bot on the same database
        pass
    assert [p.embeds[0]["url"][-2:] for p in world.posts()] == ["a1", "a2"]


async def test_failures_keep_the_loop_running_log_once_and_show_in_health(
    world: Alerts, caplog: pytest.LogCaptureFixture
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
        world.kontur.clear_faults("api")
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000b1", -1))
        await world.next_poll()
        assert world.runtime.health.snapshot(True)["backends"]["kontur"]["failing"] is False
    assert len(world.posts()) == 1


async def test_status_and_test_commands(world: Alerts) -> None:
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


async def test_usgs_first_then_kontur_quake_not_repeated_even_after_restart(
    quake_world: Alerts, usgs: FakeUsgs
) -> None:
    world = quake_world
    quake_time = START - dt.timedelta(minutes=3)
    usgs.set_features([usgs_feature("us7000abcd", quake_time, 6.8, "orange", -0.93, 119.84)])
    async with running(world):
        [post] = world.posts()  # USGS, on the first poll, minutes before Kontur
    world.kontur.add_event(kontur_quake(quake_time))  # Kontur's arrives while the bot restarts
    async with running(world):
        await world.next_poll()
    assert world.posts() == [post]
    assert post.embeds[0]["title"].startswith("M 6.8 - ") and "USGS" in post.embeds[0]["title"]


async def test_kontur_first_then_usgs_quake_not_repeated(
    quake_world: Alerts, usgs: FakeUsgs
) -> None:
    world = quake_world
    quake_time = START - dt.timedelta(minutes=3)
    usgs.set_features([])
    async with running(world):
        world.kontur.add_event(kontur_quake(quake_time))
        await world.next_poll()
        usgs.set_features([usgs_feature("us7000abcd", quake_time, 6.8, "orange", -0.93, 119.84)])
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
    world: Alerts, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        with world.runtime.database.engine.begin() as connection:
            for table in ("alert_cursors", "alert_notifications"):
                connection.exec_driver_sql(f"DROP TABLE {table}")  # every save now fails
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000c1", -1))
        with caplog.at_level(logging.ERROR, logger="netbot.alerts.engine"):
            await world.next_poll()
            await world.next_poll()
        kontur = world.runtime.health.snapshot(True)["backends"]["kontur"]
    assert kontur["failing"] is True
    assert kontur["last_error"].startswith("internal error ")
    [line] = [r for r in caplog.records if "kontur is failing: internal error" in r.getMessage()]
    assert line.exc_info is not None  # the traceback is in the log, under the error id


async def test_a_post_failing_mid_poll_loses_and_repeats_nothing(world: Alerts) -> None:
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


# -- Trust (issue 7): feed content is data, never control ---------------------------------------


def urls(world: Alerts) -> list[str]:
    """The last two characters of each alert's event id, oldest first."""
    return [p.embeds[0]["url"][-2:] for p in world.posts()]


async def test_feed_text_cannot_form_markdown_in_alerts_or_the_digest(world: Alerts) -> None:
    evil_name = "Flood](https://evil.example) [**Click**"
    await world.clock.set(dt.datetime(2025, 3, 15, 17, 59, tzinfo=dt.UTC))
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", -60 * 24))
    async with running(world):
        world.kontur.add_event(
            make_event(
                "00000000-0000-4000-8000-0000000000d1", current_severity="MODERATE",
                population=10, name=evil_name, updated_at=dt.datetime(2025, 3, 15, 9, 0, tzinfo=dt.UTC),
            )
        )  # fmt: skip
        await world.next_poll()  # 18:00: the digest lists it by name
        [digest] = world.posts()
        world.kontur.add_event(
            make_event(
                "00000000-0000-4000-8000-0000000000e1", name=evil_name, version=2,
                description="[Reset your password](https://evil.example) <@123> @here",
                updated_at=dt.datetime(2025, 3, 15, 18, 0, 30, tzinfo=dt.UTC),
            )
        )  # fmt: skip
        await world.next_poll()
        [_, alert] = world.posts()
    escaped = r"Flood\]\(https://evil.example\) \[\*\*Click\*\*"
    assert digest.embeds[0]["description"] == (
        f"1. [{escaped}](https://disaster.ninja/active/?event=00000000-0000-4000-8000-0000000000d1)"
    )
    assert alert.embeds[0]["title"] == f"[Update] {escaped}"
    assert alert.embeds[0]["description"].splitlines()[0] == (
        r"\[Reset your password\]\(https://evil.example\) \<@123\> @" "\u200bhere"
    )


def malformed_events() -> list[dict[str, Any]]:
    """One event per way a feed element can be broken, each updated a second apart."""
    broken: list[dict[str, Any]] = []
    for n, (where, key, value) in enumerate(
        [
            ("episode", "population", "lots"),  # a string population
            ("event", "version", [2]),  # a list version
            ("event", "episodes", {"0": {}}),  # an object for episodes
            ("event", "description", {"text": "x"}),  # an object for a description
            ("episode", "populatedAreaKm2", "wide"),  # a non-numeric area
            ("episode", "population", 10**400),  # a 400-digit integer
            ("event", "eventId", "00000000-0000-4000-8000-" + "0" * 2988 + "99"),  # too long
        ],
        start=1,
    ):
        event = severe(f"00000000-0000-4000-8000-0000000000b{n}", -n / 60)
        if where == "episode":
            event["episodes"][0]["episodeDetails"][key] = value
        else:
            event[key] = value
        broken.append(event)
    return broken


async def test_malformed_events_are_skipped_and_the_next_posted_across_a_restart(
    world: Alerts, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        for event in malformed_events():
            world.kontur.add_event(event)
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000a1", -0.5))
        with caplog.at_level(logging.WARNING, logger="netbot.alerts"):
            await world.next_poll()
        assert urls(world) == ["a1"]
        assert world.engine.today.problems == 7
        assert world.runtime.health.snapshot(True)["backends"]["kontur"]["failing"] is False
    problems = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(problems) == 7, problems
    world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000a2", -2))
    await world.clock.advance(dt.timedelta(seconds=600))
    async with running(world):  # a new bot on the same database: the bad events stay behind
        pass
    assert urls(world) == ["a1", "a2"]
    saved = alert_state.load(world.runtime.database).cursors["kontur-public"]
    assert saved == START + dt.timedelta(minutes=2)


async def test_a_post_discord_refuses_is_skipped_and_the_next_posted(
    world: Alerts, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000r1", -0.2))
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000r2", -0.4))
        world.fake.fail_next(
            "POST", "/channels/{channel_id}/messages", 400,
            body={"message": "Invalid Form Body", "code": 50035},
        )  # fmt: skip
        with caplog.at_level(logging.WARNING, logger="netbot.alerts"):
            await world.next_poll()
            await world.next_poll()  # the refused one is not tried again
        assert urls(world) == ["r2"]
        assert world.runtime.health.snapshot(True)["backends"]["discord"]["failing"] is False
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "00000000-0000-4000-8000-0000000000r1" in line and "HTTP 400" in line


async def test_a_missing_permission_is_logged_once_naming_it_and_nothing_is_lost(
    world: Alerts, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        world.fake.deny_bot("send_messages")
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000p1", -0.2))
        with caplog.at_level(logging.ERROR, logger="netbot.alerts"):
            await world.next_poll()
            await world.next_poll()
        assert urls(world) == []
        assert world.runtime.health.snapshot(True)["backends"]["discord"]["failing"] is True
        world.fake.set_role_permissions(world.fake.bot_role(), DEFAULT_BOT)
        await world.next_poll()
        assert urls(world) == ["p1"]
    [line] = [r.getMessage() for r in caplog.records if "discord is failing" in r.getMessage()]
    assert "Send Messages" in line


async def test_a_far_future_event_neither_silences_the_feed_nor_stops_polling(
    world: Alerts, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        for suffix, stamp in (
            ("z1", "9999-12-31T23:59:59.999Z"),
            ("z2", "9999-12-31T23:00:00-05:00"),
        ):
            world.kontur.add_event(
                make_event(f"00000000-0000-4000-8000-0000000000{suffix}", updated_at=stamp)
            )
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000a1", -0.5))
        with caplog.at_level(logging.WARNING, logger="netbot.alerts"):
            await world.next_poll()
            await world.next_poll()
        cursor = world.engine.state.cursors["kontur-public"]
        assert cursor <= world.clock.now() + dt.timedelta(minutes=10)
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000a2", -3))
        await world.next_poll()
        assert world.runtime.health.snapshot(True)["backends"]["kontur"]["failing"] is False
    assert urls(world) == ["a1", "a2"]
    z1, z2 = [r.getMessage() for r in caplog.records if "ignored event" in r.getMessage()]
    assert "z1: updatedAt 9999-12-31T23:59:59.999Z is ahead of now" in z1  # logged once each
    assert "z2: no valid updatedAt" in z2 and "out of range" in z2
    assert alert_state.load(world.runtime.database).cursors[
        "kontur-public"
    ] == START + dt.timedelta(minutes=3)


async def test_the_first_start_ignores_a_far_future_event(world: Alerts) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    world.kontur.add_event(
        make_event("00000000-0000-4000-8000-0000000000z1", updated_at="9999-12-31T23:59:59.999Z")
    )
    async with running(world):
        assert world.engine.state.cursors["kontur-public"] == START - dt.timedelta(minutes=30)


async def test_a_failed_save_leaves_memory_as_saved_and_repeats_no_post(
    world: Alerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        saved = copy.deepcopy(world.engine.state)
        database = world.runtime.database
        real_save = alert_state.save

        def unavailable(*args: Any) -> None:
            raise OSError("database is down")

        monkeypatch.setattr(alert_state, "save", unavailable)
        world.kontur.add_event(severe("00000000-0000-4000-8000-0000000000s1", -0.5))
        await world.next_poll()  # posted, but the save fails
        assert urls(world) == ["s1"]
        assert world.engine.state == saved == alert_state.load(database)
        await world.next_poll()  # still down: nothing is posted again
        monkeypatch.setattr(alert_state, "save", real_save)
        await world.next_poll()
        assert "00000000-0000-4000-8000-0000000000s1" in world.engine.state.last_notified
    assert urls(world) == ["s1"]
    assert alert_state.load(world.runtime.database) == world.engine.state


def usgs_quake_with_ids(preferred: str) -> dict[str, Any]:
    """One quake as USGS reports it: several network ids, `preferred` the feature's id."""
    feature = usgs_feature(preferred, START - dt.timedelta(minutes=3), 6.8, "orange", -0.93, 119.84)
    feature["properties"]["ids"] = ",at00qdlek0,pt20199000,us7000aq3e,"
    return feature


async def test_usgs_quake_announced_once_when_its_preferred_id_changes(
    quake_world: Alerts, usgs: FakeUsgs
) -> None:
    world = quake_world
    usgs.set_features([usgs_quake_with_ids("us7000aq3e")])
    async with running(world):
        usgs.set_features([usgs_quake_with_ids("at00qdlek0")])
        await world.next_poll()
    usgs.set_features([usgs_quake_with_ids("pt20199000")])
    async with running(world):  # the saved state knows every id too
        pass
    assert len(world.posts()) == 1


async def test_a_page_without_episodes_is_one_warning_not_silent_skips(
    world: Alerts, caplog: pytest.LogCaptureFixture
) -> None:
    world.kontur.add_event(severe("00000000-0000-4000-8000-000000000001", 30))
    async with running(world):
        for suffix in ("n1", "n2"):
            bare = severe(f"00000000-0000-4000-8000-0000000000{suffix}", -0.5)
            bare["episodes"] = []
            world.kontur.add_event(bare)
        with caplog.at_level(logging.WARNING, logger="netbot.alerts"):
            await world.next_poll()
    assert world.posts() == []
    [line] = [r.getMessage() for r in caplog.records if "episode" in r.getMessage()]
    assert "none of the page's 2 event(s) carries an episode" in line
