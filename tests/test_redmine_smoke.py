"""Smoke test: python-redmine talks to the real, seeded Redmine the test run brought up."""

from __future__ import annotations

import pytest
from redminelib import Redmine
from redminelib.exceptions import AuthError, ImpersonateError

from tests.plugins.redmine_server import RedmineServer


def test_reads_seeded_project_and_issue(redmine: RedmineServer) -> None:
    api = Redmine(redmine.url, key=redmine.admin_key)
    project = api.project.get("ops")
    issue = api.issue.get(redmine.issue_id("Disk full on db-1"), include=["journals"])
    assert project.name == "Ops"
    assert issue.subject == "Disk full on db-1"
    assert [j.notes for j in issue.journals][:1] == ["Seen at 03:00, /var is at 100%."]


def test_impersonation_acts_as_the_user(redmine: RedmineServer) -> None:
    as_alice = Redmine(redmine.url, key=redmine.admin_key, impersonate="alice")
    assert as_alice.user.get("current").login == "alice"


def test_locked_user_cannot_be_impersonated(redmine: RedmineServer) -> None:
    as_dave = Redmine(redmine.url, key=redmine.admin_key, impersonate="dave")
    with pytest.raises(ImpersonateError):
        as_dave.user.get("current")


def test_wrong_key_is_refused(redmine: RedmineServer) -> None:
    with pytest.raises(AuthError):
        Redmine(redmine.url, key="0" * 40).user.get("current")
