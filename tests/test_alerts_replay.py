"""Every fixture in ../shared/fixtures/alerts through `python -m netbot.alerts replay`, with
the outcome the fixtures' README gives for every event (keys E01..E15, D01..D13, G01)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "alerts"

pytestmark = pytest.mark.skipif(
    not (FIXTURES / "README.md").is_file(), reason=f"alert fixtures not present at {FIXTURES}"
)

# The README's keys, by the event ids of the fixture files.
E = {
    "E01": "869a5b4d-c343-5e1c-b93a-e9d3cbec8040",
    "E02": "bd6f6770-1f67-575e-8d9f-cb06618666bd",
    "E03": "4e929789-5a3e-5002-bea4-64deecb948c6",
    "E04": "78b8570e-867a-5016-bb57-3c99a339a703",
    "E05": "b0b82438-caa2-5397-81b4-38545fef4034",
    "E06": "134ed251-a79f-52f6-b618-0a381d471f5b",
    "E07": "dce89510-4a2d-5bb7-875c-dfad1f8a58ec",
    "E08": "e51e009d-1402-5de6-972e-ea0b6317f60a",
    "E09": "9d8ccaab-601b-5533-abb8-b318cb248b48",
    "E10": "b5470371-6473-5f96-a8fa-2b3d6e98e782",
    "E11": "cc28fd47-48bc-5cff-a468-d6bd66eb337f",
    "E12": "ffdaf6e7-8fd3-5990-87a3-5890aca3942e",
    "E13": "bd6630ec-29a2-5cb4-8fb1-620b730ad79b",
    "E14": "31ec4ec9-aff1-559e-a05d-e18969b91515",
    "E15": "feec3de0-65e0-5bfa-87f2-ae30c2d53ce3",
}
DIGEST_ORDER = [  # D01..D07: Vietnam, Turkey, MARLO-25, Chile, Fuego, Kenya, Mexico
    "4477fc25-8cb5-55eb-b2ef-1a7ca0750f05",
    "8d97fb04-1aba-5438-9a2e-a3771f0ce2bb",
    E["E08"],
    "b6ee79a9-6858-55ce-96ab-586eaea28e7b",
    "7f25a541-222b-5dfb-b8f6-fc8717699dc8",
    "6502a8e5-3aa6-57b3-ac6e-0c5ddf7697f5",
    "f1a7d7b1-fc86-5042-98f1-ca1855649fc7",
]
EXPECTED_ROWS = {
    "E01": [
        "Urban core: 412,870 people on 96.31 km².",
        "Total population: 1,284,300 people on 2,318.47 km².",
        "Industrial area: 12.5 km².",
    ],
    "E03": [
        "Total population: 500 people on 0.38 km².",
        "Industrial area: 3.2 km² (currently), 41.75 km² (from beginning).",
        "Forest area: 120.5 km² (currently), 980.25 km² (from beginning).",
    ],
    "E08": [
        "Urban core: 41,000 people on 12.2 km².",
        "Total population: 182,000 people on 412.6 km².",
        "Industrial area: 2.4 km² (currently), 18 km² (from beginning).",
        "Forest area: 96 km² (currently), 410 km² (from beginning).",
    ],
    "E10": [
        "Total population: 2,150 people on 7.35 km².",
        "Forest area: 38.2 km² (currently), 61.9 km² (from beginning).",
        "Wildfire days in last year: 4 (episode), 11 (event).",
    ],
    "E11": [
        "Total population: 12,400 people on 30.1 km².",
        "Forest area: 21.6 km² (currently), 58.3 km² (from beginning).",
        "Wildfire days in last year: 7.",
    ],
    "E12": ["Total population: 15,000 people on 44 km².", "Forest area: 5 km²."],
    "E15": [
        "Urban core: 1,480,000 people on 240.5 km².",
        "Total population: 3,215,400 people on 2,890 km².",
        "Industrial area: 33.1 km².",
        "Forest area: 140.2 km².",
    ],
}


def replay(
    *steps: str, state: Path = FIXTURES / "bot_state_before_page1.json"
) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "netbot.alerts", "replay", "--state", str(state), *steps],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def by_kind(
    lines: list[dict[str, Any]], kind: str, at: str | None = None
) -> dict[str, dict[str, Any]]:
    return {
        line["event_id"]: line
        for line in lines
        if line["kind"] == kind and at in (None, line["at"])
    }


@pytest.fixture(scope="module")
def whole_run() -> list[dict[str, Any]]:
    return replay(
        "--poll", f"2025-03-14T12:00:30Z={FIXTURES / 'kontur_feed_page1.json'}",
        "--poll", f"2025-03-14T12:31:00Z={FIXTURES / 'kontur_feed_page2.json'}",
        "--digest", f"2025-03-15T23:59:00Z={FIXTURES / 'kontur_digest_2025-03-15.json'}",
        "--digest", f"2025-03-16T23:59:00Z={FIXTURES / 'kontur_digest_2025-03-16_goodnews.json'}",
    )  # fmt: skip


def test_page1_notifies_exactly_the_intended_events(whole_run: list[dict[str, Any]]) -> None:
    at = "2025-03-14T12:00:30Z"
    notified = by_kind(whole_run, "notification", at)
    skipped = by_kind(whole_run, "skip", at)
    assert set(notified) == {E[k] for k in ("E01", "E03", "E08", "E10", "E11", "E12")}
    assert set(skipped) == {E[k] for k in ("E02", "E04", "E05", "E06", "E07", "E09", "E13", "E14")}
    reasons = {
        key: skipped[E[key]]["reason"]
        for key in ("E02", "E04", "E05", "E06", "E07", "E09", "E13", "E14")
    }
    assert "population 499" in reasons["E02"]
    assert "DROUGHT" in reasons["E04"]
    assert "MINOR" in reasons["E05"] and "MINOR" in reasons["E09"]
    assert "ended more than 7 days" in reasons["E06"]
    assert reasons["E07"] == "already notified today"
    assert "no enrichment" in reasons["E13"]
    assert "cursor" in reasons["E14"]


def test_messages_match_the_readme(whole_run: list[dict[str, Any]]) -> None:
    notified = by_kind(whole_run, "notification")
    for key, rows in EXPECTED_ROWS.items():
        assert notified[E[key]]["rows"] == rows, key
    e01 = notified[E["E01"]]
    assert e01["title"] == (
        "Orange earthquake alert (Magnitude 6.4M, Depth:10km) in Indonesia 14/03/2025 11:21 UTC, "
        "1200000 people within 100km."
    )
    assert e01["description"] == "The earthquake had Magnitude 6.4M, Depth:10km."
    assert e01["link"] == f"https://disaster.ninja/active/?event={E['E01']}"
    assert notified[E["E03"]]["title"].startswith(
        "[Update] Red alert for tropical cyclone KESTREL-25"
    )
    assert notified[E["E10"]]["description"] is None
    assert notified[E["E12"]]["title"].startswith("[Update] Green alert")


def test_page2_one_notification_per_event_per_day(whole_run: list[dict[str, Any]]) -> None:
    at = "2025-03-14T12:31:00Z"
    assert set(by_kind(whole_run, "notification", at)) == {E["E15"]}
    assert by_kind(whole_run, "skip", at)[E["E01"]]["reason"] == "already notified today"


def test_digest_and_good_news(whole_run: list[dict[str, Any]]) -> None:
    digests = [line for line in whole_run if line["kind"] in ("digest", "good_news")]
    assert digests == [
        {
            "kind": "digest",
            "at": "2025-03-15T23:59:00Z",
            "header": "Disaster digest for 03/15/2025 (no severe events happened during this time)",
            "event_ids": DIGEST_ORDER,
        },
        {
            "kind": "good_news",
            "at": "2025-03-16T23:59:00Z",
            "text": "Good news! No extreme or severe events happened for 03/16/2025",
        },
    ]


def test_page2_alone_uses_the_state_file_cursor(tmp_path: Path) -> None:
    """From the original state, page 2 on its own: E01 v2 is new to this bot, so it notifies."""
    lines = replay("--poll", f"2025-03-14T12:31:00Z={FIXTURES / 'kontur_feed_page2.json'}")
    assert set(by_kind(lines, "notification")) == {E["E01"], E["E15"]}


def test_empty_file_is_http_204_and_digest_skipped_on_a_notified_day(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    lines = replay(
        "--poll", f"2025-03-14T12:00:30Z={empty}",
        "--digest", f"2025-03-14T18:00:00Z={FIXTURES / 'kontur_digest_2025-03-15.json'}",
    )  # fmt: skip
    assert lines == []  # nothing polled; 03/14 already had notifications, so no digest


def test_bad_arguments_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netbot.alerts", "replay", "--state", "x.json", "--poll", "nonsense"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "ISO_TIME=FEED.json" in done.stderr
