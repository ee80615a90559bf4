"""Incidents end to end: the real py-cord bot (cogs.incidents on netbot.incidents) against the
fake Discord, on a real database, with a manual clock.

Each test reads as what people do: declare through the form and the choices, press the
headline's buttons, run `/incident ...` inside the incident's channel, pin messages. The
fake answers like Discord (50 channels per category, overwrites, two renames per 10 minutes),
so what passes here is what Discord accepts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from fakes.discord import FakeDiscord, FakeMessage
from fakes.discord.guild_channels import CATEGORY_LIMIT
from netbot.incidents import JOB
from tests.plugins.world import BotWorld, WorldFactory

PIN = "\N{PUSHPIN}"
SEND = 1 << 11
OFF = {"tickets": False, "alerts": False, "slack": False, "netbox": False, "threader": False}


@dataclass
class Place:
    """The guild set-up incidents need: categories and the headline channel."""

    fake: FakeDiscord
    category: dict[str, Any]
    archive: dict[str, Any]
    headline: dict[str, Any]

    def config(self, **incidents: Any) -> dict[str, Any]:
        return {
            "cogs": OFF,
            "incidents": {
                "category_ids": [int(self.category["id"])],
                "archive_category_id": int(self.archive["id"]),
                "headline_channel_id": int(self.headline["id"]),
                **incidents,
            },
        }


@pytest.fixture
def place(fake_discord: FakeDiscord) -> Place:
    fake = fake_discord
    return Place(
        fake,
        fake.add_category(fake.guild, "Incidents"),
        fake.add_category(fake.guild, "Incident archive"),
        fake.add_channel(fake.guild, "incidents"),
    )


Start = Callable[..., Awaitable[BotWorld]]


async def reminders_settled(world: BotWorld) -> BotWorld:
    """Wait until the reminder job's run at start has ended: a test that ticks by hand and
    then moves the clock must not have that run happen late, beside its own tick."""
    job = world.runtime.supervisor.jobs[JOB]
    while job.runs < 1:
        await asyncio.wait_for(job.done.wait(), 10)
    return world


@pytest.fixture
def start(world_factory: WorldFactory, place: Place) -> Start:
    async def make(**incidents: Any) -> BotWorld:
        return await reminders_settled(await world_factory(config=place.config(**incidents)))

    return make


async def declare(
    world: BotWorld,
    title: str = "Core router down",
    *,
    by: Any = None,
    severity: str | None = None,
    lead: Any = None,
    private: bool = False,
    summary: str = "Packets dropped in AMS",
    impact: str = "All customers in AMS",
) -> tuple[FakeMessage, FakeMessage]:
    """The whole declare flow as a person does it; (the choices message, the answer)."""
    fake = world.fake
    opener = await fake.slash("incident declare", {"title": title}, user=by)
    await opener.response()
    choices = await world.submit_modal(
        opener, {"title": title, "summary": summary, "impact": impact}, by=by
    )
    ids = {
        c["custom_id"].rsplit(":", 1)[1]: c["custom_id"]
        for c in choices.all_components()
        if "custom_id" in c
    }
    if severity is not None:
        await (await fake.select(choices, ids["severity"], [severity], user=by)).response()
    if lead is not None:
        await (await fake.select(choices, ids["lead"], [str(lead["id"])], user=by)).response()
    if private:
        await (await fake.select(choices, ids["private"], ["private"], user=by)).response()
    answer = await world.press(choices, "Declare", by=by)
    return choices, answer


def space_of(fake: FakeDiscord, answer: FakeMessage) -> dict[str, Any]:
    """The incident channel the declare answer links to."""
    import re

    found = re.search(r"<#(\d+)>", answer.content)
    assert found, answer.content
    return fake.channels[found.group(1)]


def headline(fake: FakeDiscord, place: Place) -> FakeMessage:
    posts = [
        m
        for m in fake.messages_in(place.headline)
        if m.payload["author"]["id"] == fake.application_id and "webhook_id" not in m.payload
    ]
    assert len(posts) == 1, [p.payload for p in posts]
    return posts[0]


def headline_text(message: FakeMessage) -> str:
    embed = message.embeds[0]
    fields = " ".join(f"{f['name']}: {f['value']}" for f in embed.get("fields", []))
    return f"{embed.get('title', '')} {embed.get('description', '')} {fields}"


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_full_lifecycle_in_channel_mode(
    world_factory: WorldFactory, place: Place, database: str
) -> None:
    fake = place.fake
    bob = fake.add_member(fake.guild, fake.add_user("bob"))
    world = await world_factory(config=place.config(), database=database)
    _, answer = await declare(world, severity="critical", lead=bob)
    space = space_of(fake, answer)
    assert answer.ephemeral and "Declared incident #" in answer.content
    assert space["parent_id"] == place.category["id"]
    assert space["name"].startswith("inc-") and "core-router-down" in space["name"]
    assert "Core router down" in (space["topic"] or "")
    name, topic = space["name"], space["topic"]
    # The headline: one post, with the four buttons.
    post = headline(fake, place)
    assert set(post.buttons.values()) == {"Join", "Update status", "Change severity", "Close"}
    assert "critical" in headline_text(post).lower()
    assert post.allowed_mentions == {"parse": []}
    # Status by the headline's button, then severity by command inside the channel.
    picker = await world.press(post, "Update status", by=bob)
    select = next(c for c in picker.all_components() if c.get("type") == 3)
    done = await (
        await fake.select(picker, select["custom_id"], ["identified"], user=bob)
    ).message()
    assert "identified" in done.content.lower()
    reply = await world.command("incident severity", severity="major", where=space, by=bob)
    assert reply.ephemeral and "major" in reply.content
    post = headline(fake, place)
    assert "identified" in headline_text(post).lower() and "major" in headline_text(post).lower()
    # A pinned message goes on the timeline.
    said = await fake.send_user_message(space, bob, "rebooted core-1, BGP is back")
    await fake.react(said, bob, PIN)
    await fake.wait_until(lambda: fake.application_id in said.reactors[PIN], "the bot's mark")
    timeline = await world.command("incident timeline", where=space, by=bob)
    assert "bob: rebooted core" in timeline.content
    # Close from the headline: the form asks for the resolution.
    record = await fake.click(post, post.button("Close"), user=bob)
    closed = await world.submit_modal(record, {"text": "Replaced the line card"}, by=bob)
    assert closed.ephemeral
    assert space["parent_id"] == place.archive["id"]
    assert not fake.permissions_of(bob, space) & SEND  # nobody but the bot sends any more
    assert fake.permissions_of(fake.application_id, space) & SEND
    # Never renamed, topic set once.
    assert space["name"] == name and space["topic"] == topic
    assert fake.rename_limit.count == 0


def bot_posts(fake: FakeDiscord, channel: dict[str, Any]) -> list[FakeMessage]:
    """What the bot posted in a channel (not interaction replies)."""
    return [
        m
        for m in fake.messages_in(channel)
        if m.payload["author"]["id"] == fake.application_id and "webhook_id" not in m.payload
    ]


def handled(world: BotWorld, what: str) -> Awaitable[Any]:
    """Resolves once the bot's incident listeners have taken in the next `what` event
    (registered now, before the test triggers it)."""
    assert world.bot is not None
    return world.bot.wait_for("incident_event_handled", check=lambda w: w == what, timeout=10)


def service(world: BotWorld) -> Any:
    return world.cog("IncidentCommands").desk.service


async def test_private_incident_invites_by_severity_and_pings_only_once(
    world_factory: WorldFactory, place: Place, caplog: pytest.LogCaptureFixture
) -> None:
    fake = place.fake
    bob, carol, dave, erin = (fake.add_user(n) for n in ("bob", "carol", "dave", "erin"))
    oncall = fake.add_role(fake.guild, "on-call")
    for user in (bob, carol, dave):
        fake.add_member(fake.guild, user)
    fake.add_member(fake.guild, erin, roles=[oncall])
    severities = [
        {
            "name": "critical",
            "invite": {"users": [int(carol["id"]), 424242], "roles": [int(oncall["id"])]},
        },
        {"name": "minor"},
    ]
    world = await world_factory(config=place.config(severities=severities))
    assert "no member 424242" in caplog.text  # said at start-up, no crash
    _, answer = await declare(
        world, "Payments <@&1> @everyone", severity="critical", lead=bob, private=True
    )
    space = space_of(fake, answer)
    for person in (fake.user, bob, carol, erin):
        assert fake.can_see(person, space), person["username"]
    assert not fake.can_see(dave, space)
    first = bot_posts(fake, space)[0]
    assert {u["id"] for u in first.payload["mentions"]} == {bob["id"], carol["id"]}
    assert first.payload["mention_roles"] == [oncall["id"]]
    assert not first.payload["mention_everyone"]
    # Nothing else pings: not the headline, not the notices, not the title's @everyone.
    await world.command("incident note", text=f"<@{dave['id']}> look", where=space, by=bob)
    for message in [*bot_posts(fake, space)[1:], headline(fake, place)]:
        assert message.payload["mentions"] == [] and message.payload["mention_roles"] == []
        assert not message.payload["mention_everyone"]
    # Someone not invited cannot join a private incident; an invited one can.
    post = headline(fake, place)
    refused = await world.press(post, "Join", by=dave)
    assert refused.ephemeral and "private" in refused.content and "error id" in refused.content
    assert not fake.can_see(dave, space)
    # A minor incident invites only `always` (nobody here): no overwrite for carol or on-call.
    _, answer = await declare(world, "Small one", severity="minor")
    small = space_of(fake, answer)
    given = {o["id"] for o in small["permission_overwrites"]}
    assert carol["id"] not in given and oncall["id"] not in given
    assert bot_posts(fake, small)[0].payload["mentions"] == []


async def test_a_full_category_overflows_into_a_new_one(start: Start, place: Place) -> None:
    fake = place.fake
    for n in range(CATEGORY_LIMIT):
        fake.add_channel(fake.guild, f"old-{n}")["parent_id"] = place.category["id"]
    world = await start()
    _, answer = await declare(world, "First overflow")
    first = space_of(fake, answer)
    overflow = fake.channels[first["parent_id"]]
    assert overflow["name"] == "Incidents 2" and overflow["type"] == 4
    _, answer = await declare(world, "Second overflow")
    assert space_of(fake, answer)["parent_id"] == overflow["id"]  # no third category
    categories = [c for c in fake.channels.values() if c["type"] == 4]
    assert len(categories) == 3  # Incidents, the archive, Incidents 2


async def test_discord_saying_full_moves_on_when_the_cache_lags(start: Start, place: Place) -> None:
    fake = place.fake
    world = await start()
    for n in range(CATEGORY_LIMIT):  # filled behind the bot's back: no CHANNEL_CREATE
        channel = dict(
            fake.channels[place.headline["id"]], id=str(10**6 + n), parent_id=place.category["id"]
        )
        fake.channels[channel["id"]] = channel
    _, answer = await declare(world, "Lagging cache")
    assert fake.channels[space_of(fake, answer)["parent_id"]]["name"] == "Incidents 2"
    assert any(
        r.status == 400 for r in fake.requests_to("POST", f"/guilds/{fake.guild['id']}/channels")
    )


async def test_declaring_twice_from_one_form_makes_one_incident(start: Start, place: Place) -> None:
    fake = place.fake
    world = await start()
    choices, first = await declare(world, "Twice")
    again = await world.press(choices, "Declare")
    number = first.content.split("#")[1].split()[0]
    assert f"#{number} " in again.content
    incident_channels = [c for c in fake.channels.values() if c["name"].startswith("inc-")]
    assert len(incident_channels) == 1
    headline(fake, place)  # exactly one


async def test_buttons_work_and_reminders_neither_repeat_nor_skip_across_a_restart(
    start: Start, place: Place
) -> None:
    fake = place.fake
    world = await start(
        reminder_poll_seconds=86400, take_a_break_minutes=0, lead_unclaimed_minutes=0
    )
    _, answer = await declare(world, "Restart me", severity="critical")
    space = space_of(fake, answer)

    def reminders() -> list[FakeMessage]:
        return [m for m in bot_posts(fake, space) if "Reminder: post an update" in m.content]

    await world.advance(dt.timedelta(minutes=31))
    await service(world).tick()
    assert len(reminders()) == 1
    assert {"Snooze 30 min", "Snooze 1 h", "Snooze 2 h"} <= set(reminders()[0].buttons.values())
    await world.restart()
    await reminders_settled(world)
    await service(world).tick()  # a new process, same moment: nothing again
    assert len(reminders()) == 1
    await world.advance(dt.timedelta(minutes=30))
    await service(world).tick()
    assert len(reminders()) == 2  # the next one, not skipped
    # Snoozing from the old reminder's button (sent by the previous process) works.
    snoozed = await world.press(reminders()[0], "Snooze 1 h")
    assert snoozed.ephemeral and "error id" not in snoozed.content
    await world.advance(dt.timedelta(minutes=31))
    await service(world).tick()
    assert len(reminders()) == 2
    # The headline's buttons from before the restart still work.
    post = headline(fake, place)
    picker = await world.press(post, "Change severity")
    select = next(c for c in picker.all_components() if c.get("type") == 3)
    done = await (await fake.select(picker, select["custom_id"], ["minor"])).message()
    assert "minor" in done.content
    assert "minor" in headline_text(headline(fake, place)).lower()


async def test_timeline_by_reaction_message_command_edit_and_delete(
    start: Start, place: Place
) -> None:
    fake = place.fake
    bob = fake.add_member(fake.guild, fake.add_user("bob"))
    world = await start()
    _, answer = await declare(world, "Timeline")
    space = space_of(fake, answer)
    early = fake.user_message(space, bob, "saw errors at 10:00")
    late = fake.user_message(
        space, bob, "fixed at 10:05", attachments=[("graph.png", b"\x89PNG", "image/png")]
    )
    # Pinned in the opposite order: the timeline still reads in message order.
    await fake.react(late, bob, PIN)
    await fake.wait_until(lambda: fake.application_id in late.reactors[PIN], "the mark")
    record = await fake.message_command("Add to timeline", early, user=bob)
    assert "Added to the timeline" in (await record.message()).content

    async def lines() -> str:
        return (await world.command("incident timeline", where=space, by=bob)).content

    text = await lines()
    assert text.index("saw errors") < text.index("fixed at")
    assert late.payload["attachments"][0]["url"] in text  # attachments as links
    edited = handled(world, "message edit")
    fake.user_edit(early, "saw errors at 09:58")
    await edited
    assert "09:58" in await lines()
    await fake.unreact(late, bob, PIN)
    await fake.wait_until(lambda: fake.application_id not in late.reactors[PIN], "the mark gone")
    assert "fixed at" not in await lines()
    deleted = handled(world, "message delete")
    fake.user_delete(early)
    await deleted
    assert "saw errors" not in await lines()


async def test_full_lifecycle_in_forum_mode(world_factory: WorldFactory, place: Place) -> None:
    fake = place.fake
    forum = fake.add_forum(fake.guild, "incident-forum", tags=["critical"])
    bob = fake.add_member(fake.guild, fake.add_user("bob"))
    world = await world_factory(
        config=place.config(space="forum", forum_channel_id=int(forum["id"]))
    )
    _, answer = await declare(world, "Forum outage", severity="critical", lead=bob)
    post = space_of(fake, answer)
    assert post["parent_id"] == forum["id"] and post["type"] == 11
    tags = {t["name"]: t["id"] for t in forum["available_tags"]}
    assert set(tags) >= {"critical", "Investigating"}  # the missing one was created
    assert set(post["applied_tags"]) == {tags["critical"], tags["Investigating"]}
    assert fake.messages[post["id"]].content  # the starter message
    await world.command("incident status", status="identified", where=post, by=bob)
    await world.command("incident severity", severity="major", where=post, by=bob)
    tags = {t["name"]: t["id"] for t in forum["available_tags"]}
    assert set(post["applied_tags"]) == {tags["major"], tags["Identified"]}
    reply = await world.command(
        "incident close", resolution="Rolled back the deploy", where=post, by=bob
    )
    assert "closed" in reply.content
    assert post["thread_metadata"]["archived"] and post["thread_metadata"]["locked"]
    number = answer.content.split("#")[1].split()[0]
    await world.command("incident postmortem", incident=number, by=bob)  # posts into the post
    assert any("Post-mortem" in m.content for m in fake.messages_in(post))
    assert post["thread_metadata"]["archived"] and post["thread_metadata"]["locked"]
    reopened = await world.command(
        "incident reopen",
        reason="It came back after an hour",
        incident=answer.content.split("#")[1].split()[0],
        by=bob,
    )
    assert "open again" in reopened.content
    assert not post["thread_metadata"]["archived"] and not post["thread_metadata"]["locked"]
    assert post["name"].startswith("inc-") and fake.rename_limit.count == 0


async def test_seed_examples_and_a_broken_handler_loaded_from_configuration(
    start: Start, place: Place, caplog: pytest.LogCaptureFixture
) -> None:
    fake = place.fake
    bob = fake.add_member(fake.guild, fake.add_user("bob"))
    world = await start(extensions=["examples.incident_extensions", __name__])
    _, answer = await declare(world, "Seeds", severity="critical", lead=bob)
    space = space_of(fake, answer)
    assert world.bot is not None and world.bot.intents.message_content
    # The runbook keyword, and the broken keyword handler beside it: logged, nothing broken.
    said = handled(world, "message")
    fake.user_message(space, bob, "where is the run book?")
    await said
    runbook = await fake.wait_for_message(space, lambda m: "runbooks/incidents" in m.content)
    assert runbook.payload["mentions"] == []
    assert "explodes" in caplog.text
    # /incident duration (built in), the Close button with its form (built in).
    reply = await world.command("incident duration", where=space, by=bob)
    assert "has been running for" in reply.content
    names = await fake.autocomplete("incident run", focused="command", channel=space)
    assert {"duration", "statuspage"} <= {c["value"] for c in names}
    reply = await world.command("incident run", command="statuspage", where=space, by=bob)
    assert reply.content == "Asked."
    asked = await fake.wait_for_message(space, lambda m: "status page" in m.content)
    done = await world.press(asked, "Status page updated", by=bob)
    assert "Noted on the timeline" in done.content
    post = headline(fake, place)
    record = await fake.click(post, post.button("Close"), user=bob)
    closed = await world.submit_modal(record, {"text": "Seeds planted"}, by=bob)
    assert "closed" in closed.content
    assert space["parent_id"] == place.archive["id"]


async def test_take_a_break_reminds_the_lead(start: Start, place: Place) -> None:
    fake = place.fake
    bob = fake.add_member(fake.guild, fake.add_user("bob"))
    world = await start(reminder_poll_seconds=86400, take_a_break_minutes=60)
    _, answer = await declare(world, "Long one", severity="trivial", lead=bob)
    space = space_of(fake, answer)
    await world.advance(dt.timedelta(minutes=61))
    await service(world).tick()
    nudge = await fake.wait_for_message(space, lambda m: "Take a break" in m.content)
    assert f"<@{bob['id']}>" in nudge.content and nudge.payload["mentions"] == []


async def test_unknown_incident_and_outside_commands_are_refused_specifically(
    start: Start, place: Place
) -> None:
    fake = place.fake
    world = await start()
    reply = await world.command("incident status", status="identified")
    assert reply.ephemeral and "inside an incident's channel" in reply.content
    reply = await world.command("incident status", status="identified", incident="<@&1> 12x")
    assert reply.ephemeral and "error id" in reply.content and "<@&1>" not in reply.content
    reply = await world.command("incident list", since="yesterday")
    assert "not a date" in reply.content
    await declare(world, "Listed")
    choices = await fake.autocomplete(
        "incident status", {"status": "identified"}, focused="incident"
    )
    assert choices and choices[0]["name"].startswith("#1 ")
    listing = await world.command("incident list")
    assert "Listed" in listing.content and "Page 1 of 1" in listing.content


# A broken extension, loaded from configuration by the test above (`__name__`).
from netbot.incidents import Extension, IncidentContext, SpaceMessage  # noqa: E402

extension = Extension("broken-test")


@extension.keyword_handler(["run book"])
async def explodes(ctx: IncidentContext, message: SpaceMessage) -> None:
    raise RuntimeError("this handler explodes")


async def test_postmortem_file_and_stats(start: Start, place: Place) -> None:
    fake = place.fake
    world = await start(reminder_poll_seconds=86400)  # SQLite: see the report on locking
    _, answer = await declare(world, "Measured", severity="critical")
    space = space_of(fake, answer)
    await world.advance(dt.timedelta(minutes=12))
    await world.command("incident status", status="identified", where=space)
    await world.advance(dt.timedelta(minutes=30))
    await world.command("incident status", status="resolved", where=space)
    await world.command("incident note", text="Add a second uplink", action_item=True, where=space)
    await world.command("incident close", resolution="Uplink restored", where=space)
    reply = await world.command(
        "incident postmortem", incident=answer.content.split("#")[1].split()[0]
    )
    assert "Post-mortem" in reply.content and ".md" in reply.content
    upload = next(
        r
        for r in fake.requests_to("POST", f"/channels/{space['id']}/messages")
        if r.body and "Post-mortem" in str(r.body)
    )
    assert upload.status == 200
    stats = await world.command("incident stats")
    assert "critical: 1 | 0h 12m / 0h 12m | 0h 42m / 0h 42m" in stats.content


async def test_a_private_incident_in_forum_mode_gets_a_private_channel(
    world_factory: WorldFactory, place: Place
) -> None:
    fake = place.fake
    forum = fake.add_forum(fake.guild, "incident-forum")
    dave = fake.add_member(fake.guild, fake.add_user("dave"))
    world = await world_factory(
        config=place.config(space="forum", forum_channel_id=int(forum["id"]))
    )
    _, answer = await declare(world, "Secret", private=True)
    space = space_of(fake, answer)
    assert space["type"] == 0 and space["parent_id"] == place.category["id"]
    assert fake.can_see(fake.user, space) and not fake.can_see(dave, space)
    post = headline(fake, place)
    assert "Secret" not in headline_text(post)  # a private incident's headline hides its title


async def test_declare_incident_button_on_a_disaster_alert(
    world_factory: WorldFactory, place: Place
) -> None:
    from fakes.kontur import FakeKontur

    fake = place.fake
    alerts_channel = fake.add_channel(fake.guild, "disasters")
    async with FakeKontur() as kontur:
        config = place.config()
        config["cogs"] = {**OFF, "alerts": True}
        config["alerts"] = {
            "channel_id": int(alerts_channel["id"]),
            "api_url": kontur.api_url,
            "token_url": kontur.token_url,
        }
        secrets = {"KONTUR_USERNAME": kontur.username, "KONTUR_PASSWORD": kontur.password}
        world = await world_factory(config=config, secrets=secrets)
        await world.cog("Alerts").engine.post_sample()
        alert = bot_posts(fake, alerts_channel)[-1]
        assert alert.allowed_mentions == {"parse": []}
        record = await fake.click(alert, alert.button("Declare incident"))
        modal = (await record.response())["data"]
        title = next(
            c["value"]
            for row in modal["components"]
            for c in row["components"]
            if c["custom_id"] == "title"
        )
        assert title == alert.embeds[0]["title"][:100]
        choices = await world.submit_modal(record, {"title": title, "summary": "from the alert"})
        answer = await world.press(choices, "Declare")
        space = space_of(fake, answer)
        assert space["parent_id"] == place.category["id"]
        await world.stop()


async def test_a_missing_permission_is_named_and_a_retry_finishes_the_one_incident(
    start: Start, place: Place
) -> None:
    fake = place.fake
    fake.deny_bot("manage_roles")
    world = await start()
    choices, refused = await declare(world, "No rights yet")
    assert refused.ephemeral and "Manage Roles" in refused.content and "error id" in refused.content
    assert not [c for c in fake.channels.values() if c["name"].startswith("inc-")]
    fake.set_role_permissions(fake.bot_role(), int(fake.bot_role()["permissions"]) | (1 << 28))
    answer = await world.press(choices, "Declare")
    space = space_of(fake, answer)
    assert len([c for c in fake.channels.values() if c["name"].startswith("inc-")]) == 1
    assert bot_posts(fake, space) and headline(fake, place)
    # The message command outside any incident's channel says where it works.
    said = fake.user_message(place.headline, fake.user, "not an incident")
    record = await fake.message_command("Add to timeline", said)
    reply = await record.message()
    assert reply.ephemeral and "incident's channel" in reply.content


async def test_a_form_outlives_a_restart_and_old_choices_say_to_start_again(
    start: Start, place: Place
) -> None:
    fake = place.fake
    world = await start()
    opener = await fake.slash("incident declare", {"title": "Across a restart"})
    await opener.response()
    await world.restart()
    choices = await world.submit_modal(opener, {"title": "Across a restart"})
    assert "Choose the severity" in choices.content
    await world.restart()
    stale = await world.press(choices, "Declare")
    assert stale.ephemeral and "expired" in stale.content
    assert not [c for c in fake.channels.values() if c["name"].startswith("inc-")]


async def test_a_deleted_headline_is_posted_again_on_the_next_change(
    start: Start, place: Place
) -> None:
    fake = place.fake
    world = await start()
    _, answer = await declare(world, "Headline gone")
    space = space_of(fake, answer)
    headline(fake, place).deleted = True  # someone deleted it
    await world.command("incident status", status="monitoring", where=space)
    again = headline(fake, place)
    assert "monitoring" in headline_text(again).lower()
    await world.command("incident status", status="identified", where=space)
    assert headline(fake, place).id == again.id  # edited in place from then on
    assert "identified" in headline_text(headline(fake, place)).lower()
