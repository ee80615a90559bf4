"""The drainer: delivers the outbox to Slack, in order per lane, paced, patient, exactly once.

A supervisor job (`slack.drain`) whose every run lasts one period: it starts one worker per
lane with due rows (at most `concurrent_channels` at once) and keeps starting them as rows
arrive (a commit that wrote a row wakes it at once; rows from other processes are seen at the
next look, every `poll_seconds`). A worker sends its lane's rows one by one, oldest first,
at most one per `pace_seconds` (Slack allows about one message per second per channel), and
stops when its lane is empty, waiting for a retry, or the run's period is over. Bounded runs
keep a worker within the job's lease when several processes share PostgreSQL.

Nothing here blocks the event loop: database work runs on the runtime's `database` threads,
Slack calls are aiohttp requests with a timeout, and waiting (pace, backoff) is the clock's,
never an inline sleep in another lane's way: one lane in backoff delays only itself.

Exactly once, across crashes: before a post is sent its row is marked `in_doubt` (committed),
and the Slack message carries the row's id in its metadata. A row found in doubt after a
crash, a timeout or a 5xx is first looked for in Slack (`conversations.history`, or
`conversations.replies` for a thread reply, with `include_all_metadata`); if Slack has it,
only the local record is written. A 429 or a refused connection clears the doubt (Slack
did not take it), so lookups stay rare. Edits, deletes and replies resolve their Slack
message through the map (`slack_messages`), which survives restarts; an edit followed by a
later edit or delete of the same message is skipped as superseded; a reply whose parent was
deleted is skipped rather than posted loose, so a deleted parent never floods a channel; a
thread's parent goes before its replies even when written after them in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from netbot.chat import Post, Rejected
from netbot.core.db import Database, upsert
from netbot.core.errors import BackendError, new_error_id
from netbot.core.health import Health
from netbot.core.tasks import Clock
from netbot.slack.config import SlackConfig
from netbot.slack.models import LaneStatus, MirroredMessage, OutboxRow
from netbot.slack.outbox import WAKE_FLAG
from netbot.slack.payload import post_from_json
from netbot.slack.target import outbox_metadata

log = logging.getLogger(__name__)

T = TypeVar("T")
Blocking = Callable[..., Awaitable[Any]]  # runs a blocking call off the loop
BACKEND = "slack"


class Retry(BackendError):
    """A delivery that may work later. `maybe_sent`: Slack may have done it (a timeout, a
    5xx); `retry_after`: Slack said when to come back (429)."""

    def __init__(self, message: str, *, maybe_sent: bool, retry_after: float | None = None):
        super().__init__(BACKEND, message)
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after


class SlackApi(Protocol):
    """What the drainer asks of Slack (netbot.slack.api on slack_sdk). Failures: `Retry`,
    or `netbot.chat.Rejected` when trying again cannot help."""

    async def post(
        self, channel: str, post: Post, *, metadata: dict[str, Any],
        thread_ts: str | None = None, broadcast: bool = False,
    ) -> str: ...  # fmt: skip

    async def edit(self, channel: str, ts: str, post: Post) -> None: ...

    async def delete(self, channel: str, ts: str) -> None: ...

    async def find(self, channel: str, outbox_id: int, thread_ts: str | None) -> str | None:
        """The ts of the message whose metadata names outbox row `outbox_id`, if Slack has it."""
        ...

    async def create_channel(self, name: str, topic: str, *, adopt: bool) -> str:
        """A new public channel's id; `adopt`: an existing one of that name is taken over."""
        ...

    async def archive_channel(self, channel: str) -> None: ...


@dataclass(frozen=True)
class Row:
    """An outbox row as a worker needs it (detached from any session)."""

    id: int
    lane: str
    kind: str
    payload: Any
    source_key: str | None
    parent_key: str | None
    attempts: int
    in_doubt: bool
    next_attempt: dt.datetime
    created_at: dt.datetime

    @property
    def metadata(self) -> dict[str, Any]:
        return outbox_metadata(self.id)


@dataclass(frozen=True)
class Outcome:
    """How a delivery ended: `done` with a map entry, or `skipped`/`failed` with a reason."""

    state: str
    channel_id: str = ""
    ts: str = ""
    reason: str | None = None


class Drainer:
    def __init__(
        self,
        *,
        database: Database,
        api: SlackApi,
        config: SlackConfig,
        clock: Clock,
        health: Health,
        blocking: Blocking,
        observe: Callable[[str, float | None, int | None], None] = lambda *_: None,
        period: float = 10.0,
    ) -> None:
        """`blocking(fn, *args)` runs `fn` off the loop (runtime.workers, "database").
        `observe(event, delay, depth)` feeds the metrics: ("delivered", seconds since
        enqueued, None), ("retry"|"failed", None, None), ("depth", None, pending rows)."""
        self.database = database
        self.api = api
        self.config = config
        self.clock = clock
        self.health = health
        self.blocking = blocking
        self.observe = observe
        self.period = period
        self._wake = asyncio.Event()
        self.progress = asyncio.Event()  # set after each outcome or postponement (waiters clear it)
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._last_sent: dict[str, dt.datetime] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listening = False

    # ------------------------------------------------------------------ waking
    def listen(self) -> None:
        """Wake at once when a transaction that wrote an outbox row has committed (in any
        thread). A session event, as the engine's `commit` fires before the commit is done."""
        self._loop = asyncio.get_running_loop()
        if not self._listening:
            event.listen(Session, "after_commit", self._committed)
            self._listening = True

    def close(self) -> None:
        if self._listening:
            event.remove(Session, "after_commit", self._committed)
            self._listening = False

    def _committed(self, session: Session) -> None:
        # A session on the engine or on one of its connections (SQLite writers that BEGIN
        # IMMEDIATE); another database's commits are not ours.
        if session.get_bind().engine is not self.database.engine:
            return
        if not session.info.get(WAKE_FLAG):
            return
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
                self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def working(self) -> bool:
        """Whether some lane is being delivered right now."""
        return bool(self._busy)

    async def drained(self, within: float) -> None:
        """Wait until no row is pending (TimeoutError after `within` seconds): what a test
        waits for instead of sleeping."""
        async with asyncio.timeout(within):
            while True:
                self.progress.clear()
                if not self._busy and not await self.blocking(self._lane_heads):
                    return
                await self.progress.wait()

    # ------------------------------------------------------------------ the job
    async def run(self) -> None:
        """One run of `slack.drain`: deliver what is due for one period, then return."""
        if self._loop is None:
            self.listen()
        deadline = self.clock.now() + dt.timedelta(seconds=self.period)
        try:
            while (now := self.clock.now()) < deadline:
                self._wake.clear()
                heads = await self.blocking(self._lane_heads)
                waiting: list[dt.datetime] = []
                for lane, due in heads.items():
                    if lane in self._busy:
                        continue
                    if due > now:
                        waiting.append(due)
                    elif len(self._busy) < self.config.concurrent_channels:
                        self._busy[lane] = asyncio.create_task(self._work(lane, deadline))
                look = now + dt.timedelta(seconds=self.config.poll_seconds)
                await self._until(min([look, deadline, *waiting]))
        except asyncio.CancelledError:  # shutting down: a call cut short leaves its row in doubt
            for worker in self._busy.values():
                worker.cancel()
            raise
        finally:
            await asyncio.gather(*self._busy.values(), return_exceptions=True)

    async def _until(self, moment: dt.datetime) -> None:
        """Wait until `moment`, a commit that wrote a row, or a worker's end."""
        waits = [asyncio.ensure_future(self.clock.sleep_until(moment)),
                 asyncio.ensure_future(self._wake.wait()), *self._busy.values()]  # fmt: skip
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits[:2]:
                wait.cancel()

    async def _work(self, lane: str, deadline: dt.datetime) -> None:
        """Deliver `lane`'s due rows in order until it is empty, waiting, or the run ends."""
        try:
            while self.clock.now() < deadline:
                row = await self.blocking(self._head, lane)
                if row is None or row.next_attempt > self.clock.now():
                    return
                await self._pace(lane)
                await self._deliver(row)
        except Exception as exc:  # a bug (or the database down): this lane waits for the next run
            log.error("slack: lane %s stopped (error %s)", lane, new_error_id(), exc_info=exc)
            self.health.failure(BACKEND, f"internal error: {type(exc).__name__}")
        finally:
            self._busy.pop(lane, None)
            self._wake.set()
            self.progress.set()

    async def _pace(self, lane: str) -> None:
        last = self._last_sent.get(lane)
        if last is not None and self.config.pace_seconds > 0:
            await self.clock.sleep_until(last + dt.timedelta(seconds=self.config.pace_seconds))

    # ------------------------------------------------------------------ one row
    async def _deliver(self, row: Row) -> None:
        try:
            outcome = await self._attempt(row)
        except Rejected as exc:
            error_id = new_error_id()
            log.warning("slack: row %d (%s to %s) refused: %s (error %s)",
                        row.id, row.kind, row.lane, exc.message, error_id)  # fmt: skip
            outcome = Outcome("failed", reason=f"{exc.message} (error {error_id})")
        except Retry as exc:
            await self._retry(row, exc)
            return
        if outcome.state == "skipped":
            log.info("slack: row %d (%s to %s) skipped: %s",
                     row.id, row.kind, row.lane, outcome.reason)  # fmt: skip
        await self.blocking(self._finish, row, outcome, self.clock.now())
        self.progress.set()
        if outcome.state == "done":
            self.health.success(BACKEND)
            delay = (self.clock.now() - row.created_at).total_seconds()
            self.observe("delivered", delay, None)
        else:
            self.observe("failed", None, None)

    async def _attempt(self, row: Row) -> Outcome:
        if row.kind == "create_channel":
            return await self._create(row)
        channel = await self.blocking(self._channel_of, row.lane)
        if channel is None:
            return Outcome("skipped", reason="its channel was never created")
        if row.kind in ("post", "reply"):
            return await self._post(row, channel)
        target = await self.blocking(self._mapped, row.lane, row.source_key)
        if target is None or target.deleted:
            return Outcome("skipped", reason="no Slack message to change (never mirrored)")
        if row.kind == "edit":
            if await self.blocking(self._superseded, row):
                return Outcome("skipped", reason="superseded by a later change")
            await self._send(row, self.api.edit(channel, target.ts, self._post_of(row)))
        elif row.kind == "delete":
            await self._send(row, self.api.delete(channel, target.ts))
        elif row.kind == "archive_channel":
            await self._send(row, self.api.archive_channel(channel))
        else:
            return Outcome("failed", reason=f"unknown kind {row.kind!r}")
        return Outcome("done", channel, target.ts)

    async def _post(self, row: Row, channel: str) -> Outcome:
        thread_ts = None
        if row.kind == "reply":
            parent = await self.blocking(self._mapped, row.lane, row.parent_key)
            if parent is None and (first := await self.blocking(self._queued_parent, row)):
                # Written after its reply in one transaction (a declare): the thread's
                # parent goes first, whatever the ids say.
                await self._deliver(first)
                parent = await self.blocking(self._mapped, row.lane, row.parent_key)
                if parent is None:
                    raise Retry("waiting for its thread's parent", maybe_sent=False)
                await self._pace(row.lane)
            if parent is None or parent.deleted:
                return Outcome("skipped", reason="its thread's parent is not in Slack")
            thread_ts = parent.ts
        if row.in_doubt:
            try:
                ts = await self._call(self.api.find(channel, row.id, thread_ts))
            except Retry as exc:  # the lookup failed: the doubt stays
                raise Retry(exc.message, maybe_sent=True, retry_after=exc.retry_after) from exc
            if ts is not None:
                log.info("slack: row %d was delivered before a crash; recorded", row.id)
                return Outcome("done", channel, ts)
        post = self._post_of(row)
        broadcast = bool(row.payload.get("broadcast"))
        ts = await self._send(row, self.api.post(
            channel, post, metadata=row.metadata, thread_ts=thread_ts, broadcast=broadcast,
        ))  # fmt: skip
        return Outcome("done", channel, ts)

    async def _create(self, row: Row) -> Outcome:
        name, topic = str(row.payload["name"]), str(row.payload.get("topic", ""))
        # In doubt (a crash or timeout during an earlier try), "name taken" is most likely
        # the channel that try created: it is adopted rather than refused.
        channel = await self._send(row, self.api.create_channel(name, topic, adopt=row.in_doubt))
        return Outcome("done", channel, "")

    def _post_of(self, row: Row) -> Post:
        try:
            return post_from_json(row.payload.get("post"))
        except (ValueError, KeyError, TypeError) as exc:
            raise Rejected(BACKEND, f"malformed outbox row: {exc}") from exc

    async def _send(self, row: Row, call: Awaitable[T]) -> T:
        """Mark the attempt (committed), then make the call: a crash in between leaves the
        row in doubt, looked for before it is sent again."""
        await self.blocking(self._mark_attempt, row.id)
        self._last_sent[row.lane] = self.clock.now()
        return await self._call(call)

    async def _call(self, call: Awaitable[T]) -> T:
        """Await a Slack call within its time; a failure Slack did not sort is a `Retry`
        that may have been done."""
        timeout = self.config.retry.request_timeout_seconds
        try:
            async with asyncio.timeout(timeout * (self.config.retry.client_retries + 1) + 1):
                return await call
        except (Rejected, Retry):
            raise
        except TimeoutError:
            raise Retry("Slack did not answer in time", maybe_sent=True) from None
        except Exception as exc:  # network errors and the like: not known to be done
            raise Retry(f"{type(exc).__name__}: {exc}", maybe_sent=True) from exc

    async def _retry(self, row: Row, exc: Retry) -> None:
        attempts = row.attempts + 1
        if exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = self.config.retry.first_seconds * 2 ** min(attempts - 1, 20)
        wait = min(wait, self.config.retry.max_seconds)
        at = self.clock.now() + dt.timedelta(seconds=wait)
        await self.blocking(self._postpone, row, at, exc.maybe_sent, exc.message, self.clock.now())
        self.observe("retry", None, None)
        self.progress.set()
        self.health.failure(BACKEND, exc.message)
        if self.health.failure_streak_started(BACKEND):
            log.warning("slack: delivery failing, retrying with backoff: %s", exc.message)

    # ------------------------------------------------------------------ the database
    def _lane_heads(self) -> dict[str, dt.datetime]:
        """Each lane with pending rows -> when its oldest pending row is due."""
        with self.database.session() as session:
            first = (
                select(
                    OutboxRow.lane,
                    func.min(OutboxRow.id).label("head"),
                    func.count().label("pending"),
                )
                .where(OutboxRow.state == "pending")
                .group_by(OutboxRow.lane)
                .subquery()
            )
            rows = session.execute(
                select(OutboxRow.lane, OutboxRow.next_attempt, first.c.pending).join(
                    first, OutboxRow.id == first.c.head
                )
            ).all()
        # One head per lane with pending rows: the lanes' counts add up to every pending row.
        self.observe("depth", None, sum(int(pending) for _, _, pending in rows))
        return {lane: due for lane, due, _ in rows}

    def _head(self, lane: str) -> Row | None:
        with self.database.session() as session:
            found = session.scalars(
                select(OutboxRow)
                .where(OutboxRow.lane == lane, OutboxRow.state == "pending")
                .order_by(OutboxRow.id)
                .limit(1)
            ).first()
            return None if found is None else _as_row(found)

    def _queued_parent(self, row: Row) -> Row | None:
        """The pending post that will be `row`'s thread parent, if one waits in its lane."""
        with self.database.session() as session:
            found = session.scalars(
                select(OutboxRow).where(
                    OutboxRow.lane == row.lane,
                    OutboxRow.source_key == row.parent_key,
                    OutboxRow.kind == "post",
                    OutboxRow.state == "pending",
                )
            ).first()
            return None if found is None else _as_row(found)

    def _channel_of(self, lane: str) -> str | None:
        """The Slack channel id of `lane`: itself, or the channel created for it."""
        if not lane.startswith("@"):
            return lane
        mapped = self._mapped(lane, lane)
        return None if mapped is None else mapped.channel_id

    def _mapped(self, lane: str, key: str | None) -> MirroredMessage | None:
        if key is None:
            return None
        with self.database.session() as session:
            return session.get(MirroredMessage, (key, lane))

    def _superseded(self, row: Row) -> bool:
        with self.database.session() as session:
            later = session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(
                    OutboxRow.lane == row.lane,
                    OutboxRow.source_key == row.source_key,
                    OutboxRow.kind.in_(("edit", "delete")),
                    OutboxRow.state == "pending",
                    OutboxRow.id > row.id,
                )
            )
        return bool(later)

    def _mark_attempt(self, row_id: int) -> None:
        with self.database.session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(attempts=OutboxRow.attempts + 1, in_doubt=True)
            )

    def _postpone(
        self, row: Row, at: dt.datetime, maybe_sent: bool, error: str, now: dt.datetime
    ) -> None:
        with self.database.session() as session:
            values: dict[str, Any] = {"next_attempt": at, "last_error": error[:300]}
            if not maybe_sent:  # Slack answered "not done": the doubt (if any) is gone
                values["in_doubt"] = False
            session.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(**values))
            _lane_status(session, row.lane, error=error, now=now)

    def _finish(self, row: Row, outcome: Outcome, now: dt.datetime) -> None:
        """Record the outcome and, for a delivered row, the map entry: one transaction."""
        with self.database.session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row.id)
                .values(
                    state=outcome.state, finished_at=now, in_doubt=False, last_error=outcome.reason
                )
            )
            if outcome.state != "done":
                if outcome.state == "failed":
                    _lane_status(session, row.lane, error=outcome.reason or "failed", now=now)
                return
            _lane_status(session, row.lane, now=now)
            if row.kind in ("post", "reply", "create_channel") and row.source_key is not None:
                entry = {"source_key": row.source_key, "lane": row.lane,
                         "channel_id": outcome.channel_id, "ts": outcome.ts,
                         "outbox_id": row.id, "deleted": False, "created_at": now}  # fmt: skip
                upsert(session, MirroredMessage, entry, keys=("source_key", "lane"))
            elif row.kind in ("delete", "archive_channel"):
                session.execute(
                    update(MirroredMessage)
                    .where(MirroredMessage.lane == row.lane,
                           MirroredMessage.source_key == row.source_key)
                    .values(deleted=True)
                )  # fmt: skip


def _as_row(found: OutboxRow) -> Row:
    return Row(
        found.id, found.lane, found.kind, found.payload, found.source_key, found.parent_key,
        found.attempts, found.in_doubt, found.next_attempt, found.created_at,
    )  # fmt: skip


def _lane_status(
    session: Session, lane: str, *, now: dt.datetime, error: str | None = None
) -> None:
    status = session.get(LaneStatus, lane)
    if status is None:
        status = LaneStatus(lane=lane)
        session.add(status)
    if error is None:
        status.last_success = now
    else:
        status.last_error, status.last_error_at = error[:1000], now
