"""A threader between the real Redmine and the fake Discord, for tests/test_threader_*.py."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fakes.discord import FakeDiscord
from fakes.redmine_proxy import RedmineProxy
from netbot import identity
from netbot.capabilities import parse_config
from netbot.core.db import Database
from netbot.core.secrets import Secret
from netbot.redmine import RedmineGateway
from netbot.threader import ThreaderConfig
from netbot.threader.discord_rest import DiscordRest
from netbot.threader.lock import SyncLocks
from netbot.threader.redmine import RedmineSide
from netbot.threader.sync import CycleReport, Threader
from tests.plugins.redmine_server import RedmineServer

TOKEN = "threader-test-token"
_subjects = itertools.count(1)


@dataclass
class ThreaderWorld:
    fake: FakeDiscord
    db: Database
    redmine: RedmineServer
    admin: RedmineGateway
    threader: Threader
    field_id: int
    created: list[int] = field(default_factory=list)

    def new_ticket(self, subject: str = "threader test", **extra: Any) -> int:
        body = {"project_id": self.redmine.info["project"]["id"],
                "subject": f"{subject} {next(_subjects)}", **extra}  # fmt: skip
        answer = self.admin.rest("post", "/issues.json", body={"issue": body}, what="new issue")
        ticket_id = int(answer["issue"]["id"])
        self.created.append(ticket_id)
        return ticket_id

    def enrol(self, ticket_id: int, parent: dict[str, Any] | None = None) -> dict[str, Any]:
        """A thread for the ticket, named in its discord-thread field (as /ticket thread does)."""
        thread = self.fake.add_thread(parent or self.fake.channel, f"#{ticket_id}")
        self.set_field(ticket_id, thread["id"])
        return thread

    def configure(self, **settings: Any) -> None:
        """Change `threader:` settings (e.g. channel ids known only once the fake runs)."""
        self.threader.config = self.threader.config.model_copy(update=settings)

    def enrolled_ticket(self) -> tuple[int, dict[str, Any]]:
        """A new ticket and its thread, enrolled."""
        ticket_id = self.new_ticket()
        return ticket_id, self.enrol(ticket_id)

    def linked_ticket(self) -> tuple[int, dict[str, Any]]:
        """A new enrolled ticket and its thread, the fake's default user linked to alice."""
        identity.set_link(self.db, int(self.fake.user["id"]), "alice", 1)
        return self.enrolled_ticket()

    def set_field(self, ticket_id: int, value: str) -> None:
        self.admin.rest(
            "put", f"/issues/{ticket_id}.json", what="field",
            body={"issue": {"custom_fields": [{"id": self.field_id, "value": value}]}},
        )  # fmt: skip

    def note(self, ticket_id: int, text: str, as_login: str | None = None, **extra: Any) -> None:
        self.admin.api(as_login)  # one client per login
        self.admin.rest("put", f"/issues/{ticket_id}.json", as_login=as_login, what="note",
                        body={"issue": {"notes": text, **extra}})  # fmt: skip

    def journals(self, ticket_id: int) -> list[dict[str, Any]]:
        answer = self.admin.rest("get", f"/issues/{ticket_id}.json",
                                 params={"include": "journals,attachments"}, what="issue")  # fmt: skip
        return list(answer["issue"]["journals"])

    def issue(self, ticket_id: int) -> dict[str, Any]:
        answer = self.admin.rest("get", f"/issues/{ticket_id}.json",
                                 params={"include": "journals,attachments"}, what="issue")  # fmt: skip
        return dict(answer["issue"])

    def notes(self, ticket_id: int) -> list[str]:
        return [j["notes"] for j in self.journals(ticket_id) if j.get("notes")]

    def posts(self, thread: dict[str, Any]) -> list[str]:
        """The threader's (webhook) messages in the thread, oldest first."""
        return [m.payload["content"] for m in self.fake.messages_in(thread)
                if m.payload.get("webhook_id")]  # fmt: skip

    async def cycle(self, **kwargs: Any) -> CycleReport:
        report = await self.threader.cycle(**kwargs)
        assert report.ran
        return report

    def clear_fields(self) -> None:
        for ticket_id in self.created:
            self.set_field(ticket_id, "")


def threader_for(
    fake: FakeDiscord,
    db: Database,
    redmine: RedmineServer,
    redmine_url: str | None = None,
    **settings: Any,
) -> Threader:
    """A threader on `db` between the fake and Redmine (at `redmine_url`, e.g. a fault
    proxy, else the server itself), with `threader:` settings."""
    core = parse_config({"guilds": [int(fake.guild["id"])], "threader": settings})
    timeout = core.section("threader", ThreaderConfig).request_timeout_seconds
    gateway = RedmineGateway(redmine_url or redmine.url, redmine.admin_key, timeout=timeout)
    discord = DiscordRest(f"http://127.0.0.1:{fake.port}/api/v{{API_VERSION}}", Secret(TOKEN))
    return Threader(
        database=db, redmine=RedmineSide(gateway), discord=discord,
        config=core.section("threader", ThreaderConfig), core=core,
        link_url=redmine.url, locks=SyncLocks(db),
    )  # fmt: skip


@asynccontextmanager
async def threader_world(
    db: Database, redmine: RedmineServer, redmine_url: str | None = None, **settings: Any
) -> AsyncIterator[ThreaderWorld]:
    settings.setdefault("claim_settle_seconds", 0)
    async with FakeDiscord(token=TOKEN) as fake:
        threader = threader_for(fake, db, redmine, redmine_url, **settings)
        admin = RedmineGateway(redmine.url, redmine.admin_key, timeout=15)
        world = ThreaderWorld(fake, db, redmine, admin, threader,
                              redmine.info["custom_fields"]["discord-thread"])  # fmt: skip
        try:
            yield world
        finally:
            await threader.discord.close()
            threader.locks.close()
            world.clear_fields()


@asynccontextmanager
async def proxied_world(
    db: Database, redmine: RedmineServer, **settings: Any
) -> AsyncIterator[tuple[RedmineProxy, ThreaderWorld]]:
    """A threader world whose Redmine is reached through a fault proxy."""
    async with (
        RedmineProxy(redmine.url) as proxy,
        threader_world(db, redmine, proxy.url, **settings) as world,
    ):
        yield proxy, world
