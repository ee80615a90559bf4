"""With NETBOT_NO_SKIP=1 (`.ci/run` sets it) a skipped test is a failed test: in CI every
integration test must run. CI=true alone changes nothing: hosted CI services set it themselves.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if (
        os.environ.get("NETBOT_NO_SKIP") == "1"
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but NETBOT_NO_SKIP=1 requires every test to run: {reason}"
    return report
