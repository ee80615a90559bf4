"""Alert latency: from an event appearing in the Event API to its post arriving at Discord.

    python bench/alerts_latency.py --poll 10 --events 40 [--seconds N] [--seed S]
    python bench/alerts_latency.py --poll 60 --events 40

The alert stack as `netbot.alerts.build` makes it, with real time: FakeKontur (HTTP on
127.0.0.1) -> KonturClient -> AlertEngine on the supervisor's `alerts.poll` job (SystemClock)
-> a chat Target that notes when each post arrives (the Discord side is measured by the
tests, not here). After the engine's first poll (which only records the cursor), EVENTS qualifying
events are added to the fake feed at random moments spread uniformly over N seconds (default
max(3 * poll, 120)), so an event's appearance is independent of the poll phase. For each event:
t_added (the fake's `added_at`), t_served (the fake's `first_served`: the poll's response that
first carried it) and t_posted (when the target received the post whose link ends with the
eventId). Prints polls done, events
delivered, end-to-end delay (t_posted - t_added) and processing latency (t_posted - t_served)
as median / p95 / max, and the median expected for uniform arrival (poll/2 + processing).
Stops by itself (at the latest N + poll + 30 s after the first poll). Only 127.0.0.1 is
reachable: any other connection or name lookup is refused. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import percentile
from fakes.alert_events import make_event
from fakes.kontur import FakeKontur
from fakes.network_guard import install as install_network_guard
from netbot.alerts import POLL_JOB, build
from netbot.capabilities import parse_config
from netbot.chat import Post, PostRef
from netbot.core.db import Database
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secret, Secrets

FEED = "kontur-public"
MAP_LINK_PREFIX = "https://disaster.ninja/active/?event="


# -- the target -------------------------------------------------------------------------------


class ArrivalTarget:
    """A chat target that notes when each alert post (by eventId) arrives."""

    name = "bench"

    def __init__(self, expected: set[str]) -> None:
        self.expected = expected
        self.posted: dict[str, float] = {}  # eventId -> time.monotonic() when posted
        self.links: list[str] = []  # every alert link posted, duplicates included
        self.all_arrived = asyncio.Event()  # set once every expected event was posted

    async def post(self, post: Post) -> PostRef:
        now = time.monotonic()
        link = post.link or ""
        if link.startswith(MAP_LINK_PREFIX):
            self.links.append(link)
            self.posted.setdefault(link.removeprefix(MAP_LINK_PREFIX), now)
            if self.expected <= self.posted.keys():
                self.all_arrived.set()
        return PostRef(self.name, "0", str(len(self.links)))

    async def edit(self, ref: PostRef, post: Post) -> None:
        raise NotImplementedError("alerts never edit a post")

    async def delete(self, ref: PostRef) -> None:
        raise NotImplementedError("alerts never delete a post")

    def duplicates(self) -> int:
        return len(self.links) - len(set(self.links))


def make_runtime(kontur: FakeKontur, db: Database, poll: int) -> Runtime:
    config = parse_config(
        {
            "guilds": [1],
            "cogs": {"tickets": False},
            "alerts": {
                "channel_id": 1,
                "api_url": kontur.api_url,
                "token_url": kontur.token_url,
                "poll_seconds": poll,
            },
        }
    )
    env: dict[str, str | Secret] = {
        "KONTUR_USERNAME": kontur.username,
        "KONTUR_PASSWORD": Secret(kontur.password),
    }
    return Runtime(config=config, secrets=Secrets(env=env), database=db)


# -- the world --------------------------------------------------------------------------------


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (
        f"median {statistics.median(samples):7.3f}  p95 {percentile(samples, 95):7.3f}  "
        f"max {max(samples):7.3f} s"
    )


async def bench(poll: int, count: int, spread: float, seed: int) -> None:
    rng = random.Random(seed)
    ids = [f"00000000-0000-4000-8000-{0xB000 + n:012x}" for n in range(count)]
    offsets = sorted(rng.uniform(0, spread) for _ in ids)
    last_stamp = [dt.datetime.min.replace(tzinfo=dt.UTC)]

    with tempfile.TemporaryDirectory(prefix="netbot-bench-") as tmp:
        db = Database.open(f"sqlite:///{Path(tmp) / 'netbot.sqlite3'}")
        arrivals = ArrivalTarget(set(ids))
        try:
            async with FakeKontur() as kontur:
                runtime = make_runtime(kontur, db, poll)
                # an old event, so the first start takes its cursor from the feed (as the tests)
                old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
                kontur.add_event(make_event("00000000-0000-4000-8000-00000000a000", updated_at=old))

                def add(event_id: str) -> None:
                    # updatedAt is "now" in milliseconds, strictly after the previous event's:
                    # the feed's order is the order of appearance, as on the real API
                    stamp = max(
                        dt.datetime.now(dt.UTC), last_stamp[0] + dt.timedelta(milliseconds=1)
                    )
                    last_stamp[0] = stamp
                    kontur.add_event(make_event(event_id, updated_at=stamp, started_at=stamp))

                engine = build(runtime, arrivals)
                print(
                    f"poll {poll} s ({type(engine.clock).__name__}), {count} events spread over "
                    f"{spread:g} s, seed {seed}",
                    flush=True,
                )
                started = time.monotonic()
                first_run = runtime.supervisor.jobs[POLL_JOB].done
                runtime.supervisor.start()
                try:
                    await asyncio.wait_for(first_run.wait(), 60)
                    first_poll = time.monotonic()
                    loop = asyncio.get_running_loop()
                    base = loop.time()
                    for event_id, offset in zip(ids, offsets, strict=True):
                        loop.call_at(base + offset, add, event_id)
                    try:
                        await asyncio.wait_for(arrivals.all_arrived.wait(), spread + poll + 30)
                    except TimeoutError:
                        print(f"stopped waiting: {len(arrivals.posted)} of {count} alert posts")
                finally:
                    await runtime.supervisor.stop()
                    await engine.close()
                requests = kontur.api_requests()
                # one search per poll (a page holds 100 events): requests after the first
                polls = sum(r.at > first_poll for r in requests)
                posted, added = dict(arrivals.posted), dict(kontur.added_at)
                served = dict(kontur.first_served)
                if kontur.failures:  # printed here rather than raised by the fake at exit
                    print("fake failures:\n  - " + "\n  - ".join(kontur.failures))
                    kontur.failures.clear()
        finally:
            db.close()

    ended = time.monotonic()
    done = [i for i in ids if i in posted and i in added]
    delays = [posted[i] - added[i] for i in done]
    processing = [posted[i] - served[i] for i in done if i in served]
    api_times = sorted(r.at for r in requests)
    batches: dict[float, list[str]] = {}
    for i in done:  # the poll (its Kontur request) that first served the event
        request = max((t for t in api_times if t <= served[i]), default=served[i])
        batches.setdefault(request, []).append(i)
    first_posts = [min(posted[i] for i in b) - min(served[i] for i in b) for b in batches.values()]
    gaps = [
        later - earlier
        for b in batches.values()
        for earlier, later in zip(
            sorted(posted[i] for i in b), sorted(posted[i] for i in b)[1:], strict=False
        )
    ]
    sizes = [len(b) for b in batches.values()]

    print(
        f"wall time {ended - started:.0f} s (bot start to first poll "
        f"{first_poll - started:.2f} s); polls after the first: {polls}; "
        f"Kontur API requests: {len(requests)}"
    )
    print(f"events delivered: {len(done)} / {count}; duplicate posts: {arrivals.duplicates()}")
    print(f"end-to-end delay (added -> posted):     {summary(delays)}")
    print(f"processing latency (served -> posted):  {summary(processing)}")
    print(
        f"  per poll with new events: {len(batches)} polls, events per poll median "
        f"{statistics.median(sizes) if sizes else 0:g} max {max(sizes, default=0)}; first post "
        f"of a poll {summary(first_posts)}; next posts every "
        f"{statistics.median(gaps) * 1000 if gaps else 0:.1f} ms (median)"
    )
    if processing:
        expected = poll / 2 + statistics.median(processing)
        print(
            f"expected median for uniform arrival: poll/2 + processing = {poll / 2:g} + "
            f"{statistics.median(processing):.3f} = {expected:.3f} s "
            f"(measured {statistics.median(delays):.3f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=int, default=10, help="alerts.poll_seconds (>= 10)")
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--seconds", type=float, help="spread events over N s (max(3*poll,120))")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.poll < 10:
        parser.error("--poll: alerts.poll_seconds has a minimum of 10")
    spread = args.seconds if args.seconds is not None else max(3 * args.poll, 120)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.utils").setLevel(logging.ERROR)  # "voice will NOT be supported"
    install_network_guard()
    asyncio.run(bench(args.poll, args.events, spread, args.seed))


if __name__ == "__main__":
    main()
