"""Configuration: the example is valid, and a broken file lists every problem at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from netbot.capabilities import load_config, parse_config
from netbot.core.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "netbot.example.yaml"

BROKEN = """\
guilds: [not-a-number]
timezone: Mars/Olympus
cogs: {tickets: maybe, netbox_typo: true}
tickets: {page_size: 99}
alerts:
  poll_seconds: 5
  digest_time: 18:00
  severities: [SEVERE, APOCALYPTIC]
"""


def test_example_is_valid_and_documents_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.alerts.digest_clock.hour == 18
    assert config.team_for_channel(444444444444444444).name == "ops-team"
    # Every key of the example carries a comment, on its line or the line above.
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        commented = "#" in line or lines[number - 1].strip().startswith("#")
        has_children = line.rstrip().endswith(":")
        assert commented or has_children, f"line {number + 1} has no comment: {line}"


def test_every_problem_is_listed_with_key_and_expectation(tmp_path: Path) -> None:
    path = tmp_path / "netbot.yaml"
    path.write_text(BROKEN)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    by_key = {p.key: p for p in caught.value.problems}
    assert set(by_key) == {
        "guilds.0",
        "timezone",
        "cogs.tickets",
        "cogs.netbox_typo",
        "tickets.page_size",
        "alerts.poll_seconds",
        "alerts.digest_time",
        "alerts.severities.1",
    }
    assert by_key["alerts.poll_seconds"].expected == "a value >= 10"
    assert "18:00" in by_key["alerts.digest_time"].expected
    assert "spelling" in by_key["cogs.netbox_typo"].expected
    assert "APOCALYPTIC" in by_key["alerts.severities.1"].problem


@pytest.mark.parametrize(
    ("text", "key"),
    [("- just\n- a list\n", "(top level)"), ("guilds: [1\n", "line 2, column 1"), ("{}", "guilds")],
)
def test_unusable_files(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "netbot.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems[0].key == key


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy config/netbot\.example\.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_defaults_fill_everything_but_guilds() -> None:
    config = parse_config({"guilds": [1]})
    assert config.alerts.min_population == 500
    assert config.http.enabled is False


def test_broken_config_stops_start_up_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "netbot.yaml"
    path.write_text(BROKEN)
    env = {
        "NETBOT_CONFIG": str(path),
        "DISCORD_TOKEN": "a-secret-token-value",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "netbot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n  - ") == 8, done.stderr
    assert "a-secret-token-value" not in done.stderr + done.stdout


def test_empty_env_names_each_missing_variable_and_where_to_get_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("")
    config = tmp_path / "netbot.yaml"
    config.write_text(yaml.safe_dump({"guilds": [1]}))
    done = subprocess.run(
        [sys.executable, "-m", "netbot"],
        cwd=tmp_path,
        env={"NETBOT_CONFIG": str(config), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DISCORD_TOKEN is not set; get it from: Discord Developer Portal" in done.stderr
