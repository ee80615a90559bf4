"""Alert rules cost: parse, rules.poll and messages over one realistic 1,000-event page.

    python bench/alerts_rules.py [--reps N] [--seed S]

No network: the page is synthetic (fakes.alert_events.make_event), with the mix a busy feed
has: eight types, six severities (the latest episode's differs from the event's), populations
from none to millions, ended events, versions, analytics for the message rows, and updatedAt
spread over the last 7 hours. The state has a cursor 6 hours back and 200 events notified
before (some earlier today, so "already notified today" applies), which leaves about 30% of
the page to notify under the default rules. Times over N repetitions (>= 200):
(a) parse_events of the page's `data`, (b) rules.poll from that state, (c) alert_message for
the notified events, (d) the whole pipeline from the JSON text (json.loads included).
Prints p50/p95/max in ms and the per-event cost in µs.

Then the scale figures (issue 10): rules.poll on a 100-event and a 5,000-event page with
200, 5,000 and 20,000 notifications stored (targets: 100 events with 20,000 stored at most
5 ms), a replay of 100,000 events (100 polls of 1,000, ten minutes apart, in process:
target under 30 s), and `python -m netbot.alerts replay` on the fixtures' first page (a fresh
process: target under 300 ms). Prints numbers only; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import percentile, timed
from fakes.alert_events import details, make_event
from netbot.alerts import rules
from netbot.alerts.config import AlertsConfig
from netbot.alerts.events import DisasterEvent, parse_events
from netbot.alerts.messages import alert_message
from netbot.alerts.replay import replay

EVENTS, PRIOR_NOTIFIED = 1_000, 200
FEED = "kontur-public"
NOW = dt.datetime(2025, 3, 14, 15, 0, 0, tzinfo=dt.UTC)
CURSOR = NOW - dt.timedelta(hours=6)

TYPES = {"FLOOD": 25, "WILDFIRE": 25, "EARTHQUAKE": 15, "CYCLONE": 8, "VOLCANO": 4,
         "DROUGHT": 10, "STORM": 8, "OTHER": 5}  # fmt: skip
SEVERITIES = {"EXTREME": 15, "SEVERE": 25, "MODERATE": 25, "MINOR": 20, "UNKNOWN": 5,
              "TERMINATION": 10}  # fmt: skip
ORDER = ["TERMINATION", "UNKNOWN", "MINOR", "MODERATE", "SEVERE", "EXTREME"]
PLACES = ["Exampleland", "Northern Province", "Coastal District", "River Basin", "Highlands",
          "Delta Region", "Island Chain", "Capital Area", "Southern Plains", "Valley"]  # fmt: skip


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def event_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def synthetic_event(
    rng: random.Random, n: int, now: dt.datetime = NOW, spread: float = 7 * 3600
) -> dict[str, Any]:
    """Event `n`, updated within `spread` seconds before `now`."""
    kind = weighted(rng, TYPES)
    current = weighted(rng, SEVERITIES)
    worst = max(current, rng.choice(ORDER[2:]), key=ORDER.index)  # the event's max severity
    updated = now - dt.timedelta(seconds=rng.uniform(1, spread))
    started = updated - dt.timedelta(hours=rng.uniform(1, 24 * 20))
    ended = None
    if rng.random() < 0.2:  # ended: half recently, half beyond ended_max_days
        ended = now - dt.timedelta(days=rng.uniform(0.1, 3) if rng.random() < 0.5 else 10)
    population = None if rng.random() < 0.08 else round(10 ** rng.uniform(2.3, 6.5))
    if population is None:
        episode = details(None) if rng.random() < 0.5 else None  # not enriched
    else:
        episode = details(
            population,
            populatedAreaKm2=round(rng.uniform(0.5, 900), 2),
            industrialAreaKm2=round(rng.uniform(0, 40), 2),
            forestAreaKm2=round(rng.uniform(0, 300), 2),
        )
        if rng.random() < 0.4:
            episode.update(urbanCorePopulation=population // 3, urbanCoreAreaKm2=12.5)
        if kind == "WILDFIRE":
            episode["hotspotDaysPerYearMax"] = rng.randint(0, 30)
    totals = {
        "population": (population or 0) * 2,
        "industrialAreaKm2": round(rng.uniform(0, 80), 2),
        "forestAreaKm2": round(rng.uniform(0, 600), 2),
    }
    if kind == "WILDFIRE":
        totals["hotspotDaysPerYearMax"] = rng.randint(0, 60)
    place = rng.choice(PLACES)
    return make_event(
        event_id(n),
        type=kind,
        severity=worst,
        current_severity=current,
        updated_at=updated,
        started_at=started,
        ended_at=ended,
        version=rng.choice([1, 1, 1, 2, 3, 5]),
        name=f"{current.title()} {kind.lower()} in {place}",
        description=None if rng.random() < 0.2 else f"{kind.title()} affecting {place}.",
        episode_details=episode,
        event_details=totals,
        offset=rng.choice(["Z", "+00:00"]),
    )


def build(rng: random.Random) -> tuple[str, rules.AlertState, rules.Rules]:
    """The page as JSON text, the state before the poll, and the default rules."""
    data = [synthetic_event(rng, n) for n in range(1, EVENTS + 1)]
    data.sort(key=lambda e: e["updatedAt"][:23])  # ascending, as the API answers
    page = {"pageMetadata": {"nextAfterValue": data[-1]["updatedAt"]}, "data": data}
    # 200 notified before: 120 of them are in this page (half earlier today, half 2-6 days
    # ago), 80 are other events; all within KEEP_NOTIFIED_DAYS, so `notified` keeps them.
    in_page = rng.sample(range(1, EVENTS + 1), 120)
    last: dict[str, dt.datetime] = {}
    for i, n in enumerate(in_page):
        back = dt.timedelta(hours=rng.uniform(0.5, 14)) if i % 2 else dt.timedelta(days=2 + i % 5)
        last[event_id(n)] = NOW - back
    for n in range(EVENTS + 1, EVENTS + 81):
        last[event_id(n)] = NOW - dt.timedelta(days=rng.uniform(0.1, 7))
    state = rules.AlertState(
        cursors={FEED: CURSOR},
        last_notified=last,
        notification_days=frozenset(NOW.date() - dt.timedelta(days=d) for d in range(7)),
    )
    return json.dumps(page), state, rules.Rules.from_config(AlertsConfig(), "UTC")


def short_reason(reason: str) -> str:
    for start, label in [
        ("already processed", "at/before cursor"),
        ("type ", "type"),
        ("current severity", "severity"),
        ("no enrichment", "no population"),
        ("latest episode population", "population < min"),
        ("ended", "ended > 7 days"),
        ("already notified today", "notified today"),
    ]:
        if reason.startswith(start):
            return label
    return reason


def pipeline(text: str, state: rules.AlertState, rules_: rules.Rules) -> int:
    events, _ = parse_events(json.loads(text)["data"])
    outcome = rules.poll(events, state, NOW, rules_, FEED)
    return len([alert_message(e) for e in outcome.notify])


def report(name: str, samples: list[float], per: int, unit: str) -> None:
    p50 = percentile(samples, 50)
    print(
        f"{name:<32} p50={p50:8.3f}  p95={percentile(samples, 95):8.3f}  "
        f"max={max(samples):8.3f} ms   {p50 * 1000 / per:6.2f} µs/{unit} (p50, {per} {unit}s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300, help="repetitions per step (>= 200)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    reps = max(args.reps, 200)
    rng = random.Random(args.seed)

    text, state, rules_ = build(rng)
    data = json.loads(text)["data"]
    events, problems = parse_events(data)
    outcome = rules.poll(events, state, NOW, rules_, FEED)
    notify: list[DisasterEvent] = outcome.notify
    reasons: dict[str, int] = {}
    for _, reason in outcome.decisions:
        key = short_reason(reason) if reason else "NOTIFY"
        reasons[key] = reasons.get(key, 0) + 1
    print(
        f"page: {len(data)} events, {len(text) / 1e6:.2f} MB of JSON, {len(problems)} problems; "
        f"state: cursor {CURSOR:%H:%M} UTC, {len(state.last_notified)} notified before; "
        f"{reps} repetitions"
    )
    print(
        f"poll outcome: {len(notify)} notify ({len(notify) / len(events):.0%}); skipped: "
        + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()) if k != "NOTIFY")
    )

    for _ in range(20):  # warm-up
        pipeline(text, state, rules_)
    steps: list[tuple[str, Callable[[], object], int, str]] = [
        ("(a) parse_events(data)", lambda: parse_events(data), len(data), "event"),
        (
            "(b) rules.poll(events, state)",
            lambda: rules.poll(events, state, NOW, rules_, FEED),
            len(events),
            "event",
        ),
        (
            "(c) alert_message × notified",
            lambda: [alert_message(e) for e in notify],
            len(notify),
            "message",
        ),
        (
            "(d) json.loads → (a) → (b) → (c)",
            lambda: pipeline(text, state, rules_),
            len(data),
            "event",
        ),
    ]
    results = {}
    for name, call, per, unit in steps:
        samples = [timed(call) for _ in range(reps)]
        results[name] = samples
        report(name, samples, per, unit)
    loads = [timed(lambda: json.loads(text)) for _ in range(reps)]
    report("    of which json.loads alone", loads, len(data), "event")

    scale(rng)


def stored(count: int) -> dict[str, dt.datetime]:
    """`count` events notified over the week before NOW (all still remembered)."""
    return {f"prior-{n}": NOW - dt.timedelta(minutes=1 + n % (6 * 24 * 60)) for n in range(count)}


def scale(rng: random.Random) -> None:
    """The issue-10 figures: rules.poll against page size and stored notifications, a
    100,000-event replay, and the replay command's start-up."""
    rules_ = rules.Rules.from_config(AlertsConfig(), "UTC")
    print("rules.poll p50 (ms), by page size and notifications stored:")
    for size in (100, 5_000):
        page, _ = parse_events([synthetic_event(rng, n) for n in range(1, size + 1)])
        for count in (200, 5_000, 20_000):
            state = rules.AlertState(cursors={FEED: CURSOR}, last_notified=stored(count))
            samples = [timed(rules.poll, page, state, NOW, rules_, FEED) for _ in range(20)]
            notify = len(rules.poll(page, state, NOW, rules_, FEED).notify)
            print(
                f"    {size:>5}-event page, {count:>6} stored: "
                f"{statistics.median(samples):8.3f} ms ({notify} notified)"
            )

    with tempfile.TemporaryDirectory() as folder:
        steps = []
        for p in range(100):  # 100 polls of 1,000 new events, ten minutes apart
            now = NOW + dt.timedelta(minutes=10 * p)
            data = [synthetic_event(rng, p * 1_000 + n, now, 600) for n in range(1, 1_001)]
            path = Path(folder) / f"page{p}.json"
            path.write_text(json.dumps({"data": data}), encoding="utf-8")
            steps.append(("poll", now, path))
        start = rules.AlertState(cursors={"replay": NOW - dt.timedelta(minutes=10)})
        started = time.perf_counter()
        lines = replay(start, steps, rules_)
        wall = time.perf_counter() - started
        notified = sum(1 for line in lines if line["kind"] == "notification")
        print(f"replay of 100,000 events (100 polls): {wall:.2f} s wall, {notified} notified")

    fixtures = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "alerts"
    if (fixtures / "kontur_feed_page1.json").is_file():
        command = [
            sys.executable, "-m", "netbot.alerts", "replay",
            "--state", str(fixtures / "bot_state_before_page1.json"),
            "--poll", f"2025-03-14T12:00:30Z={fixtures / 'kontur_feed_page1.json'}",
        ]  # fmt: skip
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False, cwd=Path(__file__).parents[1])
            runs.append((time.perf_counter() - started) * 1000)
        print(f"python -m netbot.alerts replay (fixtures, page 1): {statistics.median(runs):.0f} ms "
              f"median of 5 (min {min(runs):.0f})")  # fmt: skip


if __name__ == "__main__":
    main()
