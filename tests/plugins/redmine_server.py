"""The real Redmine the integration tests talk to.

Where it comes from, first match wins:
1. REDMINE_TEST_URL + REDMINE_TEST_INFO_JSON: a seeded server you run yourself (the info JSON
   in the format `scripts/redmine/seed.rb` writes); it is left running.
2. The project's `scripts/redmine/up.sh REDMINE_TEST_PORT` (default 3999): a Redmine 5 from
   Debian's packages or the official container image, reset to its seed once per session and
   stopped (`down.sh`) at the end of the session if this session started it.
Where up.sh finds no way to run a Redmine (exit 3), every test that needs one is skipped with
its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT_ROOT / "scripts" / "redmine"
UNAVAILABLE = 3  # up.sh's exit code when neither Debian's packages nor Docker can be used


@dataclass(frozen=True)
class RedmineServer:
    """A running, seeded Redmine and the seed's ids, logins and API keys."""

    url: str
    info: dict[str, Any]

    @property
    def admin_key(self) -> str:
        return self.info["users"]["admin"]["api_key"]

    def key(self, login: str) -> str:
        return self.info["users"][login]["api_key"]

    def user_id(self, login: str) -> int:
        return self.info["users"][login]["id"]

    def issue_id(self, subject: str) -> int:
        return self.info["issues"][subject]


def _start(port: str) -> dict[str, str]:
    """Run up.sh (reset to the seed) and return what it printed (REDMINE_URL=... lines)."""
    done = subprocess.run(
        ["bash", str(SCRIPTS / "up.sh"), port],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, REDMINE_RESET="1"),
        timeout=900,
    )
    if done.returncode == UNAVAILABLE:
        lines = done.stderr.strip().splitlines() or ["no reason given"]
        pytest.skip(f"scripts/redmine/up.sh: {lines[-1]}")
    if done.returncode != 0:
        pytest.fail(f"scripts/redmine/up.sh failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


@pytest.fixture(scope="session")
def redmine() -> Iterator[RedmineServer]:
    """The seeded Redmine, started once per test session (reset to its seed)."""
    url, info_path = os.environ.get("REDMINE_TEST_URL"), os.environ.get("REDMINE_TEST_INFO_JSON")
    if url and info_path:
        yield RedmineServer(url=url.rstrip("/"), info=json.loads(Path(info_path).read_text()))
        return
    port = os.environ.get("REDMINE_TEST_PORT", "3999")
    values = _start(port)
    try:
        info = json.loads(Path(values["REDMINE_INFO_JSON"]).read_text())
        yield RedmineServer(url=values["REDMINE_URL"].rstrip("/"), info=info)
    finally:
        if values.get("REDMINE_STARTED") == "1":
            subprocess.run(
                ["bash", str(SCRIPTS / "down.sh"), port],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
                timeout=120,
            )
