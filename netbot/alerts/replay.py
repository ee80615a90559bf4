"""Replay recorded Event API responses through the rules, for tuning them offline.

    python -m netbot.alerts replay --state STATE.json --poll ISO_TIME=FEED.json \
        [--poll ...] [--digest ISO_TIME=FEED.json ...] [--config netbot.yaml]

Polls and digests run in the order given, each at its own "now", starting from STATE.json
(the fixtures' state format). FEED.json is an Event API response body; an empty file stands
for HTTP 204. One JSON object per line on stdout:
  {"kind":"notification","at":..,"event_id":..,"title":..,"link":..,"description":..,"rows":[..]}
  {"kind":"skip","at":..,"event_id":..,"reason":..}
  {"kind":"digest","at":..,"header":..,"event_ids":[..]}
  {"kind":"good_news","at":..,"text":..}
A digest on a day that already had a notification prints nothing (none would be sent).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from netbot.alerts import messages, rules
from netbot.alerts.config import AlertsConfig
from netbot.alerts.events import DisasterEvent, parse_events
from netbot.alerts.state import from_fixture
from netbot.capabilities import load_config
from netbot.core.config import ConfigError
from netbot.core.times import iso_utc, parse_time

REPLAY_FEED = "replay"


class Step(argparse.Action):
    """Collects --poll and --digest in the order they were given."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, value: Any, option: str | None = None
    ) -> None:
        when, sep, path = str(value).partition("=")
        if not sep:
            parser.error(f"{option} takes ISO_TIME=FEED.json, got {value!r}")
        try:
            moment = parse_time(when)
        except ValueError:
            parser.error(f"{option}: {when!r} is not an ISO time")
        namespace.steps.append((self.dest, moment, Path(path)))


def read_feed(path: Path) -> list[DisasterEvent]:
    """Events of a recorded response body; an empty file is HTTP 204 (no events)."""
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return []
    events, problems = parse_events(json.loads(text).get("data") or [])
    for problem in problems:
        print(f"replay: {path}: skipped {problem}", file=sys.stderr)
    return events


def replay(
    state: rules.AlertState, steps: list[tuple[str, dt.datetime, Path]], policy: rules.Rules
) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for kind, now, path in steps:
        events = read_feed(path)
        at = iso_utc(now, "auto")
        if kind == "poll":
            outcome = rules.poll(events, state, now, policy, REPLAY_FEED)
            state = outcome.state
            for event, reason in outcome.decisions:
                if reason is None:
                    message = messages.alert_message(event).as_dict()
                    lines.append({"kind": "notification", "at": at, **message})
                else:
                    lines.append(
                        {"kind": "skip", "at": at, "event_id": event.event_id, "reason": reason}
                    )
            continue
        if not rules.digest_due(state, now, policy):
            continue
        day = policy.day(now)
        chosen = rules.digest_events(events, now, policy)
        state = dataclasses.replace(state, last_digest_day=day)
        if chosen:
            lines.append(
                {
                    "kind": "digest",
                    "at": at,
                    "header": messages.digest_header(day),
                    "event_ids": [e.event_id for e in chosen],
                }
            )
        else:
            lines.append({"kind": "good_news", "at": at, "text": messages.good_news(day)})
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m netbot.alerts", description="Disaster alert tools."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "replay", help="replay recorded Event API responses through the rules"
    )
    run.add_argument("--state", required=True, type=Path, help="state file (the fixtures' format)")
    run.add_argument(
        "--poll", dest="poll", action=Step, metavar="ISO_TIME=FEED.json", help="a poll at that time"
    )
    run.add_argument(
        "--digest",
        dest="digest",
        action=Step,
        metavar="ISO_TIME=FEED.json",
        help="a digest at that time",
    )
    run.add_argument(
        "--config", type=Path, help="netbot.yaml whose alerts rules to use (default: the defaults)"
    )
    run.set_defaults(steps=[])
    args = parser.parse_args(argv)
    if not args.steps:
        parser.error("give at least one --poll or --digest")
    try:
        config = load_config(args.config) if args.config else None
        policy = (
            rules.Rules.from_config(config.section("alerts", AlertsConfig), config.timezone)
            if config
            else rules.Rules.from_config(AlertsConfig())
        )
        state = from_fixture(json.loads(args.state.read_text(encoding="utf-8")), REPLAY_FEED)
        lines = replay(state, args.steps, policy)
    except ConfigError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))
    return 0
