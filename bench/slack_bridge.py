"""The Slack bridge's speed: delivery delay, backlog drain time, event-loop lag; and the crash
run with many kills.

    python bench/slack_bridge.py [--samples 30] [--backlog 600] [--channels 10] [--kills 0]

The bridge as `netbot.slack.build` makes it (real clock, supervisor, SQLite in a temporary
directory) against the fake Slack, which runs on its own thread and event loop with 100 ms
of latency per request and Slack's pacing (one message a second per channel with a burst
of 2, 429 past it):

1. delay: a mirror is written the way the alert engine writes it right after its Discord
   post returned (the outbox row in the transaction recording the post); the delay is from
   that moment to the Slack message's ts, for SAMPLES mirrors to one idle channel (one
   every 1.1 s), p50 / p95 / max;
2. drain: BACKLOG mirrors over CHANNELS channels written at once; the time until Slack holds
   the last one, against the floor Slack's pace sets ((BACKLOG / CHANNELS - 1) s), the
   ratio, and the 429s Slack answered;
3. loop lag: the bot's event loop (netbot.core.looplag probe, 10 ms ticks) while (2) drains:
   the worst lateness and the p99 over 1 s windows.

`--kills N` then runs tests/test_slack_bridge_crash.py with NETBOT_SLACK_KILLS=N (SIGKILL
of a draining process at N random points; 100+ for the issue's figure) and prints its
outcome. Only 127.0.0.1 is reachable. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import percentile
from fakes.network_guard import install as install_network_guard
from fakes.slack import FakeSlack
from netbot.capabilities import env_vars, migration_dirs, parse_config
from netbot.chat import Post
from netbot.core.db import Database
from netbot.core.looplag import LoopLagProbe
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets
from netbot.slack import Bridge, Outbox, build, mirror

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
LATENCY = 0.1


class SlackThread:
    """The fake Slack on a thread of its own: its work never shows as the bot's loop lag."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = self.run(self._start())

    async def _start(self) -> FakeSlack:
        fake = FakeSlack(pace_interval=1.0, burst=2, latency=LATENCY, default_timeout=600)
        return await fake.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    async def wait(self, channel: str, count: int) -> None:
        work = self.fake.wait_for_messages(channel, count, within=600)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    def close(self) -> None:
        self.run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


def runtime_on(slack: FakeSlack, database: Database, routes: dict[str, list[str]]) -> Runtime:
    config = parse_config({"guilds": [1], "cogs": {"tickets": False, "alerts": False},
                           "slack": {"base_url": slack.base_url, "routes": routes,
                                     "concurrent_channels": 20}})  # fmt: skip
    secrets = Secrets.from_mapping({"SLACK_BOT_TOKEN": slack.token}, env_vars())
    return Runtime(config=config, secrets=secrets, database=database)


async def written(database: Database, outbox: Outbox, posts: list[tuple[str, str, Post]]) -> None:
    """The mirrors written in one transaction, as the alert engine's record writes them."""

    def write() -> None:
        with database.session() as session:
            for source, key, post in posts:
                outbox.post(session, source, key, post)

    await asyncio.to_thread(write)


async def measure_delay(slack: SlackThread, database: Database, samples: int) -> list[float]:
    channel = slack.fake.add_channel("delay")
    runtime = runtime_on(slack.fake, database, {"alerts": [channel]})
    bridge, outbox = build(runtime), mirror(runtime)
    assert outbox is not None
    runtime.supervisor.start()
    delays = []
    try:
        for n in range(samples):
            posted = time.time()  # the Discord post returned; its record and mirror follow
            await written(database, outbox, [("alerts", f"d:{n}", Post(body=f"delay {n}"))])
            await slack.wait(channel, n + 1)
            delays.append(float(slack.fake.messages(channel)[n].ts) - posted)
            await asyncio.sleep(max(0.0, posted + 1.1 - time.time()))  # the channel goes idle
    finally:
        await stop(runtime, bridge)
    return delays


async def measure_drain(
    slack: SlackThread, database: Database, backlog: int, width: int
) -> tuple[float, list[float], int]:
    channels = [slack.fake.add_channel(f"drain-{n}") for n in range(width)]
    runtime = runtime_on(slack.fake, database, {"alerts": channels})
    bridge, outbox = build(runtime), mirror(runtime)
    assert outbox is not None
    each = backlog // width  # each mirror goes to every channel
    await written(database, outbox, [("alerts", f"b:{n}", Post(body=f"backlog {n}"))
                                     for n in range(each)])  # fmt: skip
    probe, windows = LoopLagProbe(), []
    done = asyncio.Event()

    async def lag() -> None:
        while not done.is_set():
            windows.append(await probe.window(1.0))

    started = time.perf_counter()
    runtime.supervisor.start()
    sampler = asyncio.create_task(lag())
    try:
        for channel in channels:
            await slack.wait(channel, each)
        took = time.perf_counter() - started
    finally:
        done.set()
        await sampler
        await stop(runtime, bridge)
    refused = sum(1 for call in slack.fake.calls_to("chat.postMessage") if call.status == 429)
    return took, windows, refused


async def stop(runtime: Runtime, bridge: Bridge) -> None:
    await runtime.supervisor.stop()
    await bridge.close()
    runtime.workers.close()
    runtime.database_probe.close()


def crash_run(kills: int) -> None:
    started = time.perf_counter()
    env = {**os.environ, "NETBOT_SLACK_KILLS": str(kills)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x",
         "tests/test_slack_bridge_crash.py", "-k", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines() or ["(no output)"]
    print(f"crash run: {kills} SIGKILLs while draining, then one last drain: {lines[-1]} "
          f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    for line in (line for line in lines if line.startswith("E ")):
        print(f"  {line}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--backlog", type=int, default=600)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--kills", type=int, default=0)
    args = parser.parse_args()
    install_network_guard()
    slack = SlackThread()
    with tempfile.TemporaryDirectory() as directory:
        database = Database.open(f"sqlite:///{directory}/bench.sqlite3", migration_dirs())
        try:
            delays = await measure_delay(slack, database, args.samples)
            print(f"delay Discord post -> Slack post (fake Slack {ms(LATENCY)} per request, "
                  f"idle channel, {len(delays)} mirrors): p50 {ms(statistics.median(delays))}, "
                  f"p95 {ms(percentile(delays, 95))}, max {ms(max(delays))}")  # fmt: skip
            took, windows, refused = await measure_drain(
                slack, database, args.backlog, args.channels
            )
            floor = args.backlog / args.channels - 1
            print(f"drain {args.backlog} mirrors over {args.channels} channels: {took:.1f} s; "
                  f"floor {floor:.0f} s (1 message/s/channel): ratio {took / floor:.2f}; "
                  f"429s answered: {refused}")  # fmt: skip
            print(f"event-loop lag while draining ({len(windows)} 1 s windows): worst "
                  f"{ms(max(windows))}, p99 {ms(percentile(windows, 99))}, median "
                  f"{ms(statistics.median(windows))}")  # fmt: skip
        finally:
            database.close()
            slack.close()
    if args.kills:
        crash_run(args.kills)


if __name__ == "__main__":
    asyncio.run(main())
