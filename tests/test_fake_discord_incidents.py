"""Tests of the fake Discord's incident features, driven through the real py-cord client:
categories and their 50-channel limit, private channels by overwrites, the rename limit,
forum channels and tags, reactions both ways, selects with resolved data, message commands.

py-cord reads option types from real annotation objects, so this module must NOT use
``from __future__ import annotations``.
"""

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from fakes.discord import SKIP_REASON, FakeDiscord, contract, run_bot
from fakes.discord.guild_channels import CATEGORY_LIMIT, RENAME_WINDOW

PIN = "\N{PUSHPIN}"


class PickView(discord.ui.View):
    """A user select, a role select and a string select, answering what was chosen."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.user_select(custom_id="lead", min_values=1, max_values=2)
    async def lead(self, select: discord.ui.Select, interaction: discord.Interaction) -> None:
        names = sorted(getattr(u, "name", "?") for u in select.values)
        await interaction.response.send_message("lead " + ",".join(names), ephemeral=True)

    @discord.ui.role_select(custom_id="team")
    async def team(self, select: discord.ui.Select, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"team {select.values[0].name}", ephemeral=True)

    @discord.ui.string_select(
        custom_id="severity",
        options=[
            discord.SelectOption(label="SEV1", value="1"),
            discord.SelectOption(label="SEV2", value="2"),
        ],
    )
    async def severity(self, select: discord.ui.Select, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"severity {select.values[0]}", ephemeral=True)


class Incidents(commands.Cog):
    def __init__(self, bot: discord.Bot) -> None:
        self.bot = bot
        self.reactions: asyncio.Queue[tuple[str, discord.RawReactionActionEvent]] = asyncio.Queue()

    @discord.slash_command(description="Pick people")
    async def pick(self, ctx: discord.ApplicationContext) -> None:
        await ctx.respond("pick", view=PickView())

    @discord.message_command(name="Add to timeline")
    async def add_to_timeline(
        self, ctx: discord.ApplicationContext, message: discord.Message
    ) -> None:
        await ctx.respond(f"added {message.author.name}: {message.content}", ephemeral=True)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        await self.reactions.put(("add", event))

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        await self.reactions.put(("remove", event))


def make_bot() -> discord.Bot:
    intents = discord.Intents.default()
    intents.message_content = intents.members = True
    bot = discord.Bot(
        intents=intents, guild_ready_timeout=0.05, allowed_mentions=discord.AllowedMentions.none()
    )
    bot.add_cog(Incidents(bot))
    return bot


async def bot_sees(bot: discord.Bot, event: str, holds: Any) -> None:
    """Wait (no polling) until the bot's cache shows ``holds()``, re-checked on each ``event``
    the bot dispatches after updating its cache."""
    if not holds():
        await bot.wait_for(event, check=lambda *_: holds(), timeout=5)


def guild_of(bot: discord.Bot, fake: FakeDiscord) -> discord.Guild:
    guild = bot.get_guild(int(fake.guild["id"]))
    assert guild is not None
    return guild


async def test_private_channel_in_a_category_is_visible_only_to_the_invited() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        guild = guild_of(bot, fake)
        bob = fake.add_member(fake.guild, fake.add_user("bob"))
        oncall = fake.add_role(fake.guild, "on-call")
        carol = fake.add_member(fake.guild, fake.add_user("carol"), roles=[oncall])
        category = await guild.create_category("Incidents")
        view = discord.PermissionOverwrite(view_channel=True)
        channel = await guild.create_text_channel(
            "inc-1",
            category=category,
            topic="SEV1 investigating",
            overwrites={
                guild.default_role: discord.PermissionOverwrite(view_channel=False),
                guild.me: view,
                discord.Object(int(fake.user["id"])): view,
                discord.Object(int(oncall["id"])): view,
            },
        )
        await bot_sees(bot, "guild_channel_create", lambda: bot.get_channel(channel.id))
        assert bot.get_channel(channel.id).category_id == category.id  # type: ignore[union-attr]
        stored = fake.channels[str(channel.id)]
        assert stored["parent_id"] == str(category.id) and stored["topic"] == "SEV1 investigating"
        assert fake.can_see(fake.user, stored) and fake.can_see(carol, stored)
        assert not fake.can_see(bob, stored)
        # Revoking the role's overwrite hides it from carol; adding bob's shows it to him.
        await bot_sees(bot, "member_join", lambda: guild.get_member(int(bob["id"])))
        await bot_sees(bot, "guild_role_create", lambda: guild.get_role(int(oncall["id"])))
        role, member = guild.get_role(int(oncall["id"])), guild.get_member(int(bob["id"]))
        assert role is not None and member is not None
        await channel.set_permissions(role, overwrite=None)
        await channel.set_permissions(member, view_channel=True)
        assert not fake.can_see(carol, stored) and fake.can_see(bob, stored)
        # Without its own overwrite the bot cannot see the channel: Discord's 50001.
        hidden = await guild.create_text_channel(
            "inc-2",
            overwrites={guild.default_role: discord.PermissionOverwrite(view_channel=False)},
        )
        with pytest.raises(discord.Forbidden) as refused:
            await hidden.send("hello")
        assert refused.value.code == 50001


async def test_overwrites_beyond_the_bots_permissions_are_refused() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        guild = guild_of(bot, fake)
        grant = discord.PermissionOverwrite(administrator=True)
        with pytest.raises(discord.Forbidden):
            await guild.create_text_channel("x", overwrites={guild.default_role: grant})
        fake.deny_bot("manage_roles")  # py-cord does not check: the fake refuses
        plain = discord.PermissionOverwrite(view_channel=False)
        with pytest.raises(discord.Forbidden):
            await guild.create_text_channel("y", overwrites={guild.default_role: plain})
        assert "manage_roles" in fake.denied
        assert not [c for c in fake.channels.values() if c["name"] in ("x", "y")]


async def test_a_category_holds_fifty_channels_like_discord() -> None:
    async with FakeDiscord() as fake:
        full = fake.add_category(fake.guild, "Incidents")
        for n in range(CATEGORY_LIMIT):
            fake.add_channel(fake.guild, f"inc-{n}")["parent_id"] = full["id"]
        async with run_bot(make_bot(), fake) as bot:
            await in_full_category(fake, bot, full)


async def in_full_category(fake: FakeDiscord, bot: discord.Bot, full: dict[str, Any]) -> None:
    guild = guild_of(bot, fake)
    category = guild.get_channel(int(full["id"]))
    assert isinstance(category, discord.CategoryChannel)
    with pytest.raises(discord.HTTPException) as refused:
        await guild.create_text_channel("inc-51", category=category)
    assert refused.value.status == 400 and refused.value.code == 50035
    assert "CHANNEL_PARENT_MAX_CHANNELS" in str(fake.requests[-1].response)
    # Moving an existing channel into the full category is refused the same way.
    general = await bot.fetch_channel(int(fake.channel["id"]))
    with pytest.raises(discord.HTTPException):
        await general.edit(category=category)  # type: ignore[union-attr]
    assert fake.channels[fake.channel["id"]]["parent_id"] is None


async def test_the_third_rename_within_ten_minutes_is_rate_limited() -> None:
    """Through raw HTTP: py-cord would sleep out the 429's retry_after (minutes)."""
    now = [1000.0]
    async with FakeDiscord() as fake:
        fake.rename_limit.clock = lambda: now[0]
        url = f"http://127.0.0.1:{fake.port}/api/v10/channels/{fake.channel['id']}"
        async with aiohttp.ClientSession(headers={"Authorization": "Bot x"}) as session:

            async def patch(body: dict[str, Any]) -> tuple[int, Any]:
                async with session.patch(url, json=body) as response:
                    return response.status, await response.json()

            assert (await patch({"name": "one"}))[0] == 200
            assert (await patch({"topic": "two"}))[0] == 200
            assert (await patch({"topic": "two", "nsfw": False}))[0] == 200  # unchanged: free
            status, body = await patch({"name": "three"})
            assert status == 429 and body["global"] is False
            assert 0 < body["retry_after"] <= RENAME_WINDOW
            assert fake.channels[fake.channel["id"]]["name"] == "one"
            now[0] += RENAME_WINDOW
            assert (await patch({"name": "three"}))[0] == 200
        assert fake.rename_limit.count == 3
        assert not fake.failures


async def test_forum_posts_with_tags_archived_and_locked() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        guild = guild_of(bot, fake)
        forum = await guild.create_forum_channel("incidents")
        forum = await forum.edit(
            available_tags=[discord.ForumTag(name="SEV1"), discord.ForumTag(name="investigating")]
        )
        assert len(forum.available_tags) == 2
        stored = fake.channels[str(forum.id)]
        assert [t["name"] for t in stored["available_tags"]] == ["SEV1", "investigating"]
        sev1 = forum.available_tags[0]
        post = await forum.create_thread(
            "inc-1 database down", content="declared", applied_tags=[sev1]
        )
        thread = fake.channels[str(post.id)]
        assert thread["applied_tags"] == [str(sev1.id)] and thread["parent_id"] == str(forum.id)
        starter = fake.messages[str(post.id)]  # the starter message shares the post's id
        assert starter.content == "declared"
        await post.edit(applied_tags=forum.available_tags)
        assert len(thread["applied_tags"]) == 2
        await post.edit(archived=True, locked=True)
        assert thread["thread_metadata"]["archived"] and thread["thread_metadata"]["locked"]
        # A tag of another forum is refused (400), as is a sixth tag.
        other = await guild.create_forum_channel("other")
        other = await other.edit(available_tags=[discord.ForumTag(name="x")])
        with pytest.raises(discord.HTTPException) as refused:
            await forum.create_thread("bad", content="x", applied_tags=other.available_tags)
        assert refused.value.code == 50035
        many = [discord.ForumTag(name=f"t{n}") for n in range(21)]
        with pytest.raises(discord.HTTPException):
            await forum.edit(available_tags=many)


async def test_reactions_reach_the_bot_and_the_bot_reacts() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        cog = bot.get_cog("Incidents")
        assert isinstance(cog, Incidents)
        said = await fake.send_user_message(fake.channel, fake.user, "the router is on fire")
        await fake.react(said, fake.user, PIN)
        kind, event = await asyncio.wait_for(cog.reactions.get(), 5)
        assert kind == "add" and str(event.emoji) == PIN and event.message_id == said.id
        assert event.member is not None and event.member.id == int(fake.user["id"])
        assert said.payload["reactions"][0]["count"] == 1
        await fake.unreact(said, fake.user, PIN)
        kind, event = await asyncio.wait_for(cog.reactions.get(), 5)
        assert kind == "remove" and event.user_id == int(fake.user["id"])
        assert "reactions" not in said.payload
        channel = await bot.fetch_channel(int(fake.channel["id"]))
        message = await channel.fetch_message(said.id)  # type: ignore[union-attr]
        await message.add_reaction(PIN)
        assert said.reactors[PIN] == [fake.application_id]
        assert said.payload["reactions"][0]["me"] is True
        await message.remove_reaction(PIN, bot.user)  # type: ignore[arg-type]
        assert said.reactors[PIN] == []
        fake.deny_bot("add_reactions")
        with pytest.raises(discord.Forbidden):
            await message.add_reaction(PIN)


async def test_selects_carry_resolved_users_and_roles() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        bob = fake.add_member(fake.guild, fake.add_user("bob"))
        oncall = fake.add_role(fake.guild, "on-call")
        panel = await (await fake.slash("pick")).message()
        record = await fake.select(panel, "lead", [fake.user["id"], bob["id"]])
        assert (await record.message()).content == "lead alice,bob"
        record = await fake.select(panel, "team", [oncall["id"]])
        assert (await record.message()).content == "team on-call"
        record = await fake.select(panel, "severity", ["2"])
        assert (await record.message()).content == "severity 2"
        with pytest.raises(AssertionError, match="offers no"):
            await fake.select(panel, "severity", ["9"])
        with pytest.raises(AssertionError, match="cannot offer"):
            await fake.select(panel, "team", [bob["id"]])


async def test_message_command_gets_the_target_message() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        bob = fake.add_member(fake.guild, fake.add_user("bob"))
        said = await fake.send_user_message(fake.channel, bob, "restarted core-1")
        record = await fake.message_command("Add to timeline", said)
        assert (await record.message()).content == "added bob: restarted core-1"
        with pytest.raises(AssertionError, match="no synced message command"):
            await fake.message_command("Nope", said)


async def test_new_routes_pass_the_contract() -> None:
    if not contract.CONTRACT_CHECKING:
        pytest.skip(SKIP_REASON)
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        guild = guild_of(bot, fake)
        channels = await guild.fetch_channels()
        assert {c.name for c in channels} >= {"general"}
        archive = await guild.create_category("Archive")
        channel = await guild.create_text_channel("inc-3", topic="t")
        await channel.edit(category=archive, sync_permissions=False)
        await channel.set_permissions(guild.default_role, send_messages=False)
        assert fake.channels[str(channel.id)]["parent_id"] == str(archive.id)
    assert not fake.failures
