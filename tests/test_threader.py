"""threader.py refuses to run unless Redmine impersonation really works."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.redmine_server import RedmineServer

ROOT = Path(__file__).resolve().parents[1]


def run_threader(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "threader.py")],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.redmine
def test_admin_key_passes_the_impersonation_check(tmp_path: Path, redmine: RedmineServer) -> None:
    done = run_threader(tmp_path, REDMINE_URL=redmine.url, REDMINE_TOKEN=redmine.admin_key)
    assert done.returncode == 0, done.stderr
    assert "impersonation works (key owner admin)" in done.stdout


@pytest.mark.redmine
def test_non_admin_key_is_refused(tmp_path: Path, redmine: RedmineServer) -> None:
    done = run_threader(tmp_path, REDMINE_URL=redmine.url, REDMINE_TOKEN=redmine.key("alice"))
    assert done.returncode == 2
    assert "must belong to a Redmine administrator" in done.stderr
    assert redmine.key("alice") not in done.stderr + done.stdout


def test_missing_settings_are_named(tmp_path: Path) -> None:
    done = run_threader(tmp_path)
    assert done.returncode == 2
    assert "REDMINE_URL is not set" in done.stderr and "REDMINE_TOKEN is not set" in done.stderr
