"""The alert poll: read the sources, apply the rules, publish, persist, send the daily digest.

The engine owns no Discord code: it publishes `netbot.chat.Post`s through a chat `Target`
(Discord today, Slack or others later). It owns no loop either: `tick` is one run of the
supervisor's `alerts.poll` job (see `netbot.alerts.build`), and time is the runtime's clock,
so tests move a `ManualClock`. The digest is a step of the poll, not a job of its own: it goes
at the first poll at or after the digest time, after that poll's alerts (an alert posted then
means no digest that day), and a bot started after the digest time still sends that day's.

Each published notification is recorded at once (one small row), and the cursor moves once
at the end of the poll, so a crash between two posts neither repeats the first nor loses the
second: on restart the feed is read again from the last saved cursor and the one-per-day rule
drops what was sent (see `netbot.alerts.state` for the rows and why). A page is parsed and
judged in a worker thread: a catch-up page of thousands of events never stalls the gateway.

Nothing a feed sends can stop the loop: a malformed event, or one dated far ahead, is logged
once, counted and left behind (the cursor moves past it), and a post the target refuses for
its content is logged and skipped rather than retried forever. The state in memory is always
the state saved: changes the database did not take stay pending, and are written before
anything else is published.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from netbot.alerts import rules, state
from netbot.alerts.config import UsgsConfig
from netbot.alerts.events import DisasterEvent, page_warning, parse_events
from netbot.alerts.kontur import KonturClient
from netbot.alerts.messages import (
    SAMPLE,
    alert_message,
    alert_post,
    digest_header,
    digest_post,
    good_news_post,
)
from netbot.alerts.rules import FUTURE_ALLOWANCE
from netbot.alerts.usgs import (
    Quake,
    UsgsClient,
    kontur_quake_point,
    quake_message,
    qualifies,
    same_quake,
)
from netbot.chat import Post, Rejected, Target
from netbot.core.db import Database
from netbot.core.errors import BackendError, new_error_id
from netbot.core.health import Health
from netbot.core.tasks import Clock
from netbot.core.times import parse_time

log = logging.getLogger(__name__)


@dataclass
class Counters:
    """What happened today, for `/alerts status`."""

    day: dt.date | None = None
    polls: int = 0
    notified: int = 0
    skipped: int = 0
    reported: set[str] = field(default_factory=set)  # problems logged today, each once

    @property
    def problems(self) -> int:
        """Malformed or far-future events and refused posts seen today."""
        return len(self.reported)

    def roll(self, day: dt.date) -> None:
        if self.day != day:
            self.day, self.polls, self.notified, self.skipped = day, 0, 0, 0
            self.reported = set()


QuakePoint = tuple[dt.datetime, float, float, float | None]  # origin time, lat, lon, magnitude


@dataclass
class UsgsWatch:
    """The optional USGS source, and the quakes each source announced recently: a quake
    announced by one source is not announced again by the other."""

    client: UsgsClient
    config: UsgsConfig
    announced: dict[str, Quake] = field(default_factory=dict)  # by USGS: "usgs:<id>" -> quake
    kontur: dict[str, QuakePoint] = field(default_factory=dict)  # by Kontur: eventId -> point
    refused: set[str] = field(default_factory=set)  # ids of quakes the target refused

    def known(self, quake: Quake) -> bool:
        """Whether USGS announced this quake already, under any of its ids, or it was refused."""
        ids = quake.all_ids()
        return bool(ids & self.refused) or any(ids & q.all_ids() for q in self.announced.values())

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
                k: [q.time.isoformat(), q.latitude, q.longitude, q.magnitude, list(q.aliases)]
                for k, q in self.announced.items()
            },
            "kontur": {k: [p[0].isoformat(), p[1], p[2], p[3]] for k, p in self.kontur.items()},
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self.announced = {
            key: Quake(
                key.removeprefix("usgs:"), parse_time(t), mag, None, lat, lon, None, "", "", "",
                aliases=tuple(aliases[0]) if aliases else (),
            )
            for key, (t, lat, lon, mag, *aliases) in data.get("usgs", {}).items()
        }  # fmt: skip
        self.kontur = {
            key: (parse_time(t), lat, lon, mag)
            for key, (t, lat, lon, mag) in data.get("kontur", {}).items()
        }


class AlertEngine:
    def __init__(
        self,
        *,
        source: KonturClient,
        target: Target,
        database: Database,
        rules_: rules.Rules,
        feeds: list[str],
        poll_seconds: float,
        digest_time: dt.time,
        clock: Clock,
        health: Health,
        usgs: UsgsWatch | None = None,
        mirror: state.PostMirror | None = None,
    ) -> None:
        self.source = source
        self.target = target
        self.database = database
        self.rules = rules_
        self.feeds = feeds
        self.poll_seconds = poll_seconds
        self.digest_time = digest_time
        self.clock = clock
        self.health = health
        self.usgs = usgs
        self.mirror = mirror  # also shows each recorded post elsewhere (Slack), same transaction
        self.state = rules.AlertState()  # always the state last saved
        self._pending: state.Changes | None = None  # changes the database did not take
        self._loaded = False
        self.last_poll: dt.datetime | None = None
        self.today = Counters()

    # ------------------------------------------------------------------ poll
    async def load(self) -> None:
        """Read the saved state (cursors, what was notified, the quakes announced)."""
        self.state = await asyncio.to_thread(state.load, self.database)
        if self.usgs is not None:
            quakes = await asyncio.to_thread(state.load_quakes, self.database)
            if isinstance(quakes, dict):
                self.usgs.load_json(quakes)
        self._loaded = True

    async def tick(self) -> None:
        """One poll of every source, then the digest if it is due (the `alerts.poll` job).
        Every failure is recorded per backend; the next run goes on."""
        if not self._loaded:
            await self.load()
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

    async def _guarded(self, source: str, work: Awaitable[None]) -> None:
        """Run one step; a failure marks its backend failing (logged once per failure
        streak) and the loop goes on."""
        try:
            await work
        except BackendError as exc:
            self._failed(exc.backend, exc.message)
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
        await self._flush()
        cursor = self.state.cursors.get(feed)
        horizon = now + FUTURE_ALLOWANCE
        if cursor is None:
            # First start: remember where the feed is, send nothing (no flood of old events).
            newest = await self.source.latest_update(feed, horizon=horizon)
            await self._save(state.Changes(cursors={feed: newest or now}))
            log.info("alerts: feed %s starts at %s", feed, newest or now)
            return
        page = await self.source.fetch_since(feed, cursor, horizon=horizon)
        events = await self._parse(feed, page.events, page.problems)
        outcome = await asyncio.to_thread(rules.poll, events, self.state, now, self.rules, feed)
        # The poll's last write: the cursor (the newest the page reached), what USGS announced
        # already (today's notification of those events), and forgetting the old rows.
        last = state.Changes(forget_before=rules.forget_before(now, self.rules))
        for event, reason in outcome.decisions:
            if reason is not None or self._announced_by_usgs(event):
                self.today.skipped += 1
                if reason is None:
                    last.notified[event.event_id] = now
                    last.days.add(self.rules.day(now))
                continue
            post = alert_post(alert_message(event))
            if not await self._post(post, event.event_id):
                continue
            record = state.Changes(notified={event.event_id: now}, days={self.rules.day(now)})
            record.mirrored.append(("alerts", f"alert:{event.event_id}", post))
            if self.usgs is not None and (point := kontur_quake_point(event.raw)) is not None:
                self.usgs.kontur[event.event_id] = point
                record.quakes = self.usgs.to_json()
            await self._save(record)
            self.today.notified += 1
        if (newest := rules.advance(self.state, feed, page.cursor).cursors[feed]) != cursor:
            last.cursors[feed] = newest
        await self._save(last)

    async def _parse(
        self, feed: str, raw: list[dict[str, Any]], problems: list[str]
    ) -> list[DisasterEvent]:
        """The page's usable events (parsed in a worker thread); every problem is logged once
        a day and counted."""
        events, more = await asyncio.to_thread(parse_events, raw)
        for problem in [*problems, *more]:
            self._problem(f"feed {feed}: ignored {problem}")
        if warning := page_warning(events):
            log.warning("alerts: feed %s: %s", feed, warning)
        return events

    def _problem(self, line: str) -> None:
        """Log a problem with the feed's data or a refused post, once a day, and count it."""
        if line not in self.today.reported:
            self.today.reported.add(line)
            log.warning("alerts: %s (error %s)", line, new_error_id())

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
        await self._flush()
        for quake in await watch.client.fetch():
            key = f"usgs:{quake.id}"
            if watch.known(quake) or not horizon <= quake.time <= now + FUTURE_ALLOWANCE:
                continue
            if not qualifies(
                quake, min_magnitude=watch.config.min_magnitude, min_alert=watch.config.min_alert
            ):
                continue
            if any(watch.matches(quake, point) for point in watch.kontur.values()):
                continue  # Kontur announced this quake already
            post = alert_post(quake_message(quake))
            if not await self._post(post, key):
                watch.refused |= quake.all_ids()
                continue
            watch.announced[key] = quake
            day = self.rules.day(now)
            record = state.Changes({key: now}, {day}, quakes=watch.to_json())
            record.mirrored.append(("alerts", f"alert:{key}", post))
            await self._save(record)
            self.today.notified += 1

    # ------------------------------------------------------------------ digest
    def _digest_time_reached(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.rules.tz)
        return local.time() >= self.digest_time and rules.digest_due(self.state, now, self.rules)

    async def send_digest(self, now: dt.datetime) -> None:
        await self._flush()
        since = now - dt.timedelta(hours=24)
        events: list[DisasterEvent] = []
        for feed in self.feeds:
            page = await self.source.fetch_since(feed, since, horizon=now + FUTURE_ALLOWANCE)
            events.extend(await self._parse(feed, page.events, page.problems))
        chosen = rules.digest_events(events, now, self.rules)
        day = self.rules.day(now)
        if chosen:
            messages = [alert_message(e) for e in chosen]
            source, post = "digests", digest_post(digest_header(day), messages)
        else:
            source, post = "good_news", good_news_post(day)
        record = state.Changes(digest_day=day)
        if await self._post(post, "digest"):
            record.mirrored.append((source, f"{source}:{day.isoformat()}", post))
        await self._save(record)

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
    async def _save(self, changes: state.Changes) -> None:
        """Write `changes` in one transaction, then make them to the state in memory. Changes
        the database did not take stay pending (see `_flush`)."""
        try:
            await asyncio.to_thread(state.save, self.database, changes, self.mirror)
        except Exception:
            self._pending = changes
            raise
        self._pending = None
        changes.apply(self.state)

    async def _flush(self) -> None:
        """Write the pending state before anything is published: while the database is down,
        a post whose record could not be saved is not sent again."""
        if self._pending is not None:
            await self._save(self._pending)

    async def _post(self, post: Post, what: str) -> bool:
        """Publish one post. False when the target refused it for its content: logged, counted
        and not retried. Any other failure is the target's, retried next poll."""
        try:
            await self.target.post(post)
        except Rejected as exc:
            self._problem(f"the target refused the post for {what}: {exc.message}; skipped")
            return False
        except Exception as exc:
            raise BackendError(self.target.name, f"{type(exc).__name__}: {exc}") from exc
        self.health.success(self.target.name)
        return True

    async def close(self) -> None:
        """Close the sources' HTTP sessions."""
        await self.source.close()
        if self.usgs is not None:
            await self.usgs.client.close()

    async def post_sample(self) -> None:
        """Post the sample alert (`/alerts test`); a failure goes to the caller."""
        await self.target.post(alert_post(SAMPLE))
