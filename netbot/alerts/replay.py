"""Replay recorded Event API responses through the rules, for tuning them offline.

    python -m netbot.alerts replay --state STATE.json --poll ISO_TIME=FEED.json \
        [--poll ...] [--digest ISO_TIME=FEED.json ...] [--config netbot.yaml]

Polls and digests run in the order given, each at its own "now", starting from STATE.json
(format: examples/replay/README.md). FEED.json is an Event API response body; an empty file
stands for HTTP 204. A malformed file is one line `replay: FILE: problem` on stderr, exit 2. One JSON object per line on stdout:
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


def from_fixture(data: dict[str, Any], feed: str) -> rules.AlertState:
    """The state file format of the fixtures (`bot_state_before_page1.json`): one cursor."""
    cursor = data.get("cursorUpdatedAt")
    return rules.AlertState(
        cursors={feed: parse_time(cursor)} if cursor else {},
        last_notified={event: parse_time(t) for event, t in data.get("lastNotifiedAt", {}).items()},
        notification_days=frozenset(
            dt.date.fromisoformat(d) for d in data.get("notificationDays", [])
        ),
    )


# "now" (the moments of the steps, by name) is informational: the steps give the times.
STATE_KEYS = ("cursorUpdatedAt", "lastNotifiedAt", "notificationDays", "now")


class InputError(Exception):
    """A malformed input file; printed as the one line `replay: FILE: problem` (exit 2)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, f"cannot read it ({exc.strerror or exc})") from None


def read_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


def _time(path: Path, where: str, value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise InputError(path, f"{where} must be an ISO time text, got {json.dumps(value)[:60]}")
    try:
        return parse_time(value)
    except ValueError:
        raise InputError(path, f"{where} is not a valid ISO time: {value[:60]!r}") from None


def read_state(path: Path) -> rules.AlertState:
    """The state file (format in examples/replay/README.md), every key and value checked."""
    data = read_json(path, read_text(path))
    if not isinstance(data, dict):
        raise InputError(path, f"the state must be a JSON object with keys {', '.join(STATE_KEYS)}")
    unknown = sorted(k for k in set(data) - set(STATE_KEYS) if not str(k).startswith("_"))
    if unknown:
        raise InputError(path, f"unknown key {unknown[0]!r}; the keys are {', '.join(STATE_KEYS)}")
    cursor = data.get("cursorUpdatedAt")
    if cursor is not None:
        _time(path, "cursorUpdatedAt", cursor)
    notified = data.get("lastNotifiedAt", {})
    if not isinstance(notified, dict):
        raise InputError(path, "lastNotifiedAt must be an object of event id to ISO time")
    for event_id, moment in notified.items():
        _time(path, f"lastNotifiedAt[{event_id[:60]!r}]", moment)
    if not isinstance(data.get("now", {}), dict):
        raise InputError(path, "now must be an object of step name to ISO time")
    for step, moment in data.get("now", {}).items():
        _time(path, f"now[{step[:60]!r}]", moment)
    days = data.get("notificationDays", [])
    if not isinstance(days, list):
        raise InputError(path, "notificationDays must be a list of YYYY-MM-DD dates")
    for day in days:
        try:
            dt.date.fromisoformat(day if isinstance(day, str) and len(day) == 10 else "")
        except ValueError:
            raise InputError(
                path, f"notificationDays: {json.dumps(day)[:60]} is not a YYYY-MM-DD date"
            ) from None
    return from_fixture(data, REPLAY_FEED)


def read_feed(path: Path) -> list[DisasterEvent]:
    """Events of a recorded response body; an empty file is HTTP 204 (no events). A malformed
    event is skipped with a warning line, as the bot skips it; a malformed file is an error."""
    text = read_text(path)
    if not text.strip():
        return []
    body = read_json(path, text)
    if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
        raise InputError(path, 'an Event API page must be a JSON object whose "data" is a list')
    events, problems = parse_events(body.get("data") or [])
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
        # The whole bot's configuration (every capability's section) only when asked for it:
        # a replay without --config imports no database or Discord code.
        config = None
        if args.config:
            from netbot.capabilities import load_config

            config = load_config(args.config)
        policy = (
            rules.Rules.from_config(config.section("alerts", AlertsConfig), config.timezone)
            if config
            else rules.Rules.from_config(AlertsConfig())
        )
        lines = replay(read_state(args.state), args.steps, policy)
    except (ConfigError, InputError) as exc:
        print(f"replay: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))
    return 0
