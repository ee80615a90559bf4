"""`/ticket` end to end: the real py-cord client, the fake Discord, the real Redmine."""

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redminelib import Redmine

from fakes.discord import FakeDiscord, FakeMessage, run_bot
from fakes.redmine_proxy import RedmineProxy
from netbot import identity as links
from netbot.capabilities import parse_config
from netbot.core.db import Database
from netbot.core.leases import Leases
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secret, Secrets
from netbot.core.tasks import Clock, ManualClock, SystemClock
from netbot.discord_bot import NetBot, create_bot
from netbot.tickets import threads
from tests.plugins.databases import postgres_url as postgres_url  # the fixture
from tests.plugins.redmine_server import RedmineServer

pytestmark = pytest.mark.redmine


@dataclass
class World:
    """The fake guild's people and places, the bot's runtime, and Redmine as admin."""

    fake: FakeDiscord
    runtime: Runtime
    cog: Any
    redmine: Redmine
    server: RedmineServer
    alice: dict[str, Any]  # Discord member linked to Redmine's alice
    stranger: dict[str, Any]  # Discord member with no link
    boss: dict[str, Any]  # Discord member with the admin role
    team_channel: dict[str, Any]
    team_role: dict[str, Any]

    def new_ticket(self, subject: str | None = None, **fields: Any) -> int:
        subject = subject or f"bot test {uuid.uuid4().hex[:8]}"
        return self.redmine.issue.create(project_id="ops", subject=subject, **fields).id


def make_runtime(
    fake: FakeDiscord,
    redmine_url: str,
    admin_key: str,
    db: Database,
    clock: Clock | None = None,
    **extra: Any,
) -> Runtime:
    config = parse_config({"guilds": [int(fake.guild["id"])], **extra})
    secrets = Secrets(
        discord_api_base_url=fake.api_base_url,
        env={"REDMINE_URL": redmine_url, "REDMINE_TOKEN": Secret(admin_key)},
    )
    return Runtime(config=config, secrets=secrets, database=db, clock=clock or SystemClock())


@asynccontextmanager
async def serving(runtime: Runtime, fake: FakeDiscord) -> AsyncIterator[NetBot]:
    """The bot on `runtime`, its background jobs started once it is ready and stopped before
    it closes, as `python -m netbot` does."""
    async with run_bot(create_bot(runtime), fake, fail_on_command_error=False) as bot:
        runtime.supervisor.start()
        try:
            yield bot
        finally:
            await runtime.supervisor.stop()


@pytest.fixture
async def world(
    fake_discord: FakeDiscord, redmine: RedmineServer, tmp_path: Path
) -> AsyncIterator[World]:
    fake = fake_discord
    admin_role = fake.add_role(fake.guild, "netbot-admins")
    team_role = fake.add_role(fake.guild, "ops-team")
    team_channel = fake.add_channel(fake.guild, "ops")
    boss = fake.add_user("boss")
    fake.add_member(fake.guild, boss, roles=[admin_role])
    stranger = fake.add_user("stranger")
    fake.add_member(fake.guild, stranger)
    db = Database.open(f"sqlite:///{tmp_path / 'netbot.sqlite3'}")
    links.set_link(db, int(fake.user["id"]), "alice", int(boss["id"]))
    runtime = make_runtime(
        fake, redmine.url, redmine.admin_key, db,
        roles={"admin": [int(admin_role["id"])]},
        teams=[{"name": "ops-team", "role_id": int(team_role["id"]), "channels": [int(team_channel["id"])]}],
        tickets={"page_size": 2},
    )  # fmt: skip
    # Refusals are part of these tests, so command errors go to the bot's own handler;
    # an unexpected crash still fails the test below.
    async with serving(runtime, fake) as bot:
        cog = bot.get_cog("Tickets")
        await asyncio.wait_for(cog.ready.wait(), 30)
        yield World(
            fake, runtime, cog, Redmine(redmine.url, key=redmine.admin_key), redmine,
            fake.user, stranger, boss, team_channel, team_role,
        )  # fmt: skip
    db.close()
    assert "netbot_errors_total{" not in runtime.metrics.render().decode(), "a command crashed"


async def answer(
    world: World, command: str, options: dict[str, Any] | None = None, **kw: Any
) -> FakeMessage:
    record = await world.fake.slash(command, options, **kw)
    return await record.message(within=20)


async def test_show_autocompletes_and_renders_the_ticket(world: World) -> None:
    choices = await world.fake.autocomplete("ticket show", {"ticket": "disk"}, focused="ticket")
    assert choices[0] == {"name": "#1 Disk full on db-1", "value": "1"}

    reply = await answer(world, "ticket show", {"ticket": 1})
    embed = reply.embeds[0]
    assert reply.ephemeral
    assert embed["title"] == "#1 Disk full on db\\-1"  # Redmine's text is shown as text
    assert embed["url"].endswith("/issues/1")
    facts = {f["name"]: f["value"] for f in embed["fields"]}
    assert facts["Status"] == "In Progress"
    assert facts["Assignee"] == "Bob Berg"
    assert re.fullmatch(r".+ old", facts["Age"])
    assert "Looking into it." in [f["value"] for f in embed["fields"]]
    assert reply.allowed_mentions == {"parse": []}


async def test_autocomplete_limits_and_thread_ticket_first(world: World) -> None:
    long_subject = "x" * 250
    long_id = world.new_ticket(long_subject)
    for n in range(26):
        world.cog.catalog.add_ticket(100000 + n, f"bulk ticket {n}")
    world.cog.catalog.add_ticket(long_id, long_subject)
    choices = await world.fake.autocomplete("ticket show", {"ticket": ""}, focused="ticket")
    assert len(choices) == 25
    assert all(len(c["name"]) <= 100 for c in choices)
    assert choices[0]["name"] == f"#{long_id} " + "x" * (100 - len(f"#{long_id} ") - 1) + "…"

    thread = world.fake.add_thread(world.fake.channel, "#1: Disk full on db-1")
    world.cog.threads[int(thread["id"])] = 1
    inside = await world.fake.autocomplete(
        "ticket show", {"ticket": "bulk"}, focused="ticket", channel=thread
    )
    assert inside[0]["value"] == "1"
    assert all(c["value"] != str(long_id) for c in inside)

    people = await world.fake.autocomplete("ticket assign", {"user": "ops"}, focused="user")
    assert people == [{"name": "ops-team (team)", "value": "ops-team"}]
    statuses = await world.fake.autocomplete(
        "ticket set", {"field": "status", "value": "pro"}, focused="value"
    )
    assert statuses == [{"name": "In Progress", "value": "In Progress"}]


async def test_list_pages_with_buttons(world: World) -> None:
    for _ in range(3):
        world.new_ticket(assigned_to_id=world.server.user_id("alice"))
    first = await answer(world, "ticket list")
    assert first.embeds[0]["title"] == "My and my teams' tickets \\(open\\)"
    footer = first.embeds[0]["footer"]["text"]
    total = int(re.search(r"· (\d+) ticket", footer).group(1))
    assert total >= 5 and footer.startswith("Page 1 of ")
    ids = {label: custom_id for custom_id, label in first.buttons.items()}
    key = world.cog.pages.key("me", "", "open")
    assert ids == {"Previous": f"tickets:page:{key}:0", "Next": f"tickets:page:{key}:2"}
    assert first.component(ids["Previous"])["disabled"] is True
    click = await world.fake.click(first, ids["Next"])
    await click.response()
    await world.fake.wait_until(
        lambda: first.embeds[0]["footer"]["text"].startswith("Page 2 of "),
        "the list to turn to page 2",
    )
    assert first.embeds[0]["description"] != ""


async def test_writes_act_as_the_linked_person(world: World) -> None:
    ticket = world.new_ticket()
    progress = await answer(world, "ticket progress", {"ticket": ticket})
    assert progress.ephemeral
    assert "status: New \\-\\> In Progress" in progress.content
    assert "assignee: nobody \\-\\> Alice Anders" in progress.content

    await answer(world, "ticket note", {"ticket": ticket, "text": "Rebooted it @everyone"})
    await answer(world, "ticket collaborate", {"ticket": ticket})
    await answer(world, "ticket set", {"ticket": ticket, "field": "priority", "value": "High"})
    await answer(
        world, "ticket set", {"ticket": ticket, "field": "due_date", "value": "2027-03-04"}
    )
    await answer(world, "ticket assign", {"ticket": ticket, "user": "bob"})
    resolved = await answer(world, "ticket resolve", {"ticket": ticket})
    assert "status: In Progress \\-\\> Resolved" in resolved.content

    issue = world.redmine.issue.get(ticket, include=["journals", "watchers"])
    assert issue.status.name == "Resolved"
    assert issue.assigned_to.name == "Bob Berg"
    assert issue.priority.name == "High"
    assert str(issue.due_date) == "2027-03-04"
    assert [w.name for w in issue.watchers] == ["Alice Anders"]
    authors = {j.user.name for j in issue.journals}
    assert authors == {"Alice Anders"}
    assert [j.notes for j in issue.journals if j.notes] == ["Rebooted it @everyone"]

    shown = await answer(world, "ticket show", {"ticket": ticket})
    note_values = [f["value"] for f in shown.embeds[0]["fields"]]
    assert "Rebooted it @\u200beveryone" in note_values


async def test_refusals_are_ephemeral_and_change_nothing(world: World) -> None:
    ticket = world.new_ticket()
    await answer(world, "ticket resolve", {"ticket": ticket})
    before = world.redmine.issue.get(ticket, include=["journals"])

    refused = await answer(world, "ticket unassign", {"ticket": ticket})
    assert refused.ephemeral
    assert refused.content.startswith("Redmine's workflow does not let alice move ticket")
    assert re.search(r"\(error id [0-9a-f]{8}\)$", refused.content)

    unknown = await answer(world, "ticket assign", {"ticket": ticket, "user": "nobody"})
    assert unknown.content.startswith("Redmine has no active user or team 'nobody'.")
    missing = await answer(world, "ticket show", {"ticket": 999999})
    assert missing.content.startswith("Redmine has no ticket 999999")
    bad_date = await answer(
        world, "ticket set", {"ticket": ticket, "field": "due_date", "value": "soon"}
    )
    assert bad_date.content.startswith("'soon' is not a date")

    after = world.redmine.issue.get(ticket, include=["journals"])
    assert (after.status.name, len(after.journals)) == (before.status.name, len(before.journals))


async def test_unlinked_people_are_told_how_to_link_and_admins_approve(world: World) -> None:
    told = await answer(world, "ticket list", user=world.stranger)
    assert told.ephemeral and "/ticket link" in told.content

    sent = await answer(world, "ticket link", {"login": "bob"}, user=world.stranger)
    assert sent.content == "Request sent; an admin will approve it."
    request = await world.fake.wait_for_message(
        world.fake.channel, lambda m: "asks to act as" in m.content
    )
    assert request.allowed_mentions == {"parse": []}
    pending = links.get_link(world.runtime.database, int(world.stranger["id"]))
    approve = f"tickets:link:approve:{world.stranger['id']}:{pending.request_id}"
    assert request.buttons[approve] == "Approve"

    not_admin = await world.fake.click(request, approve, user=world.stranger)
    assert "Only admins" in (await not_admin.message()).content
    await world.fake.click(request, approve, user=world.boss)
    await world.fake.wait_until(
        lambda: "may now act as Redmine user `bob`" in request.content, "the approval"
    )
    assert request.components == []

    listed = await answer(world, "ticket list", user=world.stranger)
    assert listed.embeds[0]["title"] == "My and my teams' tickets \\(open\\)"
    assert links.approved_login(world.runtime.database, int(world.stranger["id"])) == "bob"

    gone = await answer(world, "ticket unlink", {"member": world.stranger}, user=world.alice)
    assert "Only admins" in gone.content
    await answer(world, "ticket unlink", user=world.stranger)
    assert links.get_link(world.runtime.database, int(world.stranger["id"])) is None


async def test_new_ticket_from_modal_goes_to_the_channel_team(world: World) -> None:
    opener = await world.fake.slash(
        "ticket new", {"tracker": "Bug", "priority": "High"}, channel=world.team_channel
    )
    await opener.response()
    assert opener.modal["title"] == "New ticket"
    subject = f"Router on fire {uuid.uuid4().hex[:6]}"
    submitted = await world.fake.submit_modal(
        opener, {"subject": subject, "description": "Smoke seen"}
    )
    created = await submitted.message(within=20)
    ticket_id = int(re.search(r"#(\d+)", created.content).group(1))
    assert created.ephemeral

    announcement = await world.fake.wait_for_message(
        world.team_channel, lambda m: subject in m.content
    )
    assert announcement.content.startswith(f"<@&{world.team_role['id']}> New ticket")
    assert announcement.allowed_mentions["roles"] == [int(world.team_role["id"])]
    assert announcement.allowed_mentions.get("parse", []) == []

    issue = world.redmine.issue.get(ticket_id)
    assert (issue.author.name, issue.assigned_to.name) == ("Alice Anders", "ops-team")
    assert (issue.tracker.name, issue.priority.name, issue.description) == (
        "Bug",
        "High",
        "Smoke seen",
    )


async def test_thread_is_created_named_and_recorded(world: World) -> None:
    subject = "Thread me " + "y" * 120
    ticket = world.new_ticket(subject)
    reply = await answer(world, "ticket thread", {"ticket": ticket})
    thread_id = int(re.search(r"<#(\d+)>", reply.content).group(1))
    thread = world.fake.channels[str(thread_id)]
    assert thread["name"] == f"#{ticket}: {subject}"[:99] + "…"
    assert len(thread["name"]) == 100
    assert threads.thread_for_ticket(world.runtime.database, ticket) == thread_id
    issue = world.redmine.issue.get(ticket)
    assert {cf.name: cf.value for cf in issue.custom_fields}["discord-thread"] == str(thread_id)
    summary = await world.fake.wait_for_message(thread["id"])
    assert summary.embeds[0]["title"].startswith(f"#{ticket} Thread me")

    again = await answer(world, "ticket thread", {"ticket": ticket})
    assert again.content.startswith(f"Ticket {ticket} already has a thread")


@asynccontextmanager
async def proxied_bot(
    fake: FakeDiscord, redmine: RedmineServer, tmp_path: Path, **tickets: Any
) -> AsyncIterator[tuple[RedmineProxy, Runtime]]:
    """The bot talking to the real Redmine through a fault proxy; alice is linked."""
    db = Database.open(f"sqlite:///{tmp_path / 'netbot.sqlite3'}")
    links.set_link(db, int(fake.user["id"]), "alice", 1)
    async with RedmineProxy(redmine.url) as proxy:
        runtime = make_runtime(fake, proxy.url, redmine.admin_key, db, tickets=tickets)
        async with serving(runtime, fake) as bot:
            await asyncio.wait_for(bot.get_cog("Tickets").ready.wait(), 30)
            yield proxy, runtime
    db.close()
    assert "netbot_errors_total{" not in runtime.metrics.render().decode(), "a command crashed"


async def test_commands_are_acknowledged_in_time_when_redmine_is_slow(
    fake_discord: FakeDiscord, redmine: RedmineServer, tmp_path: Path
) -> None:
    async with proxied_bot(fake_discord, redmine, tmp_path) as (proxy, _):
        proxy.delay(5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        record = await fake_discord.slash("ticket show", {"ticket": 1})
        first = await record.response(within=3)
        acknowledged = loop.time() - started
        reply = await record.message(within=20)
        answered = loop.time() - started
    assert first["type"] == 5  # deferred: "netbot is thinking..."
    assert acknowledged < 3.0
    assert answered >= 5.0
    assert reply.embeds[0]["title"] == "#1 Disk full on db\\-1"


async def test_locked_and_outsider_logins_are_refused(world: World) -> None:
    ticket = world.new_ticket()
    stranger_id = int(world.stranger["id"])
    links.set_link(world.runtime.database, stranger_id, "dave", int(world.boss["id"]))
    locked = await answer(
        world, "ticket note", {"ticket": ticket, "text": "hi"}, user=world.stranger
    )
    assert locked.content.startswith(
        "Redmine refused to act as 'dave': the login is unknown or locked."
    )

    links.set_link(world.runtime.database, stranger_id, "carol", int(world.boss["id"]))
    outsider = await answer(
        world, "ticket note", {"ticket": ticket, "text": "hi"}, user=world.stranger
    )
    assert outsider.ephemeral
    assert outsider.content.startswith(
        ("Redmine does not allow carol", f"Redmine has no ticket {ticket}")
    )
    assert world.redmine.issue.get(ticket, include=["journals"]).journals.total_count == 0


async def test_redmine_failures_get_clear_answers_and_show_in_health(
    fake_discord: FakeDiscord, redmine: RedmineServer, tmp_path: Path
) -> None:
    async with proxied_bot(fake_discord, redmine, tmp_path, request_timeout_seconds=1) as (
        proxy,
        runtime,
    ):
        proxy.fail(500)
        broken = await (await fake_discord.slash("ticket show", {"ticket": 1})).message(within=10)
        proxy.clear()
        proxy.delay(3)
        slow = await (await fake_discord.slash("ticket show", {"ticket": 1})).message(within=10)
        proxy.clear()
        proxy.down()
        down = await (await fake_discord.slash("ticket note", {"ticket": 1, "text": "x"})).message(
            within=10
        )
        proxy.up()
    assert broken.ephemeral and broken.content.startswith("Redmine failed while handling ticket 1")
    assert slow.content.startswith("Redmine did not answer within 1 s for ticket 1")
    assert down.content.startswith("Redmine is unreachable for ticket 1")
    backend = runtime.health.snapshot(True)["backends"]["redmine"]
    assert backend["failing"] is True
    assert "unreachable" in backend["last_error"]


async def test_thread_refused_by_redmine_leaves_no_thread_behind(
    fake_discord: FakeDiscord, redmine: RedmineServer, tmp_path: Path
) -> None:
    async with proxied_bot(fake_discord, redmine, tmp_path) as (proxy, runtime):
        proxy.fail(403, method="PUT")
        refused = await (await fake_discord.slash("ticket thread", {"ticket": 2})).message(
            within=10
        )
        discord_threads = [c for c in fake_discord.channels.values() if "thread_metadata" in c]
        assert threads.thread_for_ticket(runtime.database, 2) is None
    assert refused.ephemeral and refused.content.startswith("Redmine does not allow alice")
    assert discord_threads == []
    assert fake_discord.requests_to("DELETE", "/channels/")


async def test_ticket_option_takes_numbers_and_choice_names_only(world: World) -> None:
    by_name = await answer(world, "ticket show", {"ticket": "#1 Disk full on db-1"})
    assert by_name.embeds[0]["title"] == "#1 Disk full on db\\-1"
    words = await answer(world, "ticket show", {"ticket": "disk full"})
    assert words.ephemeral
    assert words.content.startswith("'disk full' is not a ticket number")


async def test_catalog_refresh_runs_on_the_supervisor_and_logs_an_outage_once(
    fake_discord: FakeDiscord,
    redmine: RedmineServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    db = Database.open(f"sqlite:///{tmp_path / 'netbot.sqlite3'}")
    period = dt.timedelta(seconds=60)
    async with RedmineProxy(redmine.url) as proxy:
        proxy.down()
        runtime = make_runtime(
            fake_discord, proxy.url, redmine.admin_key, db, clock,
            tickets={"cache_refresh_seconds": 60, "request_timeout_seconds": 2},
        )  # fmt: skip
        job = runtime.supervisor.jobs  # filled when the cog declares its job
        async with serving(runtime, fake_discord) as bot:
            cog = bot.get_cog("Tickets")

            async def one_run(after: dt.timedelta) -> None:
                done = job["tickets.refresh"].done
                await clock.advance(after)
                await asyncio.wait_for(done.wait(), 30)

            await one_run(dt.timedelta(0))  # the run at start: Redmine is down
            await one_run(period)  # still down
            failing = runtime.health.snapshot(True)["backends"]["redmine"]
            runs_while_down = job["tickets.refresh"].runs
            proxy.up()
            await one_run(period)
            recovered = runtime.health.snapshot(True)["backends"]["redmine"]
    db.close()
    logged = [r for r in caplog.records if "catalog refresh failing" in r.getMessage()]
    assert len(logged) == 1, "an outage is logged once, not once per run"
    assert "unreachable" in logged[0].getMessage()
    assert runs_while_down == 2 and job["tickets.refresh"].runs == 3
    assert failing["failing"] is True
    assert recovered["failing"] is False
    assert cog.ready.is_set() and cog.impersonation_ok
    assert job["tickets.refresh"].last_run == clock.now()


@pytest.mark.postgres
async def test_every_process_refreshes_its_own_catalog_on_a_shared_database(
    fake_discord: FakeDiscord, redmine: RedmineServer, postgres_url: str
) -> None:
    """Processes sharing PostgreSQL share job leases, but each one's catalog is its own
    memory: another process holding the job's lease must not leave this one without it."""
    db = Database.open(postgres_url)
    other_process = Leases(db)
    now = dt.datetime.now(dt.UTC)
    assert await other_process.claim("tickets.refresh", now, dt.timedelta(hours=1))
    links.set_link(db, int(fake_discord.user["id"]), "alice", 1)
    runtime = make_runtime(fake_discord, redmine.url, redmine.admin_key, db)
    async with serving(runtime, fake_discord) as bot:
        await asyncio.wait_for(bot.get_cog("Tickets").ready.wait(), 30)
        choices = await fake_discord.autocomplete(
            "ticket show", {"ticket": "disk"}, focused="ticket"
        )
    db.close()
    assert choices[0] == {"name": "#1 Disk full on db-1", "value": "1"}
