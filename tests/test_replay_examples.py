"""examples/replay: the README's command, run as written, prints what the README shows; and
every malformed input file is one line `replay: FILE: problem`, exit 2, no traceback."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "replay"
README = (EXAMPLES / "README.md").read_text(encoding="utf-8")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netbot.alerts", "replay", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_readme_command_prints_the_readme_output() -> None:
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", README, re.S)
    command, shown = shlex.split(blocks[0]), blocks[1]
    assert command[:4] == [".venv/bin/python", "-m", "netbot.alerts", "replay"]
    started = time.perf_counter()
    done = run(*command[4:])
    elapsed = time.perf_counter() - started
    print(f"replay of the examples: {elapsed * 1000:.0f} ms wall, Python start-up included")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout == shown
    decisions = [
        (d["kind"], d.get("event_id"), d.get("reason")) for d in map(json.loads, shown.splitlines())
    ]
    ids = {n: f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 9)}
    assert [(kind, event) for kind, event, _ in decisions if kind == "notification"] == [
        ("notification", ids[1]),
        ("notification", ids[6]),
    ]
    reasons = {event: reason for kind, event, reason in decisions if kind == "skip"}
    assert "MINOR" in reasons[ids[2]] and "below 500" in reasons[ids[3]]
    assert "DROUGHT" in reasons[ids[4]] and "cursor" in reasons[ids[5]]
    assert reasons[ids[1]] == "already notified today"
    assert json.loads(shown.splitlines()[-1])["event_ids"] == [ids[7], ids[8]]


def test_the_examples_are_what_make_py_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from examples.replay import make

    monkeypatch.setattr(make, "HERE", tmp_path)
    make.write("state.json", make.STATE)
    assert (tmp_path / "state.json").read_text() == (EXAMPLES / "state.json").read_text()


GOOD_PAGE = '{"data": []}'


@pytest.mark.parametrize(
    "state, page, problem",
    [
        ("{not json", GOOD_PAGE, "not JSON"),
        ("[]", GOOD_PAGE, "must be a JSON object"),
        ('{"cursor": "2025-03-14T11:00:00Z"}', GOOD_PAGE, "unknown key 'cursor'"),
        ('{"cursorUpdatedAt": 12}', GOOD_PAGE, "cursorUpdatedAt must be an ISO time"),
        ('{"cursorUpdatedAt": "2025-13-40T00:00:00Z"}', GOOD_PAGE, "not a valid ISO time"),
        ('{"lastNotifiedAt": []}', GOOD_PAGE, "lastNotifiedAt must be an object"),
        ('{"lastNotifiedAt": {"e1": "yesterday"}}', GOOD_PAGE, "lastNotifiedAt['e1']"),
        ('{"notificationDays": "2025-03-13"}', GOOD_PAGE, "notificationDays must be a list"),
        ('{"notificationDays": ["2025-02-30"]}', GOOD_PAGE, '"2025-02-30" is not a YYYY-MM-DD'),
        ('{"notificationDays": [20250313]}', GOOD_PAGE, "20250313 is not a YYYY-MM-DD"),
        ("{}", "[1, 2]", '"data" is a list'),
        ("{}", '{"data": {"eventId": "x"}}', '"data" is a list'),
        ("{}", "{oops", "not JSON"),
    ],
)
def test_a_malformed_file_is_one_line_naming_it(
    tmp_path: Path, state: str, page: str, problem: str
) -> None:
    state_file, page_file = tmp_path / "state.json", tmp_path / "page.json"
    state_file.write_text(state)
    page_file.write_text(page)
    done = run("--state", str(state_file), "--poll", f"2025-03-14T12:00:30Z={page_file}")
    bad = state_file if state != "{}" else page_file
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"replay: {bad}: ") and done.stderr.count("\n") == 1, done.stderr
    assert problem in done.stderr


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    done = run(
        "--state", str(tmp_path / "absent.json"), "--digest", f"2025-03-14T12:00:30Z={tmp_path}"
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == f"replay: {tmp_path / 'absent.json'}: cannot read it (No such file or directory)\n"
    )
