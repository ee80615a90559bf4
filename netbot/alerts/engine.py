"""The alert loop: poll the sources, apply the rules, publish, persist, send the daily digest.

The loop owns no Discord code: it publishes through `Publisher`, a small "mirror target"
interface (Discord today, Slack or others later), and reads time through `Clock`, so tests
drive it with a controllable clock. State is saved after every published notification, so a
crash between two posts neither repeats the first nor loses the second: on restart the feed
is read again from the last saved cursor and the one-per-day rule drops what was sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from netbot.alerts import rules, state
from netbot.alerts.events import DisasterEvent, parse_events
from netbot.alerts.kontur import KonturClient, KonturError
from netbot.alerts.messages import AlertMessage, alert_message, digest_header, good_news
from netbot.alerts.timeparse import parse_time
from netbot.alerts.usgs import (
    Quake,
    UsgsClient,
    UsgsError,
    kontur_quake_point,
    quake_message,
    qualifies,
    same_quake,
)
from netbot.config import UsgsConfig
from netbot.db import Database
from netbot.errors import new_error_id
from netbot.health import Health

log = logging.getLogger(__name__)

QUAKES_KEY = "quakes"  # state entry with the quakes each source announced (de-duplication)


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Publisher(Protocol):
    """Where alerts go: one implementation per target (a Discord channel, a Slack channel)."""

    async def alert(self, message: AlertMessage) -> None: ...

    async def digest(self, header: str, messages: list[AlertMessage]) -> None: ...

    async def good_news(self, text: str) -> None: ...


@dataclass
class Counters:
    """What happened today, for `/alerts status`."""

    day: dt.date | None = None
    polls: int = 0
    notified: int = 0
    skipped: int = 0

    def roll(self, day: dt.date) -> None:
        if self.day != day:
            self.day, self.polls, self.notified, self.skipped = day, 0, 0, 0


QuakePoint = tuple[dt.datetime, float, float, float | None]  # origin time, lat, lon, magnitude


@dataclass
class UsgsWatch:
    """The optional USGS source, and the quakes each source announced recently: a quake
    announced by one source is not announced again by the other."""

    client: UsgsClient
    config: UsgsConfig
    announced: dict[str, Quake] = field(default_factory=dict)  # by USGS: "usgs:<id>" -> quake
    kontur: dict[str, QuakePoint] = field(default_factory=dict)  # by Kontur: eventId -> point

    def matches(self, quake: Quake, point: QuakePoint) -> bool:
        started, lat, lon, magnitude = point
        return same_quake(
            quake,
            kontur_started_at=started,
            kontur_lat=lat,
            kontur_lon=lon,
            kontur_magnitude=magnitude,
            window=dt.timedelta(minutes=self.config.dedup_window_minutes),
        )

    def forget_before(self, horizon: dt.datetime) -> None:
        self.announced = {k: q for k, q in self.announced.items() if q.time >= horizon}
        self.kontur = {k: p for k, p in self.kontur.items() if p[0] >= horizon}

    def to_json(self) -> dict[str, Any]:
        return {
            "usgs": {
                k: [q.time.isoformat(), q.latitude, q.longitude, q.magnitude]
                for k, q in self.announced.items()
            },
            "kontur": {k: [p[0].isoformat(), p[1], p[2], p[3]] for k, p in self.kontur.items()},
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self.announced = {
            key: Quake(key, parse_time(t), mag, None, lat, lon, None, "", "", "")
            for key, (t, lat, lon, mag) in data.get("usgs", {}).items()
        }
        self.kontur = {
            key: (parse_time(t), lat, lon, mag)
            for key, (t, lat, lon, mag) in data.get("kontur", {}).items()
        }


class AlertEngine:
    def __init__(
        self,
        *,
        source: KonturClient,
        publisher: Publisher,
        database: Database,
        rules_: rules.Rules,
        feeds: list[str],
        poll_seconds: float,
        digest_time: dt.time,
        clock: Clock,
        health: Health,
        usgs: UsgsWatch | None = None,
    ) -> None:
        self.source = source
        self.publisher = publisher
        self.database = database
        self.rules = rules_
        self.feeds = feeds
        self.poll_seconds = poll_seconds
        self.digest_time = digest_time
        self.clock = clock
        self.health = health
        self.usgs = usgs
        self.state = rules.AlertState()
        self.last_poll: dt.datetime | None = None
        self.today = Counters()
        self.polled = asyncio.Condition()  # notified after every poll, for tests and status

    # ------------------------------------------------------------------ loop
    async def start(self) -> None:
        self.state = await asyncio.to_thread(state.load, self.database)
        if self.usgs is not None:
            quakes = await asyncio.to_thread(
                self.database.get_state, state.NAMESPACE, QUAKES_KEY, {}
            )
            if isinstance(quakes, dict):
                self.usgs.load_json(quakes)

    async def run(self) -> None:
        """Poll forever; every failure is recorded and the loop goes on."""
        await self.start()
        while True:
            await self.tick()
            await self.clock.sleep(self.poll_seconds)

    async def tick(self) -> None:
        """One poll of every source, then the digest if it is due."""
        now = self.clock.now()
        self.today.roll(self.rules.day(now))
        for feed in self.feeds:
            await self._guarded("kontur", self.poll_feed(feed, now))
        if self.usgs is not None:
            await self._guarded("usgs", self.poll_usgs(now))
        if self._digest_time_reached(now):
            await self._guarded("kontur", self.send_digest(now))
        self.last_poll = now
        self.today.polls += 1
        async with self.polled:
            self.polled.notify_all()

    async def _guarded(self, source: str, work: Awaitable[None]) -> None:
        """Run one step; a failure marks its backend failing (logged once per failure
        streak) and the loop goes on."""
        try:
            await work
        except PublishError as exc:
            self._failed("discord", str(exc))
        except KonturError as exc:
            self._failed(source, exc.message)
        except UsgsError as exc:
            self._failed(source, str(exc))
        except Exception as exc:  # a bug must not stop the alerts: report it with its traceback
            self._failed(source, f"internal error {new_error_id()}", exc)
        else:
            self.health.success(source)

    def _failed(self, name: str, error: str, exc: BaseException | None = None) -> None:
        self.health.failure(name, error)
        if self.health.failure_streak_started(name):
            log.error("alerts: %s is failing: %s", name, error, exc_info=exc)

    # ------------------------------------------------------------------ Kontur
    async def poll_feed(self, feed: str, now: dt.datetime) -> None:
        cursor = self.state.cursors.get(feed)
        if cursor is None:
            # First start: remember where the feed is, send nothing (no flood of old events).
            newest = await self.source.latest_update(feed)
            await self._save(rules.advance(self.state, feed, newest or now))
            log.info("alerts: feed %s starts at %s", feed, newest or now)
            return
        page = await self.source.fetch_since(feed, cursor)
        events, problems = parse_events(page.events)
        for problem in problems:
            log.warning("alerts: feed %s: ignored %s", feed, problem)
        outcome = rules.poll(events, self.state, now, self.rules, feed)
        current = self.state
        for event, reason in outcome.decisions:
            if reason is not None or self._announced_by_usgs(event):
                self.today.skipped += 1
                if reason is None:  # USGS announced it: that was today's notification
                    current = rules.notified(current, event.event_id, now, self.rules)
                continue
            await self._publish(self.publisher.alert(alert_message(event)))
            current = rules.notified(current, event.event_id, now, self.rules)
            await self._save(current)
            self.today.notified += 1
            if self.usgs is not None and (point := kontur_quake_point(event.raw)) is not None:
                self.usgs.kontur[event.event_id] = point
                await self._save_quakes()
        await self._save(rules.advance(current, feed, page.cursor))  # newest the page reached

    def _announced_by_usgs(self, event: DisasterEvent) -> bool:
        """Whether this Kontur earthquake is a quake USGS already announced."""
        if self.usgs is None or event.type != "EARTHQUAKE":
            return False
        point = kontur_quake_point(event.raw)
        return point is not None and any(
            self.usgs.matches(q, point) for q in self.usgs.announced.values()
        )

    # ------------------------------------------------------------------ USGS
    async def poll_usgs(self, now: dt.datetime) -> None:
        assert self.usgs is not None
        watch = self.usgs
        horizon = now - dt.timedelta(days=1)
        watch.forget_before(horizon)
        for quake in await watch.client.fetch():
            key = f"usgs:{quake.id}"
            if key in self.state.last_notified or quake.time < horizon:
                continue
            if not qualifies(
                quake, min_magnitude=watch.config.min_magnitude, min_alert=watch.config.min_alert
            ):
                continue
            if any(watch.matches(quake, point) for point in watch.kontur.values()):
                continue  # Kontur announced this quake already
            await self._publish(
                self.publisher.alert(AlertMessage(event_id=key, **quake_message(quake)))
            )
            watch.announced[key] = quake
            await self._save_quakes()
            await self._save(rules.notified(self.state, key, now, self.rules))
            self.today.notified += 1

    async def _save_quakes(self) -> None:
        assert self.usgs is not None
        await asyncio.to_thread(
            self.database.set_state, state.NAMESPACE, QUAKES_KEY, self.usgs.to_json()
        )

    # ------------------------------------------------------------------ digest
    def _digest_time_reached(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.rules.tz)
        return local.time() >= self.digest_time and rules.digest_due(self.state, now, self.rules)

    async def send_digest(self, now: dt.datetime) -> None:
        since = now - dt.timedelta(hours=24)
        events: list[DisasterEvent] = []
        for feed in self.feeds:
            page = await self.source.fetch_since(feed, since)
            events.extend(parse_events(page.events)[0])
        chosen = rules.digest_events(events, now, self.rules)
        day = self.rules.day(now)
        if chosen:
            await self._publish(
                self.publisher.digest(digest_header(day), [alert_message(e) for e in chosen])
            )
        else:
            await self._publish(self.publisher.good_news(good_news(day)))
        await self._save(dataclasses.replace(self.state, last_digest_day=day))

    def next_digest(self, now: dt.datetime) -> dt.datetime:
        """When the next digest check fires (it is sent only if that day had no alert)."""
        local = now.astimezone(self.rules.tz)
        at = local.replace(
            hour=self.digest_time.hour, minute=self.digest_time.minute, second=0, microsecond=0
        )
        if at <= local or self.state.last_digest_day == local.date():
            at += dt.timedelta(days=1)
        return at

    # ------------------------------------------------------------------ helpers
    async def _save(self, new_state: rules.AlertState) -> None:
        self.state = new_state
        await asyncio.to_thread(state.save, self.database, new_state)

    async def _publish(self, work: Awaitable[None]) -> None:
        """Await one post; a failure becomes PublishError, a success clears the streak."""
        try:
            await work
        except Exception as exc:
            raise PublishError(f"{type(exc).__name__}: {exc}") from exc
        self.health.success("discord")


class PublishError(Exception):
    """A target refused or failed a post; the event stays unsent and is retried next poll."""
