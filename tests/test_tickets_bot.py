"""`/ticket` end to end: the real py-cord client, the fake Discord, the real Redmine."""

import asyncio
import datetime as dt
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from redminelib import Redmine

from fakes.discord import FakeDiscord
from fakes.redmine_proxy import RedmineProxy
from netbot import identity as links
from netbot.core.leases import Leases
from netbot.core.tasks import Clock, ManualClock
from netbot.tickets import threads
from tests.plugins.redmine_server import RedmineServer
from tests.plugins.world import BotWorld, WorldFactory

pytestmark = pytest.mark.redmine


@dataclass
class Seed:
    """The fake guild's people and places, and Redmine (seeded) as its admin."""

    redmine: Redmine
    server: RedmineServer
    alice: dict[str, Any]  # Discord member linked to Redmine's alice
    stranger: dict[str, Any]  # Discord member with no link
    boss: dict[str, Any]  # Discord member with the admin role
    admin_role: dict[str, Any]
    team_channel: dict[str, Any]
    team_role: dict[str, Any]

    def new_ticket(self, subject: str | None = None, **fields: Any) -> int:
        subject = subject or f"bot test {uuid.uuid4().hex[:8]}"
        return self.redmine.issue.create(project_id="ops", subject=subject, **fields).id


@pytest.fixture
def seed(fake_discord: FakeDiscord, redmine: RedmineServer) -> Seed:
    fake = fake_discord
    admin_role = fake.add_role(fake.guild, "netbot-admins")
    team_role = fake.add_role(fake.guild, "ops-team")
    team_channel = fake.add_channel(fake.guild, "ops")
    boss = fake.add_user("boss")
    fake.add_member(fake.guild, boss, roles=[admin_role])
    stranger = fake.add_user("stranger")
    fake.add_member(fake.guild, stranger)
    return Seed(
        Redmine(redmine.url, key=redmine.admin_key), redmine,
        fake.user, stranger, boss, admin_role, team_channel, team_role,
    )  # fmt: skip


class TicketBot(Protocol):
    def __call__(
        self,
        redmine_url: str | None = None,
        *,
        approved_by: int = 1,
        clock: Clock | None = None,
        database: str = "sqlite",
        start: bool = True,
        **config: Any,
    ) -> Awaitable[BotWorld]: ...


async def tickets_ready(world: BotWorld) -> BotWorld:
    """Start the bot and wait for the tickets cog's first catalog load."""
    await world.start()
    await asyncio.wait_for(world.cog("Tickets").ready.wait(), 30)
    return world


@pytest.fixture
def ticket_bot(world_factory: WorldFactory, redmine: RedmineServer) -> TicketBot:
    """A bot world with Redmine at `redmine_url` (the real one by default); the Discord
    user is linked to alice. Refusals are part of these tests, so command errors go to the
    bot's own handler; a crash still fails the test when the bot stops."""

    async def make(
        redmine_url: str | None = None,
        *,
        approved_by: int = 1,
        clock: Clock | None = None,
        database: str = "sqlite",
        start: bool = True,
        **config: Any,
    ) -> BotWorld:
        world = await world_factory(
            config=config,
            secrets={"REDMINE_URL": redmine_url or redmine.url, "REDMINE_TOKEN": redmine.admin_key},
            clock=clock,
            database=database,
            start=False,
        )
        links.set_link(world.database, int(world.fake.user["id"]), "alice", approved_by)
        return await tickets_ready(world) if start else world

    return make


@pytest.fixture
async def world(ticket_bot: TicketBot, seed: Seed) -> BotWorld:
    """The bot with an admin role, a team with its channel, two-item pages."""
    return await ticket_bot(
        approved_by=int(seed.boss["id"]),
        roles={"admin": [int(seed.admin_role["id"])]},
        teams=[{"name": "ops-team", "role_id": int(seed.team_role["id"]), "channels": [int(seed.team_channel["id"])]}],
        tickets={"page_size": 2},
    )  # fmt: skip


@pytest.fixture
async def proxy(redmine: RedmineServer) -> AsyncIterator[RedmineProxy]:
    """The real Redmine behind a fault proxy."""
    async with RedmineProxy(redmine.url) as proxy:
        yield proxy


async def test_show_autocompletes_and_renders_the_ticket(world: BotWorld) -> None:
    choices = await world.fake.autocomplete("ticket show", {"ticket": "disk"}, focused="ticket")
    assert choices[0] == {"name": "#1 Disk full on db-1", "value": "1"}

    reply = await world.command("ticket show", ticket=1)
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


async def test_autocomplete_limits_and_thread_ticket_first(world: BotWorld, seed: Seed) -> None:
    long_subject = "x" * 250
    long_id = seed.new_ticket(long_subject)
    catalog = world.cog("Tickets").catalog
    for n in range(26):
        catalog.add_ticket(100000 + n, f"bulk ticket {n}")
    catalog.add_ticket(long_id, long_subject)
    choices = await world.fake.autocomplete("ticket show", {"ticket": ""}, focused="ticket")
    assert len(choices) == 25
    assert all(len(c["name"]) <= 100 for c in choices)
    assert choices[0]["name"] == f"#{long_id} " + "x" * (100 - len(f"#{long_id} ") - 1) + "…"

    thread = world.fake.add_thread(world.fake.channel, "#1: Disk full on db-1")
    world.cog("Tickets").threads[int(thread["id"])] = 1
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


async def test_list_pages_with_buttons(world: BotWorld, seed: Seed) -> None:
    for _ in range(3):
        seed.new_ticket(assigned_to_id=seed.server.user_id("alice"))
    first = await world.command("ticket list")
    assert first.embeds[0]["title"] == "My and my teams' tickets \\(open\\)"
    footer = first.embeds[0]["footer"]["text"]
    total = int(re.search(r"· (\d+) ticket", footer).group(1))
    assert total >= 5 and footer.startswith("Page 1 of ")
    ids = {label: custom_id for custom_id, label in first.buttons.items()}
    key = world.cog("Tickets").pages.key("me", "", "open")
    assert ids == {"Previous": f"tickets:page:{key}:0", "Next": f"tickets:page:{key}:2"}
    assert first.component(ids["Previous"])["disabled"] is True
    await world.press(first, "Next")
    await world.fake.wait_until(
        lambda: first.embeds[0]["footer"]["text"].startswith("Page 2 of "),
        "the list to turn to page 2",
    )
    assert first.embeds[0]["description"] != ""


async def test_writes_act_as_the_linked_person(world: BotWorld, seed: Seed) -> None:
    ticket = seed.new_ticket()
    progress = await world.command("ticket progress", ticket=ticket)
    assert progress.ephemeral
    assert "status: New \\-\\> In Progress" in progress.content
    assert "assignee: nobody \\-\\> Alice Anders" in progress.content

    await world.command("ticket note", ticket=ticket, text="Rebooted it @everyone")
    await world.command("ticket collaborate", ticket=ticket)
    await world.command("ticket set", ticket=ticket, field="priority", value="High")
    await world.command("ticket set", ticket=ticket, field="due_date", value="2027-03-04")
    await world.command("ticket assign", ticket=ticket, user="bob")
    resolved = await world.command("ticket resolve", ticket=ticket)
    assert "status: In Progress \\-\\> Resolved" in resolved.content

    issue = seed.redmine.issue.get(ticket, include=["journals", "watchers"])
    assert issue.status.name == "Resolved"
    assert issue.assigned_to.name == "Bob Berg"
    assert issue.priority.name == "High"
    assert str(issue.due_date) == "2027-03-04"
    assert [w.name for w in issue.watchers] == ["Alice Anders"]
    authors = {j.user.name for j in issue.journals}
    assert authors == {"Alice Anders"}
    assert [j.notes for j in issue.journals if j.notes] == ["Rebooted it @everyone"]

    shown = await world.command("ticket show", ticket=ticket)
    note_values = [f["value"] for f in shown.embeds[0]["fields"]]
    assert "Rebooted it @\u200beveryone" in note_values


async def test_refusals_are_ephemeral_and_change_nothing(world: BotWorld, seed: Seed) -> None:
    ticket = seed.new_ticket()
    await world.command("ticket resolve", ticket=ticket)
    before = seed.redmine.issue.get(ticket, include=["journals"])

    refused = await world.command("ticket unassign", ticket=ticket)
    assert refused.ephemeral
    assert refused.content.startswith("Redmine's workflow does not let alice move ticket")
    assert re.search(r"\(error id [0-9a-f]{8}\)$", refused.content)

    unknown = await world.command("ticket assign", ticket=ticket, user="nobody")
    assert unknown.content.startswith("Redmine has no active user or team 'nobody'.")
    missing = await world.command("ticket show", ticket=999999)
    assert missing.content.startswith("Redmine has no ticket 999999")
    bad_date = await world.command("ticket set", ticket=ticket, field="due_date", value="soon")
    assert bad_date.content.startswith("'soon' is not a date")

    after = seed.redmine.issue.get(ticket, include=["journals"])
    assert (after.status.name, len(after.journals)) == (before.status.name, len(before.journals))


async def test_unlinked_people_are_told_how_to_link_and_admins_approve(
    world: BotWorld, seed: Seed
) -> None:
    stranger = seed.stranger
    told = await world.command("ticket list", by=stranger)
    assert told.ephemeral and "/ticket link" in told.content

    sent = await world.command("ticket link", login="bob", by=stranger)
    assert sent.content == "Request sent; an admin will approve it."
    request = await world.fake.wait_for_message(
        world.fake.channel, lambda m: "asks to act as" in m.content
    )
    assert request.allowed_mentions == {"parse": []}
    pending = links.get_link(world.database, int(stranger["id"]))
    approve = f"tickets:link:approve:{stranger['id']}:{pending.request_id}"
    assert request.buttons[approve] == "Approve"

    not_admin = await world.press(request, "Approve", by=stranger)
    assert "Only admins" in not_admin.content
    await world.press(request, "Approve", by=seed.boss)
    await world.fake.wait_until(
        lambda: "may now act as Redmine user `bob`" in request.content, "the approval"
    )
    assert request.components == []

    listed = await world.command("ticket list", by=stranger)
    assert listed.embeds[0]["title"] == "My and my teams' tickets \\(open\\)"
    assert links.approved_login(world.database, int(stranger["id"])) == "bob"

    gone = await world.command("ticket unlink", member=stranger, by=seed.alice)
    assert "Only admins" in gone.content
    await world.command("ticket unlink", by=stranger)
    assert links.get_link(world.database, int(stranger["id"])) is None


async def test_new_ticket_from_modal_goes_to_the_channel_team(world: BotWorld, seed: Seed) -> None:
    opener = await world.fake.slash(
        "ticket new", {"tracker": "Bug", "priority": "High"}, channel=seed.team_channel
    )
    await opener.response()
    assert opener.modal["title"] == "New ticket"
    subject = f"Router on fire {uuid.uuid4().hex[:6]}"
    created = await world.submit_modal(opener, {"subject": subject, "description": "Smoke seen"})
    ticket_id = int(re.search(r"#(\d+)", created.content).group(1))
    assert created.ephemeral

    announcement = await world.fake.wait_for_message(
        seed.team_channel, lambda m: subject in m.content
    )
    assert announcement.content.startswith(f"<@&{seed.team_role['id']}> New ticket")
    assert announcement.allowed_mentions["roles"] == [int(seed.team_role["id"])]
    assert announcement.allowed_mentions.get("parse", []) == []

    issue = seed.redmine.issue.get(ticket_id)
    assert (issue.author.name, issue.assigned_to.name) == ("Alice Anders", "ops-team")
    assert (issue.tracker.name, issue.priority.name, issue.description) == (
        "Bug",
        "High",
        "Smoke seen",
    )


async def test_thread_is_created_named_and_recorded(world: BotWorld, seed: Seed) -> None:
    subject = "Thread me " + "y" * 120
    ticket = seed.new_ticket(subject)
    reply = await world.command("ticket thread", ticket=ticket)
    thread_id = int(re.search(r"<#(\d+)>", reply.content).group(1))
    thread = world.fake.channels[str(thread_id)]
    assert thread["name"] == f"#{ticket}: {subject}"[:99] + "…"
    assert len(thread["name"]) == 100
    assert threads.thread_for_ticket(world.database, ticket) == thread_id
    issue = seed.redmine.issue.get(ticket)
    assert {cf.name: cf.value for cf in issue.custom_fields}["discord-thread"] == str(thread_id)
    summary = await world.fake.wait_for_message(thread["id"])
    assert summary.embeds[0]["title"].startswith(f"#{ticket} Thread me")

    again = await world.command("ticket thread", ticket=ticket)
    assert again.content.startswith(f"Ticket {ticket} already has a thread")


async def test_ticket_thread_writes_the_field_the_threader_reads(
    ticket_bot: TicketBot, seed: Seed
) -> None:
    """`threader.thread_field` renames the field for every writer of it, not only for the
    threader: here to a field this Redmine lacks, which `/ticket thread` then names."""
    world = await ticket_bot(threader={"thread_field": "opsthread"})
    ticket = seed.new_ticket("Which field")
    reply = await world.command("ticket thread", ticket=ticket)
    assert "Redmine has no custom field 'opsthread'" in reply.content, reply.content
    assert threads.thread_for_ticket(world.database, ticket) is None
    assert not [
        c for c in world.fake.channels.values() if c.get("name", "").startswith(f"#{ticket}:")
    ]
    issue = seed.redmine.issue.get(ticket)
    assert not {cf.name: cf.value for cf in issue.custom_fields}.get("discord-thread")


async def test_commands_are_acknowledged_in_time_when_redmine_is_slow(
    proxy: RedmineProxy, ticket_bot: TicketBot
) -> None:
    world = await ticket_bot(proxy.url)
    proxy.delay(5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    record = await world.fake.slash("ticket show", {"ticket": 1})
    first = await record.response(within=3)
    acknowledged = loop.time() - started
    reply = await record.message(within=20)
    answered = loop.time() - started
    assert first["type"] == 5  # deferred: "netbot is thinking..."
    assert acknowledged < 3.0
    assert answered >= 5.0
    assert reply.embeds[0]["title"] == "#1 Disk full on db\\-1"


async def test_locked_and_outsider_logins_are_refused(world: BotWorld, seed: Seed) -> None:
    ticket = seed.new_ticket()
    stranger_id = int(seed.stranger["id"])
    links.set_link(world.database, stranger_id, "dave", int(seed.boss["id"]))
    locked = await world.command("ticket note", ticket=ticket, text="hi", by=seed.stranger)
    assert locked.content.startswith(
        "Redmine refused to act as 'dave': the login is unknown or locked."
    )

    links.set_link(world.database, stranger_id, "carol", int(seed.boss["id"]))
    outsider = await world.command("ticket note", ticket=ticket, text="hi", by=seed.stranger)
    assert outsider.ephemeral
    assert outsider.content.startswith(
        ("Redmine does not allow carol", f"Redmine has no ticket {ticket}")
    )
    assert seed.redmine.issue.get(ticket, include=["journals"]).journals.total_count == 0


async def test_redmine_failures_get_clear_answers_and_show_in_health(
    proxy: RedmineProxy, ticket_bot: TicketBot
) -> None:
    world = await ticket_bot(proxy.url, tickets={"request_timeout_seconds": 1})
    proxy.fail(500)
    broken = await world.command("ticket show", ticket=1, within=10)
    proxy.clear()
    proxy.delay(3)
    slow = await world.command("ticket show", ticket=1, within=10)
    proxy.clear()
    proxy.down()
    down = await world.command("ticket note", ticket=1, text="x", within=10)
    proxy.up()
    assert broken.ephemeral and broken.content.startswith("Redmine failed while handling ticket 1")
    assert slow.content.startswith("Redmine did not answer within 1 s for ticket 1")
    assert down.content.startswith("Redmine is unreachable for ticket 1")
    backend = world.runtime.health.snapshot(True)["backends"]["redmine"]
    assert backend["failing"] is True
    assert "unreachable" in backend["last_error"]


async def test_thread_refused_by_redmine_leaves_no_thread_behind(
    proxy: RedmineProxy, ticket_bot: TicketBot
) -> None:
    world = await ticket_bot(proxy.url)
    proxy.fail(403, method="PUT")
    refused = await world.command("ticket thread", ticket=2, within=10)
    discord_threads = [c for c in world.fake.channels.values() if "thread_metadata" in c]
    assert threads.thread_for_ticket(world.database, 2) is None
    assert refused.ephemeral and refused.content.startswith("Redmine does not allow alice")
    assert discord_threads == []
    assert world.fake.requests_to("DELETE", "/channels/")


async def test_ticket_option_takes_numbers_and_choice_names_only(world: BotWorld) -> None:
    by_name = await world.command("ticket show", ticket="#1 Disk full on db-1")
    assert by_name.embeds[0]["title"] == "#1 Disk full on db\\-1"
    words = await world.command("ticket show", ticket="disk full")
    assert words.ephemeral
    assert words.content.startswith("'disk full' is not a ticket number")


async def test_catalog_refresh_runs_on_the_supervisor_and_logs_an_outage_once(
    proxy: RedmineProxy, ticket_bot: TicketBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    period = dt.timedelta(seconds=60)
    proxy.down()
    world = await ticket_bot(
        proxy.url, clock=clock, start=False,
        tickets={"cache_refresh_seconds": 60, "request_timeout_seconds": 2},
    )  # fmt: skip
    job = world.runtime.supervisor.jobs  # filled when the cog declares its job
    await world.start()
    cog = world.cog("Tickets")

    async def one_run(after: dt.timedelta) -> None:
        done = job["tickets.refresh"].done
        await world.advance(after)
        await asyncio.wait_for(done.wait(), 30)

    await one_run(dt.timedelta(0))  # the run at start: Redmine is down
    await one_run(period)  # still down
    failing = world.runtime.health.snapshot(True)["backends"]["redmine"]
    runs_while_down = job["tickets.refresh"].runs
    proxy.up()
    await one_run(period)
    recovered = world.runtime.health.snapshot(True)["backends"]["redmine"]
    await world.stop()
    logged = [r for r in caplog.records if "catalog refresh failing" in r.getMessage()]
    assert len(logged) == 1, "an outage is logged once, not once per run"
    assert sum("catalog refresh recovered" in r.getMessage() for r in caplog.records) == 1
    assert "unreachable" in logged[0].getMessage()
    assert runs_while_down == 2 and job["tickets.refresh"].runs == 3
    assert failing["failing"] is True
    assert recovered["failing"] is False
    assert cog.ready.is_set() and cog.impersonation_ok
    assert job["tickets.refresh"].last_run == clock.now()


@pytest.mark.postgres
async def test_every_process_refreshes_its_own_catalog_on_a_shared_database(
    ticket_bot: TicketBot,
) -> None:
    """Processes sharing PostgreSQL share job leases, but each one's catalog is its own
    memory: another process holding the job's lease must not leave this one without it."""
    world = await ticket_bot(database="postgres", start=False)
    other_process = Leases(world.database)
    now = dt.datetime.now(dt.UTC)
    assert await other_process.claim("tickets.refresh", now, dt.timedelta(hours=1))
    await tickets_ready(world)
    choices = await world.fake.autocomplete("ticket show", {"ticket": "disk"}, focused="ticket")
    assert choices[0] == {"name": "#1 Disk full on db-1", "value": "1"}
