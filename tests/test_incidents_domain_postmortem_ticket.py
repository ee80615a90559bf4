"""A post-mortem's Redmine ticket, opened through the tickets capability against the real,
seeded Redmine: once per incident, with the document as its description, its thread asked
for; none for a private incident; a Redmine that does not answer leaves the document out and
an error id, not a crash.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from redminelib import Redmine

from netbot import capabilities
from netbot.core.db import Database
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secret, Secrets
from netbot.core.tasks import ManualClock
from netbot.incidents import DeclareRequest, IncidentService, build
from tests.incidents_domain_kit import GUILD, START, RecordingSpaces, settings
from tests.plugins.redmine_server import RedmineServer

pytestmark = pytest.mark.redmine


def service_for(
    db: Database, url: str, key: str, spaces: RecordingSpaces, threads: list[tuple[int, str]]
) -> IncidentService:
    config = settings(postmortem_project="ops").model_dump()
    runtime = Runtime(
        config=capabilities.parse_config(
            {"guilds": [GUILD], "incidents": config, "tickets": {"request_timeout_seconds": 3}}
        ),
        secrets=Secrets(env={"REDMINE_URL": url, "REDMINE_TOKEN": Secret(key)}),
        database=db,
        clock=ManualClock(START),
    )

    async def open_thread(ticket_id: int, subject: str) -> None:
        threads.append((ticket_id, subject))

    return build(runtime, spaces, open_thread=open_thread)


async def test_postmortem_ticket_in_redmine(redmine: RedmineServer, tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'db.sqlite3'}", capabilities.migration_dirs())
    spaces, threads = RecordingSpaces(), []
    service = service_for(db, redmine.url, redmine.admin_key, spaces, threads)
    title = f"Broker down {uuid.uuid4().hex[:6]} *bold* @everyone"
    incident = await service.declare(DeclareRequest("pm", GUILD, 101, title, summary="MQ gone"))
    await service.close(incident.id, 101, "Restarted the broker")
    first = await service.postmortem(incident.id, 101)
    assert first.ticket_id is not None and first.ticket_error is None
    issue = Redmine(redmine.url, key=redmine.admin_key).issue.get(first.ticket_id)
    assert issue.subject == f"Post-mortem: incident #{incident.id}: {title}"
    assert issue.project.id == redmine.info["project"]["id"]
    assert "## Summary" in issue.description and "MQ gone" in issue.description
    assert threads == [(first.ticket_id, issue.subject)]
    again = await service.postmortem(incident.id, 101)  # asked again: the same ticket
    assert again.ticket_id == first.ticket_id and len(threads) == 1
    assert (await service.get(incident.id)).ticket_id == first.ticket_id

    private = await service.declare(DeclareRequest("pv", GUILD, 101, "Secret thing", private=True))
    assert (await service.postmortem(private.id, 101)).ticket_id is None and len(threads) == 1
    db.close()


async def test_postmortem_without_redmine_keeps_the_document(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'db.sqlite3'}", capabilities.migration_dirs())
    spaces, threads = RecordingSpaces(), []
    service = service_for(db, "http://127.0.0.1:9", "no-key", spaces, threads)  # nothing listens
    incident = await service.declare(DeclareRequest("pm", GUILD, 101, "Outage"))
    document = await service.postmortem(incident.id, 101)
    assert document.ticket_id is None and document.ticket_error is not None
    assert f"post-mortem ticket not opened (error {document.ticket_error})" in caplog.text
    assert "no-key" not in caplog.text
    assert [s.filename for s in spaces.sent if s.filename] == [document.filename]
    assert (await service.get(incident.id)).postmortem_at is not None and threads == []
    db.close()


async def test_postmortem_ticket_asks_the_threader_for_its_thread(
    redmine: RedmineServer, tmp_path: Path
) -> None:
    """In the bot (no `open_thread` given) with the threader on, the ticket's `discord-thread`
    field carries the threader's "create" value: the threader opens and syncs the thread."""
    db = Database.open(f"sqlite:///{tmp_path / 'db.sqlite3'}", capabilities.migration_dirs())
    runtime = Runtime(
        config=capabilities.parse_config(
            {
                "guilds": [GUILD],
                "cogs": {"threader": True},
                "threader": {"create_value": "please-create"},
                "incidents": settings(postmortem_project="ops").model_dump(),
            }
        ),
        secrets=Secrets(
            env={"REDMINE_URL": redmine.url, "REDMINE_TOKEN": Secret(redmine.admin_key)}
        ),
        database=db,
        clock=ManualClock(START),
    )
    service = build(runtime, RecordingSpaces())
    incident = await service.declare(DeclareRequest("th", GUILD, 101, "Threaded post-mortem"))
    document = await service.postmortem(incident.id, 101)
    assert document.ticket_id is not None and document.ticket_error is None
    issue = Redmine(redmine.url, key=redmine.admin_key).issue.get(document.ticket_id)
    fields = {field.name: getattr(field, "value", None) for field in issue.custom_fields}
    assert fields["discord-thread"] == "please-create"
    db.close()
