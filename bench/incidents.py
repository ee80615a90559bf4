"""Declaring an incident: from the declare form's submit to the channel, the invites and the
headline being in place, with Discord's latency, and how many Discord requests it takes.

    python bench/incidents.py [--runs 5] [--latency 0.1] [--invitees 5] [--roles 2]

The real bot (`create_bot`, cogs.incidents on netbot.incidents, SQLite) against the fake
Discord on 127.0.0.1, whose every REST answer is held back `--latency` seconds (Discord's
typical ~100 ms). Each run is a person's declare: `/incident declare`, the form, severity
"critical" chosen (its auto-invite list has `--invitees` members and `--roles` roles), then
Declare; the clock starts at the Declare press (the submit that declares; the form before it
is a person typing) and stops when the fake holds the channel with every invitee's access,
the first message mentioning them, and the headline post. Requests are the REST calls the
fake answered in between (interaction callbacks included), by route. Prints numbers;
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.discord import FakeDiscord
from fakes.network_guard import install as install_network_guard
from netbot.capabilities import migration_dirs
from netbot.core.db import Database
from netbot.core.tasks import ManualClock
from tests.plugins.world import BotWorld

OFF = {"tickets": False, "alerts": False, "slack": False, "netbox": False, "threader": False}
WITHIN = 60.0


def template(path: str) -> str:
    """A request path with its ids (and tokens) replaced, to count requests by route."""
    parts = [
        "{id}" if part.isdigit() or part.startswith("token-") else part for part in path.split("/")
    ]
    return "/".join(parts)


async def one_declare(
    world: BotWorld, n: int, latency: float, headline_id: str
) -> tuple[float, list[str]]:
    """One declare; (seconds from the Declare press until all is in place, its requests)."""
    fake = world.fake
    fake.latency = 0.0  # the person's part is not measured
    opener = await fake.slash("incident declare", {"title": f"Bench outage {n}"})
    choices = await world.submit_modal(
        opener, {"title": f"Bench outage {n}", "summary": "benchmark", "impact": "none"}
    )
    severity = next(
        c["custom_id"]
        for c in choices.all_components()
        if c.get("custom_id", "").endswith(":severity")
    )
    await (await fake.select(choices, severity, ["critical"])).response()
    fake.latency = latency
    before = len(fake.requests)
    started = time.perf_counter()
    answer = await world.press(choices, "Declare")
    space_id = answer.content.split("<#")[1].split(">")[0]
    number = "#" + answer.content.split("#")[1].split()[0]

    def in_place() -> bool:
        space = fake.channels.get(space_id)
        if space is None:
            return False
        welcome = [m for m in fake.messages_in(space) if m.payload.get("mentions")]
        headline = [
            m for m in fake.messages_in(headline_id) if number in str(m.payload.get("embeds"))
        ]
        return bool(welcome and headline)

    await fake.wait_until(in_place, "the channel, the invites and the headline", WITHIN)
    elapsed = time.perf_counter() - started
    requests = [f"{r.method} {template(r.path)}" for r in fake.requests[before:]]
    return elapsed, requests


async def bench(runs: int, latency: float, invitees: int, roles: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="netbot-bench-") as tmp:
        database = Database.open(f"sqlite:///{Path(tmp) / 'netbot.sqlite3'}", migration_dirs())
        async with FakeDiscord(default_timeout=WITHIN) as fake:
            users = [
                fake.add_member(fake.guild, fake.add_user(f"oncall-{n}")) for n in range(invitees)
            ]
            role_ids = [fake.add_role(fake.guild, f"team-{n}")["id"] for n in range(roles)]
            category = fake.add_category(fake.guild, "Incidents")
            headline = fake.add_channel(fake.guild, "incidents")
            config = {
                "guilds": [int(fake.guild["id"])],
                "cogs": OFF,
                "incidents": {
                    "category_ids": [int(category["id"])],
                    "headline_channel_id": int(headline["id"]),
                    "severities": [
                        {
                            "name": "critical",
                            "invite": {
                                "users": [int(u["id"]) for u in users],
                                "roles": [int(r) for r in role_ids],
                            },
                        },
                        {"name": "minor"},
                    ],
                    "reminder_poll_seconds": 86400,
                },
            }
            world = BotWorld(fake, database, ManualClock(dt.datetime.now(dt.UTC)), config, {})
            await world.start()
            try:
                samples: list[float] = []
                counts: list[int] = []
                routes: collections.Counter[str] = collections.Counter()
                for n in range(1, runs + 1):
                    seconds, requests = await one_declare(world, n, latency, headline["id"])
                    samples.append(seconds)
                    counts.append(len(requests))
                    routes.update(requests)
            finally:
                fake.latency = 0.0
                await world.stop()
                database.close()
    print(
        f"incidents declare: {runs} runs, Discord latency {latency * 1000:.0f} ms per request, "
        f"{invitees} invited members + {roles} roles"
    )
    print(
        f"  Declare press -> channel + invites + headline in place: median "
        f"{statistics.median(samples):.3f} s, min {min(samples):.3f} s, max {max(samples):.3f} s"
    )
    print(f"  Discord requests per declare: median {statistics.median(counts):.0f} (all: {counts})")
    for route, count in sorted(routes.items(), key=lambda kv: -kv[1]):
        print(f"    {count / runs:5.1f}  {route}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per Discord request")
    parser.add_argument("--invitees", type=int, default=5)
    parser.add_argument("--roles", type=int, default=2)
    args = parser.parse_args()
    install_network_guard()
    asyncio.run(bench(args.runs, args.latency, args.invitees, args.roles))


if __name__ == "__main__":
    main()
