"""Threader figures: first full sync, idle and busy cycles, and the SIGKILL crash run.

    python bench/threader.py [--threads 200] [--messages 2000] [--kills N]
                             [--redmine-port 4012] [--database URL] [--only sync,idle,...]
    NETBOT_THREADER_KILLS=200 (default here) sets the crash run's kills.

The world is fakes/threader_world.py's: the REAL Redmine from scripts/redmine/up.sh (reset to
its seed) behind fakes/redmine_proxy.py, which counts the threader's Redmine requests; the
fake Discord in this process, which counts its Discord requests (CDN downloads included);
``threader.py`` as a subprocess on a SQLite file (or ``--database``).

Sections, in order (``--only`` picks some; ``sync`` always runs first, the rest need it):

- ``sync``: ``--threads`` tickets enrolled (their ``discord-thread`` field names a thread;
  one ``--once`` run enrols them), then ``--messages`` messages, half written by people in
  the threads, half notes added in Redmine as admin/alice/bob; the wall time of the first
  full sync (``--once`` runs until one writes nothing) and its requests;
- ``idle``: ``threader.py --every`` with nothing new: requests per cycle, each backend
  counted on the wire between the cycle's log lines (the target: at most 2 Redmine and 1
  Discord request, whatever the number of enrolled tickets);
- ``changed``: the same with 10 tickets changed between two cycles (5 threads with a new
  message, 5 tickets with a new note);
- ``crash``: ``--once`` SIGKILLed at ``--kills`` random points (after the fake Discord's Nth
  write, after Redmine's Nth write, at the Nth request) amid traffic both ways and a 429
  storm now and then; then it finishes and both sides are compared: duplicates, losses.

Prints numbers; asserts nothing. Stop the Redmine afterwards: scripts/redmine/down.sh PORT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.network_guard import install as install_network_guard
from fakes.threader_world import REDMINE_WRITERS, ThreaderWorld

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("sync", "idle", "changed", "crash")
IDLE_CYCLES = 3
PERIOD_SECONDS = 2.0  # between cycles in --every: room to change tickets in between


def start_redmine(port: int) -> tuple[str, dict[str, Any]]:
    """scripts/redmine/up.sh PORT, reset to its seed: the URL and the seed's info."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "redmine" / "up.sh"), str(port)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900,
        env=dict(os.environ, REDMINE_RESET="1"),
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"scripts/redmine/up.sh {port} failed ({done.returncode}): {done.stderr[-800:]}")
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return values["REDMINE_URL"], json.loads(Path(values["REDMINE_INFO_JSON"]).read_text())


def show(counts: Counter[str]) -> str:
    return ", ".join(f"{key} x{n}" for key, n in sorted(counts.items())) or "none"


async def section_sync(world: ThreaderWorld, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    tickets = await world.new_tickets(args.threads, subject="bench")
    await world.enrol(tickets)
    await world.run("--once")
    setup = time.perf_counter() - started
    said = args.messages // 2
    started = time.perf_counter()
    for n in range(said):
        world.say(tickets[n % len(tickets)], world.people[n % len(world.people)], "bench")
    await asyncio.gather(
        *(
            world.note(tickets[n % len(tickets)], REDMINE_WRITERS[n % len(REDMINE_WRITERS)])
            for n in range(args.messages - said)
        )
    )
    traffic = time.perf_counter() - started
    before = len(world.runs)
    started = time.perf_counter()
    await world.settle(max_runs=20, within=3600)
    wall = time.perf_counter() - started
    runs = world.runs[before:]
    print(f"setup: {args.threads} tickets created and enrolled in {setup:.1f} s; "
          f"{args.messages} messages written in {traffic:.1f} s")  # fmt: skip
    print(f"first full sync: {wall:.1f} s wall over {len(runs)} --once run(s) "
          "(the last one found nothing to do)")  # fmt: skip
    for n, run in enumerate(runs):
        print(f"  run {n}: {run.seconds:.1f} s, Redmine {run.redmine_requests} requests, "
              f"Discord {run.discord_requests} requests, {run.writes} writes")  # fmt: skip
    verdict = await world.compare()
    print(f"after the first sync: {verdict.summary()}")


async def section_idle(world: ThreaderWorld, args: argparse.Namespace) -> None:
    cycles = await world.cycles(IDLE_CYCLES + 1, PERIOD_SECONDS)
    for n, (discord, redmine) in enumerate(cycles[1:], 1):  # the first one also re-reads
        print(f"idle cycle {n}: Redmine {sum(redmine.values())} ({show(redmine)}); "
              f"Discord {sum(discord.values())} ({show(discord)})")  # fmt: skip
    print(f"  first cycle of the process: Redmine {sum(cycles[0][1].values())}, "
          f"Discord {sum(cycles[0][0].values())} (target for idle: <= 2 and <= 1)")  # fmt: skip


async def section_changed(world: ThreaderWorld, args: argparse.Namespace) -> None:
    tickets = list(world.threads)
    changed = world.rng.sample(tickets, 10)

    async def change(cycle: int) -> None:
        if cycle != 2:
            return
        for n, ticket in enumerate(changed):
            if n % 2:
                await world.note(ticket, REDMINE_WRITERS[n % len(REDMINE_WRITERS)], "changed")
            else:
                world.say(ticket, world.people[n % len(world.people)], "changed")

    cycles = await world.cycles(5, PERIOD_SECONDS, after_cycle=change)
    for n, (discord, redmine) in enumerate(cycles[2:], 1):
        print(f"cycle {n} after 10 tickets changed: Redmine {sum(redmine.values())} "
              f"({show(redmine)}); Discord {sum(discord.values())} ({show(discord)})")  # fmt: skip
    verdict = await world.compare()
    print(f"after the changes: {verdict.summary()}")


async def section_crash(world: ThreaderWorld, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    done = await world.crash_run(args.kills)
    await world.settle(max_runs=10, within=3600)
    wall = time.perf_counter() - started
    verdict = await world.compare()
    runs = done.pop("runs")
    print(f"crash: {done.total()} kills ({show(done)}) in {runs} runs, {wall:.0f} s; "
          f"{verdict.summary()}; early 429 retries {len(world.fake.early_retries)}")  # fmt: skip
    for line in (verdict.duplicates + verdict.losses + verdict.echoes)[:20]:
        print(f"  {line}")


RUNNERS: dict[str, Callable[[ThreaderWorld, argparse.Namespace], Coroutine[Any, Any, None]]] = {
    "sync": section_sync,
    "idle": section_idle,
    "changed": section_changed,
    "crash": section_crash,
}


async def main(args: argparse.Namespace) -> None:
    url, info = start_redmine(args.redmine_port)
    wanted = {"sync", *args.only.split(",")} if args.only else set(SECTIONS)
    with tempfile.TemporaryDirectory(prefix="bench-threader-") as tmp:
        async with ThreaderWorld(url, info, Path(tmp), database_url=args.database) as world:
            for name in SECTIONS:
                if name in wanted:
                    await RUNNERS[name](world, args)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument(
        "--kills", type=int, default=int(os.environ.get("NETBOT_THREADER_KILLS", "200"))
    )
    parser.add_argument("--redmine-port", type=int, default=4012)
    parser.add_argument("--database", default=None, help="default: a SQLite file")
    parser.add_argument("--only", default="", help=f"comma-separated, of {','.join(SECTIONS)}")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    install_network_guard()
    asyncio.run(main(parse()))
