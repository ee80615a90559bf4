"""Alerts at scale (issue 10): the state as rows, written per post and once per poll, a page
judged off the event loop, the rules linear in the page, the old document migrated."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event as sa_event

from fakes.alert_events import event, make_event
from fakes.kontur import FakeKontur
from netbot.alerts import AlertEngine, rules
from netbot.alerts import engine as alert_engine
from netbot.alerts import state as alert_state
from netbot.alerts.config import AlertsConfig
from netbot.capabilities import migration_dirs
from netbot.chat import Post, PostRef
from netbot.core.db import Database
from netbot.core.health import Health
from netbot.core.secrets import Secret
from netbot.core.tasks import ManualClock

FEED = "kontur-public"
START = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)
RULES = rules.Rules.from_config(AlertsConfig())


class Channel:
    """A chat target that keeps what it was sent."""

    name = "chat"

    def __init__(self) -> None:
        self.posts: list[Post] = []

    async def post(self, post: Post) -> PostRef:
        self.posts.append(post)
        return PostRef(self.name, "1", str(len(self.posts)))

    async def edit(self, ref: PostRef, post: Post) -> None:
        raise NotImplementedError

    async def delete(self, ref: PostRef) -> None:
        raise NotImplementedError


class Bot:
    """One alert engine process on a database; `restart` is a new process on the same one."""

    def __init__(self, kontur: FakeKontur, db: Database) -> None:
        self.kontur, self.db, self.clock, self.channel = kontur, db, ManualClock(START), Channel()
        self.engine = self.new_engine()

    def new_engine(self) -> AlertEngine:
        source = alert_engine.KonturClient(
            api_url=self.kontur.api_url, token_url=self.kontur.token_url,
            username=self.kontur.username, password=Secret(self.kontur.password), page_limit=1000,
        )  # fmt: skip
        return AlertEngine(
            source=source, target=self.channel, database=self.db, rules_=RULES, feeds=[FEED],
            poll_seconds=60, digest_time=dt.time(23, 59), clock=self.clock, health=Health(),
        )  # fmt: skip

    async def restart(self) -> None:
        await self.engine.close()
        self.engine = self.new_engine()

    async def tick(self, seconds: float = 60) -> None:
        await self.clock.advance(dt.timedelta(seconds=seconds))
        await self.engine.tick()


@pytest.fixture
async def bot(db: Database) -> AsyncIterator[Bot]:
    async with FakeKontur() as kontur:
        kontur.add_event(make_event(updated_at=START - dt.timedelta(minutes=30)))
        world = Bot(kontur, db)
        await world.engine.tick()  # the first start: the cursor, nothing sent
        yield world
        await world.engine.close()


def fresh(n: int, minutes: float = -0.5) -> dict[str, Any]:
    """A severe event updated `minutes` before START (negative: after it)."""
    return make_event(
        f"00000000-0000-4000-8000-{n:012d}", updated_at=START - dt.timedelta(minutes=minutes)
    )


def week_of_notifications(count: int) -> dict[str, dt.datetime]:
    """`count` events notified over the week before START (all still remembered)."""
    return {f"prior-{n}": START - dt.timedelta(minutes=1 + n % (6 * 24 * 60)) for n in range(count)}


# -- the engine: a row per post, one write per poll, the page judged off the loop ----------------


async def test_a_poll_writes_a_row_per_post_and_never_the_whole_state(bot: Bot) -> None:
    await asyncio.to_thread(
        alert_state.save, bot.db, alert_state.Changes(notified=week_of_notifications(5_000))
    )
    await bot.restart()
    await bot.tick()  # loads the 5,000
    for n in range(1, 4):
        bot.kontur.add_event(fresh(n, -n / 60))
    written: list[int] = []
    commits: list[int] = []

    def measure(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            written.append(len(repr(parameters)))

    sa_event.listen(bot.db.engine, "before_cursor_execute", measure)
    sa_event.listen(bot.db.engine, "commit", lambda _conn: commits.append(1))
    try:
        await bot.tick()
    finally:
        sa_event.remove(bot.db.engine, "before_cursor_execute", measure)
    assert len(bot.channel.posts) == 3
    assert len(commits) == 3 + 1  # one record per post, one at the end of the poll
    assert sum(written) < 3_000, written  # a few rows, not 5,000 notifications rewritten
    saved = alert_state.load(bot.db)
    assert saved == bot.engine.state and len(saved.last_notified) == 5_003


async def test_a_page_is_parsed_and_judged_off_the_event_loop(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: dict[str, threading.Thread] = {}

    def spy(name: str, real: Any) -> Any:
        def call(*args: Any) -> Any:
            threads[name] = threading.current_thread()
            return real(*args)

        return call

    monkeypatch.setattr(alert_engine, "parse_events", spy("parse", alert_engine.parse_events))
    monkeypatch.setattr(rules, "poll", spy("rules", rules.poll))
    bot.kontur.add_event(fresh(1))
    await bot.tick()
    assert len(bot.channel.posts) == 1
    assert set(threads) == {"parse", "rules"}
    assert threading.main_thread() not in threads.values()


async def test_a_crash_after_the_posts_before_the_cursor_moves_repeats_and_loses_nothing(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = alert_state.save

    def crash_at_the_cursor(
        db: Database, changes: alert_state.Changes, mirror: alert_state.PostMirror | None = None
    ) -> None:
        if changes.cursors:
            raise OSError("the process died here")
        real_save(db, changes, mirror)

    cursor = alert_state.load(bot.db).cursors[FEED]
    monkeypatch.setattr(alert_state, "save", crash_at_the_cursor)
    bot.kontur.add_event(fresh(1, -0.1))
    bot.kontur.add_event(fresh(2, -0.2))
    await bot.tick()
    assert len(bot.channel.posts) == 2
    assert alert_state.load(bot.db).cursors[FEED] == cursor  # the cursor did not move
    monkeypatch.setattr(alert_state, "save", real_save)
    await bot.restart()
    bot.kontur.add_event(fresh(3, -1.5))
    await bot.tick()  # the same page again from the old cursor, and one more event
    assert len(bot.channel.posts) == 3
    assert alert_state.load(bot.db).cursors[FEED] == START + dt.timedelta(minutes=1.5)


async def test_a_poll_forgets_what_is_older_than_a_week_in_the_rows_too(bot: Bot) -> None:
    old = {"old": START - dt.timedelta(days=rules.KEEP_NOTIFIED_DAYS, minutes=1)}
    recent = {"recent": START - dt.timedelta(days=2)}
    days = {START.date() - dt.timedelta(days=d) for d in (2, 9)}
    changes = alert_state.Changes(notified={**old, **recent}, days=days)
    await asyncio.to_thread(alert_state.save, bot.db, changes)
    await bot.restart()
    await bot.tick()
    saved = alert_state.load(bot.db)
    assert saved.last_notified == recent
    assert saved.notification_days == {START.date() - dt.timedelta(days=2)}
    assert saved == bot.engine.state


# -- the rules: linear in the page ----------------------------------------------------------------


class Counted(dt.datetime):
    """A time that counts how often it is compared (pruning compares each stored one)."""

    comparisons = 0

    def __ge__(self, other: dt.datetime) -> bool:  # type: ignore[override]
        Counted.comparisons += 1
        return super().__ge__(other)


def test_rules_poll_goes_over_the_stored_notifications_once_not_once_per_notification() -> None:
    stored = {
        f"prior-{n}": Counted.fromtimestamp(START.timestamp() - 3600 * (1 + n % 100), dt.UTC)
        for n in range(2_000)
    }
    state = rules.AlertState(cursors={FEED: START - dt.timedelta(hours=1)}, last_notified=stored)
    page = [event(f"e{n}", updated_at=START - dt.timedelta(minutes=n)) for n in range(1, 51)]
    Counted.comparisons = 0
    outcome = rules.poll(page, state, START, RULES, FEED)
    assert len(outcome.notify) == 50
    assert Counted.comparisons <= len(stored)  # not 50 x 2,000
    assert len(outcome.state.last_notified) == 2_050


def test_an_event_twice_in_a_page_is_notified_once() -> None:
    state = rules.AlertState(cursors={FEED: START - dt.timedelta(hours=1)})
    page = [event("e1", updated_at=START - dt.timedelta(minutes=m), version=v)
            for m, v in ((20, 1), (10, 2))]  # fmt: skip
    outcome = rules.poll(page, state, START, RULES, FEED)
    assert [reason for _, reason in outcome.decisions] == [None, rules.ALREADY_TODAY]
    assert outcome.state.last_notified == {"e1": START}


# -- the rows: exact round trip, and the old document moved on the first start -------------------


def full_state() -> rules.AlertState:
    return rules.AlertState(
        cursors={
            FEED: dt.datetime(2025, 3, 14, 11, 58, 41, 512000, tzinfo=dt.UTC),
            "wildfires": dt.datetime(2025, 3, 14, 10, 0, 0, 123456, tzinfo=dt.UTC),
        },
        last_notified={
            "e1": dt.datetime(2025, 3, 14, 6, 15, 40, tzinfo=dt.UTC),
            "e2": dt.datetime(2025, 3, 13, 8, 5, 0, 250000, tzinfo=dt.UTC),
        },
        notification_days=frozenset({dt.date(2025, 3, 13), dt.date(2025, 3, 14)}),
        last_digest_day=dt.date(2025, 3, 12),
    )


def test_the_saved_state_comes_back_exactly(db: Database) -> None:
    # A cursor truncated on save would move backwards on restart, and an event updated within
    # that millisecond would be processed again.
    assert alert_state.load(db) == rules.AlertState()
    state = full_state()
    changes = alert_state.Changes(
        notified=state.last_notified, days=set(state.notification_days), cursors=state.cursors,
        digest_day=state.last_digest_day,
    )  # fmt: skip
    alert_state.save(db, changes)
    assert alert_state.load(db) == state
    applied = rules.AlertState()
    changes.apply(applied)
    assert applied == state


OLD_DOCUMENT = {
    "cursors": {FEED: "2025-03-14T11:58:41.512Z", "wildfires": "2025-03-14T10:00:00.123456Z"},
    "last_notified": {"e1": "2025-03-14T06:15:40.000Z", "e2": "2025-03-13T08:05:00.250Z"},
    "notification_days": ["2025-03-13", "2025-03-14"],
    "last_digest_day": "2025-03-12",
}
OLD_QUAKES = {"usgs": {}, "kontur": {"k1": ["2025-03-14T11:00:00+00:00", -0.9, 119.8, 6.8]}}


def test_the_old_state_document_becomes_rows_on_the_first_start(db_url: str) -> None:
    before = Database.open(db_url)  # a database of the version that kept one document
    before.set_state("alerts", "state", OLD_DOCUMENT)
    before.set_state("alerts", "quakes", OLD_QUAKES)
    before.set_state("other", "cursor", 42)
    before.close()
    for _ in range(2):  # the second start finds it done
        after = Database.open(db_url, migration_dirs())
        try:
            assert alert_state.load(after) == full_state()
            assert alert_state.load_quakes(after) == OLD_QUAKES
            assert after.get_state("alerts", "state") is None  # moved, not copied
            assert after.get_state("other", "cursor") == 42
        finally:
            after.close()


def test_a_new_database_starts_with_the_empty_state(db: Database) -> None:
    assert alert_state.load(db) == rules.AlertState()
    assert alert_state.load_quakes(db) is None
