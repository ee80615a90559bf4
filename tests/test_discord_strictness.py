"""Where real Discord is stricter than a simple fake, the fake is too (issue 7, "Trust").

Permissions (403 code 50013), privileged intents (close 4014, message content redacted),
only active threads in GUILD_CREATE, and duplicate custom ids (400): first the fake itself,
driven through the real py-cord client, then netbot's answer when Discord refuses it.
"""

import asyncio
import re

import discord
import pytest

from fakes.discord import FakeDiscord, run_bot
from fakes.discord import permissions as perms
from fakes.discord.server import duplicate_custom_id
from fakes.redmine_proxy import RedmineProxy
from netbot.tickets import threads
from tests.test_fake_discord import make_bot
from tests.test_tickets_bot import TicketBot, tickets_ready
from tests.test_tickets_bot import proxy as proxy  # the shared fixtures
from tests.test_tickets_bot import ticket_bot as ticket_bot


def text_channel(bot: discord.Bot, fake: FakeDiscord) -> discord.TextChannel:
    channel = bot.get_channel(int(fake.channel["id"]))
    assert isinstance(channel, discord.TextChannel)
    return channel


# ---------------------------------------------------------------------- permissions
async def test_a_missing_permission_is_refused_with_403_50013() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        channel = text_channel(bot, fake)
        thread = await channel.create_thread(name="x", type=discord.ChannelType.public_thread)
        fake.deny_bot("manage_threads")
        with pytest.raises(discord.Forbidden) as no_manage_threads:
            await thread.delete()
        fake.deny_bot("embed_links")
        with pytest.raises(discord.Forbidden):
            await channel.send(embed=discord.Embed(title="status"))
        await channel.send("plain text still goes through")
        fake.deny_bot("send_messages")
        with pytest.raises(discord.Forbidden):
            await channel.send("nothing goes through")
    assert no_manage_threads.value.status == 403
    assert no_manage_threads.value.code == 50013
    assert str(thread.id) in fake.channels  # the refused delete changed nothing
    assert fake.denied == ["manage_threads", "embed_links", "send_messages"]
    assert [m.content for m in fake.messages_in(fake.channel)] == ["plain text still goes through"]


async def test_channel_overwrites_and_the_thread_owner_rule_apply() -> None:
    manage_threads = perms.FLAGS["manage_threads"]
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        ops = fake.add_channel(fake.guild, "ops")
        ops["permission_overwrites"] = [
            {"id": fake.bot_role()["id"], "type": 0, "allow": "0", "deny": str(manage_threads)}
        ]
        other = fake.add_thread(ops, "someone else's", owner=fake.user)
        mine = await text_channel(bot, fake).create_thread(
            name="mine", type=discord.ChannelType.public_thread
        )
        theirs = await bot.fetch_channel(int(other["id"]))
        with pytest.raises(discord.Forbidden):  # the parent's overwrite applies to its threads
            await theirs.edit(name="renamed")
        await mine.edit(name="renamed", archived=True)  # its creator may, without the permission
    assert fake.channels[other["id"]]["name"] == "someone else's"
    assert fake.channels[str(mine.id)]["thread_metadata"]["archived"] is True
    assert fake.denied == ["manage_threads"]


async def test_interactions_carry_the_computed_app_permissions() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        fake.deny_bot("manage_threads")
        record = await fake.slash("netbot status")
        await record.response()
    app = discord.Permissions(int(record.payload["app_permissions"]))
    user = discord.Permissions(int(record.payload["channel"]["permissions"]))
    assert app.send_messages and app.create_public_threads
    assert not app.manage_threads and not app.administrator
    assert user.send_messages and not user.manage_channels


# ---------------------------------------------------------------------- intents
async def test_a_privileged_intent_not_switched_on_closes_the_gateway_with_4014() -> None:
    async with FakeDiscord(privileged_intents=("members",)) as fake:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with run_bot(make_bot(), fake):  # asks for message_content
                pass


async def test_without_message_content_messages_arrive_empty() -> None:
    bot = make_bot(intents=discord.Intents.default())
    async with FakeDiscord(privileged_intents=()) as fake, run_bot(bot, fake):
        seen = bot.get_cog("Ops").seen
        await fake.send_user_message(fake.channel, fake.user, "the plan")
        plain = await asyncio.wait_for(seen.get(), 2)
        mention = f"<@{fake.application_id}> the plan"
        await fake.send_user_message(fake.channel, fake.user, mention)
        mentioning = await asyncio.wait_for(seen.get(), 2)
        channel = text_channel(bot, fake)
        await channel.send("the bot's own")
        history = [m.content async for m in channel.history(limit=10)]
        with pytest.raises(discord.Forbidden):  # listing members needs the members intent
            await bot.http.get_members(channel.guild.id, 5, None)
    assert plain.content == ""
    assert mentioning.content == mention
    assert history == ["the bot's own", mention, ""]
    assert fake.messages_in(fake.channel)[0].content == "the plan"  # stored whole


# ---------------------------------------------------------------------- threads
async def test_only_active_threads_are_cached_and_posting_unarchives() -> None:
    bot = make_bot()
    async with FakeDiscord() as fake:
        active = fake.add_thread(fake.channel, "active")
        old = fake.add_thread(fake.channel, "old")
        fake.archive_thread(old)
        async with run_bot(bot, fake):
            guild = bot.get_guild(int(fake.guild["id"]))
            assert [t.name for t in guild.threads] == ["active"]
            updated = asyncio.ensure_future(bot.wait_for("thread_update", timeout=2))
            fake.archive_thread(active)
            await updated
            assert guild.get_thread(int(active["id"])) is None
            fetched = await bot.fetch_channel(int(active["id"]))
            assert fetched.archived
            back = asyncio.ensure_future(bot.wait_for("thread_join", timeout=2))
            posted = await fetched.send("still relevant")
            await back
            assert guild.get_thread(int(active["id"])) is not None
            listed = await guild.active_threads()
            archived = [t async for t in text_channel(bot, fake).archived_threads()]
    assert [(t.id, t.last_message_id) for t in listed] == [(int(active["id"]), posted.id)]
    assert [t.id for t in archived] == [int(old["id"])]
    assert fake.channels[active["id"]]["thread_metadata"]["archived"] is False


async def test_a_locked_archived_thread_refuses_posts_without_manage_threads() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        locked = fake.add_thread(fake.channel, "locked")
        fake.archive_thread(locked, locked=True)
        fake.deny_bot("manage_threads")
        thread = await bot.fetch_channel(int(locked["id"]))
        with pytest.raises(discord.Forbidden):
            await thread.send("hello?")
    assert fake.channels[locked["id"]]["thread_metadata"]["archived"] is True
    assert fake.messages_in(locked) == []


# ---------------------------------------------------------------------- components
async def test_duplicate_custom_ids_are_rejected_with_400() -> None:
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="yes", custom_id="same"))
    view.add_item(discord.ui.Button(label="no", custom_id="same"))
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        with pytest.raises(discord.HTTPException) as rejected:
            await text_channel(bot, fake).send("pick one", view=view)
    assert rejected.value.status == 400
    assert rejected.value.code == 50035
    assert "components.0.components.1.custom_id" in str(rejected.value)
    assert fake.messages_in(fake.channel) == []


def test_duplicate_custom_ids_in_a_modal_are_found_under_data() -> None:
    label = {"type": 18, "label": "Subject", "component": {"type": 4, "custom_id": "x"}}
    problem = duplicate_custom_id([label, {**label}], ["data"])
    assert problem is not None and problem.status == 400
    assert "data" in problem.body["errors"]
    assert problem.body["errors"]["data"]["components"]["1"]["component"]["custom_id"]
    assert duplicate_custom_id([label], ["data"]) is None


# ---------------------------------------------------------------------- netbot's answer
@pytest.mark.redmine
async def test_a_thread_that_cannot_be_deleted_names_manage_threads(
    proxy: RedmineProxy, ticket_bot: TicketBot
) -> None:
    """Redmine refuses the thread field, so netbot deletes the new thread; without Manage
    Threads the user is told which permission to grant (not "something went wrong")."""
    world = await ticket_bot(proxy.url, start=False)
    world.fake.deny_bot("manage_threads")
    await tickets_ready(world)
    proxy.fail(403, method="PUT")
    reply = await world.command("ticket thread", ticket=2, within=10)
    assert threads.thread_for_ticket(world.database, 2) is None
    assert reply.ephemeral
    assert "I need the Manage Threads permission in this channel" in reply.content
    assert re.search(r"\(error id [0-9a-f]+\)$", reply.content)
    assert world.fake.denied == ["manage_threads"]


@pytest.mark.redmine
async def test_a_thread_that_cannot_be_created_names_create_public_threads(
    proxy: RedmineProxy, ticket_bot: TicketBot
) -> None:
    world = await ticket_bot(proxy.url, start=False)
    world.fake.deny_bot("create_public_threads")
    await tickets_ready(world)
    reply = await world.command("ticket thread", ticket=2, within=10)
    assert threads.thread_for_ticket(world.database, 2) is None
    assert reply.ephemeral
    assert reply.content.startswith(
        "I can't open a thread here: I need the Create Public Threads permission in this channel."
    )
    assert not [c for c in world.fake.channels.values() if "thread_metadata" in c]
