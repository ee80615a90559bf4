"""The real Redmine the integration tests talk to.

Where it comes from, first match wins:
1. REDMINE_TEST_URL + REDMINE_TEST_INFO_JSON (a server you started yourself, e.g. the
   official `redmine` container image seeded as described in the README);
2. `../shared/tools/redmine/redmine-up.sh` beside the project (root needed): a seeded
   Redmine 5 on 127.0.0.1:REDMINE_TEST_PORT (default 3999), reset to its seed once per run.
Otherwise every test that needs it is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REDMINE_UP = PROJECT_ROOT.parent / "shared" / "tools" / "redmine" / "redmine-up.sh"


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


def _start_with_shared_tool() -> tuple[str, str]:
    port = os.environ.get("REDMINE_TEST_PORT", "3999")
    env = dict(os.environ, REDMINE_RESET="1")
    done = subprocess.run(
        ["bash", str(REDMINE_UP), port], capture_output=True, text=True, env=env, timeout=600
    )
    if done.returncode != 0:
        pytest.fail(f"redmine-up.sh failed ({done.returncode}):\n{done.stderr[-3000:]}")
    values = dict(
        item.split("=", 1) for item in shlex.split(done.stdout.replace("\n", " ")) if "=" in item
    )
    return values["REDMINE_URL"], values["REDMINE_INFO_JSON"]


@pytest.fixture(scope="session")
def redmine() -> RedmineServer:
    """The seeded Redmine, started once per test session (reset to its seed)."""
    url, info_path = os.environ.get("REDMINE_TEST_URL"), os.environ.get("REDMINE_TEST_INFO_JSON")
    if not (url and info_path):
        if not REDMINE_UP.is_file():
            pytest.skip(
                "no Redmine: set REDMINE_TEST_URL and REDMINE_TEST_INFO_JSON, or put ../shared "
                "(with tools/redmine/redmine-up.sh) beside the project"
            )
        if os.geteuid() != 0:
            pytest.skip("redmine-up.sh needs root (it installs Debian's redmine package)")
        url, info_path = _start_with_shared_tool()
    info = json.loads(Path(info_path).read_text())
    return RedmineServer(url=url.rstrip("/"), info=info)
