"""The fault-injecting proxy against the real Redmine, and what python-redmine makes of each fault.

The exception table here is the contract the tickets feature maps to user-facing errors; if a
python-redmine upgrade changes it, these tests say so.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import requests
from redminelib import Redmine
from redminelib import exceptions as rex

from fakes.redmine_proxy import RedmineProxy
from netbot.redmine import TimeoutEngine
from tests.plugins.redmine_server import RedmineServer

pytestmark = pytest.mark.redmine


def client(proxy: RedmineProxy, redmine: RedmineServer, timeout: float = 5, **kw: Any) -> Redmine:
    return Redmine(
        proxy.url, key=redmine.admin_key, engine=TimeoutEngine, requests={"timeout": timeout}, **kw
    )


def new_issue(api: Redmine) -> int:
    """A fresh issue in ``ops``: the four seeded issues stay as the seed made them."""
    return api.issue.create(project_id="ops", subject=f"proxy test {uuid.uuid4().hex[:8]}").id


async def test_passes_reads_writes_and_impersonation(redmine: RedmineServer) -> None:
    async with RedmineProxy(redmine.url) as proxy:
        api = client(proxy, redmine)
        seeded = redmine.issue_id("Disk full on db-1")
        issue = await asyncio.to_thread(api.issue.get, seeded)
        assert issue.subject == "Disk full on db-1"

        issue_id = await asyncio.to_thread(new_issue, api)
        as_alice = client(proxy, redmine, impersonate="alice")
        await asyncio.to_thread(as_alice.issue.update, issue_id, notes="via the proxy")
        fresh = await asyncio.to_thread(api.issue.get, issue_id, include=["journals"])

        [journal] = fresh.journals
        assert (journal.notes, journal.user.id) == ("via the proxy", redmine.user_id("alice"))
        post, put = proxy.forwarded_writes()
        assert (post.method, post.path_qs, post.status) == (
            "POST",
            "/projects/ops/issues.json",
            201,
        )
        assert (put.method, put.status) == ("PUT", 204)
        assert put.headers["X-Redmine-Switch-User"] == "alice" and put.has_api_key
        assert b"via the proxy" in put.body


async def test_delay_times_out_and_never_reaches_redmine(redmine: RedmineServer) -> None:
    async with RedmineProxy(redmine.url) as proxy:
        api = client(proxy, redmine, timeout=0.5)
        issue_id = await asyncio.to_thread(new_issue, api)
        proxy.delay(2, method="PUT", times=1)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            await asyncio.to_thread(api.issue.update, issue_id, notes="too slow")
        assert time.monotonic() - started < 1.5
        # The proxy's loop was never blocked, and the next write passes through.
        await asyncio.to_thread(api.issue.update, issue_id, notes="in time")
        notes = [
            j.notes
            for j in (
                await asyncio.to_thread(api.issue.get, issue_id, include=["journals"])
            ).journals
        ]
        assert notes == ["in time"]
        assert [w.method for w in proxy.forwarded_writes()] == ["POST", "PUT"]


def test_late_answer_times_out_although_the_write_landed(redmine: RedmineServer) -> None:
    """``after=True``: Redmine saved the note, the client saw a timeout (retry = duplicate)."""
    with RedmineProxy.in_thread(redmine.url) as proxy:
        api = client(proxy, redmine, timeout=0.5)
        issue_id = new_issue(api)
        proxy.delay(2, method="PUT", times=1, after=True)
        with pytest.raises(requests.exceptions.Timeout):
            api.issue.update(issue_id, notes="saved, answer lost")
        assert [j.notes for j in api.issue.get(issue_id, include=["journals"]).journals] == [
            "saved, answer lost"
        ]


def test_python_redmine_ignores_its_requests_timeout(redmine: RedmineServer) -> None:
    """Pins the pitfall TimeoutEngine works around: the plain option does not time out."""
    with RedmineProxy.in_thread(redmine.url) as proxy:
        plain = Redmine(proxy.url, key=redmine.admin_key, requests={"timeout": 0.1})
        proxy.delay(0.5, times=1)
        assert plain.user.get("current").login == "admin"


FAULTS = [
    (412, b"", rex.ImpersonateError),
    (403, b"", rex.ForbiddenError),
    (404, b"", rex.ResourceNotFoundError),
    (422, b'{"errors":[]}', rex.ValidationError),
    (422, b'{"errors":["Subject cannot be blank"]}', rex.ValidationError),
    (422, b"", requests.exceptions.JSONDecodeError),  # not a redminelib error
    (500, b"", rex.ServerError),
    (503, b"", rex.UnknownError),
]


@pytest.mark.parametrize(("status", "body", "error"), FAULTS)
async def test_fail_maps_to_python_redmine_errors(
    redmine: RedmineServer, status: int, body: bytes, error: type[Exception]
) -> None:
    async with RedmineProxy(redmine.url) as proxy:
        api = client(proxy, redmine)
        issue_id = redmine.issue_id("Disk full on db-1")
        proxy.fail(status, body, method="GET", path=r"^/issues/\d+\.json", times=1)
        with pytest.raises(error):
            await asyncio.to_thread(api.issue.get, issue_id)
        assert (await asyncio.to_thread(api.issue.get, issue_id)).id == issue_id  # times=1
        assert [(r.status, r.outcome) for r in proxy.requests] == [
            (status, "failed"),
            (200, "forwarded"),
        ]


async def test_drop_is_a_connection_error_and_nothing_is_written(redmine: RedmineServer) -> None:
    async with RedmineProxy(redmine.url) as proxy:
        api = client(proxy, redmine)
        proxy.drop(method="POST", path=r"issues\.json")
        with pytest.raises(requests.exceptions.ConnectionError):
            await asyncio.to_thread(new_issue, api)
        assert proxy.forwarded_writes() == []
        assert (await asyncio.to_thread(api.user.get, "current")).login == "admin"


async def test_down_refuses_and_up_resumes(redmine: RedmineServer) -> None:
    async with RedmineProxy(redmine.url) as proxy:
        api = client(proxy, redmine)
        await asyncio.to_thread(api.user.get, "current")  # leaves a kept-alive connection
        proxy.down()
        for _ in range(2):  # the pooled connection is reset, then a new one is refused
            with pytest.raises(requests.exceptions.ConnectionError):
                await asyncio.to_thread(api.user.get, "current")
        fresh = client(proxy, redmine)
        with pytest.raises(requests.exceptions.ConnectionError, match="refused"):
            await asyncio.to_thread(fresh.user.get, "current")
        proxy.up()
        assert (await asyncio.to_thread(api.user.get, "current")).login == "admin"


def test_in_thread_mode_with_a_sync_client(redmine: RedmineServer) -> None:
    with RedmineProxy.in_thread(redmine.url) as proxy:
        api = client(proxy, redmine, timeout=0.5)
        as_dave = client(proxy, redmine, impersonate="dave")
        with pytest.raises(rex.ImpersonateError):  # real 412 from Redmine, passed through
            as_dave.user.get("current")
        proxy.fail(412, times=1)
        with pytest.raises(rex.ImpersonateError):  # injected
            api.user.get("current")
        proxy.delay(2, times=1)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.Timeout):
            api.user.get("current")
        assert time.monotonic() - started < 1.5
        proxy.drop(times=1)
        with pytest.raises(requests.exceptions.ConnectionError):
            api.user.get("current")
        proxy.down()
        with pytest.raises(requests.exceptions.ConnectionError):
            api.user.get("current")
        proxy.up()
        assert client(proxy, redmine, impersonate="alice").user.get("current").login == "alice"
        assert [r.outcome for r in proxy.requests] == [
            "forwarded", "failed", "abandoned", "dropped", "forwarded"
        ]  # fmt: skip
