"""Tests of the fake Discord harness itself, with a small test-only bot and cog.

They prove that the real py-cord client starts against the fake and that each way of driving
it (slash, defer, subcommand groups, autocomplete, buttons, modals, messages, threads) works,
and that the fake fails a test on unknown routes and contract violations.

py-cord reads option types from real annotation objects, so this module must NOT use
``from __future__ import annotations`` (string annotations break option parsing).
"""

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from fakes.discord import SKIP_REASON, FakeDiscord, contract, payloads, run_bot
from fakes.discord.payloads import snowflake


async def suggest_projects(ctx: discord.AutocompleteContext) -> list[str]:
    return [p for p in ("network", "noc", "website") if p.startswith(ctx.value)]


class ReportModal(discord.ui.Modal):
    def __init__(self) -> None:
        super().__init__(title="Report an outage", custom_id="report-modal")
        self.add_item(discord.ui.InputText(label="Summary", custom_id="summary"))
        self.add_item(discord.ui.InputText(label="Details", custom_id="details", required=False))

    async def callback(self, interaction: discord.Interaction) -> None:
        summary = self.children[0].value
        await interaction.response.send_message(f"reported: {summary}", ephemeral=True)


class AckView(discord.ui.View):
    @discord.ui.button(label="Acknowledge", custom_id="ack")
    async def ack(self, button: discord.ui.Button, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(
            content=f"acked by {interaction.user.name}", view=None
        )

    @discord.ui.string_select(
        custom_id="severity",
        options=[discord.SelectOption(label="sev1"), discord.SelectOption(label="sev2")],
    )
    async def severity(self, select: discord.ui.Select, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"severity {select.values[0]}", ephemeral=True)


class RefreshView(discord.ui.View):
    @discord.ui.button(label="Refresh", custom_id="refresh")
    async def refresh(self, button: discord.ui.Button, interaction: discord.Interaction) -> None:
        await interaction.response.defer()  # a deferred update, answered by an edit
        await interaction.edit_original_response(content="refreshed", view=None)


class Ops(commands.Cog):
    """Covers each interaction kind the harness has to support."""

    netbot = discord.SlashCommandGroup("netbot", "netbot commands")
    ticket = netbot.create_subgroup("ticket", "tickets")

    def __init__(self, bot: discord.Bot) -> None:
        self.bot = bot
        self.seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @netbot.command(description="Bot status")
    async def status(self, ctx: discord.ApplicationContext) -> None:
        await ctx.respond("all systems nominal", ephemeral=True)

    @netbot.command(description="Slow command")
    async def slow(self, ctx: discord.ApplicationContext, count: int) -> None:
        await ctx.defer()
        await ctx.respond(f"counted {count * 2}", embed=discord.Embed(title="result"))

    @ticket.command(name="list", description="List tickets")
    async def ticket_list(
        self,
        ctx: discord.ApplicationContext,
        project: discord.Option(str, autocomplete=suggest_projects),  # type: ignore[valid-type]
        limit: int = 5,
        mine: bool = False,
        assignee: discord.Member | None = None,
    ) -> None:
        who = assignee.name if assignee else "anyone"
        await ctx.respond(f"{project}: {limit} tickets, mine={mine}, assignee={who}")

    @netbot.command(description="Incident panel")
    async def panel(self, ctx: discord.ApplicationContext) -> None:
        await ctx.respond("incident open", view=AckView())

    @netbot.command(description="A board refreshed by a button")
    async def board(self, ctx: discord.ApplicationContext) -> None:
        await ctx.respond("stale", view=RefreshView())

    @netbot.command(description="Report something")
    async def report(self, ctx: discord.ApplicationContext) -> None:
        await ctx.send_modal(ReportModal())

    @netbot.command(description="Open a thread")
    async def thread(self, ctx: discord.ApplicationContext, name: str) -> None:
        thread = await ctx.channel.create_thread(name=name, type=discord.ChannelType.public_thread)
        await ctx.respond(f"opened {thread.mention}")

    @netbot.command(description="Always fails")
    async def broken(self, ctx: discord.ApplicationContext) -> None:
        raise RuntimeError("boom")

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        await self.seen.put(message)
        if message.content == "ping":
            await message.channel.send("pong")
        elif message.content.startswith("discuss "):
            await message.create_thread(name=message.content.removeprefix("discuss "))


def make_bot(intents: discord.Intents | None = None, **options: Any) -> discord.Bot:
    """One bot per test: slash commands in a cog are shared by every instance of the class.
    By default it asks for the message_content intent (the fake's application has it)."""
    if intents is None:
        intents = discord.Intents.default()
        intents.message_content = True
    bot = discord.Bot(
        intents=intents,
        guild_ready_timeout=0.05,
        allowed_mentions=discord.AllowedMentions.none(),
        **options,
    )
    bot.add_cog(Ops(bot))
    return bot


async def test_slash_command_answered_immediately() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        record = await fake.slash("netbot status")
        response = await record.response()
        message = await record.message()
    assert response["type"] == 4
    assert message.content == "all systems nominal"
    assert message.ephemeral
    assert message.allowed_mentions == {"parse": []}


async def test_deferred_then_follow_up() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        record = await fake.slash("netbot slow", {"count": "21"})
        assert (await record.response())["type"] == 5
        followup = await record.followup()
    assert followup.content == "counted 42"
    assert followup.embeds[0]["title"] == "result"
    assert followup is record.original  # the first follow-up fills the "thinking..." message
    assert not followup.ephemeral


async def test_subcommand_group_with_typed_options() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        bob = fake.add_member(fake.guild, fake.add_user("bob"))
        record = await fake.slash(
            "netbot ticket list", {"project": "noc", "limit": 3, "mine": True, "assignee": bob}
        )
        message = await record.message()
    assert message.content == "noc: 3 tickets, mine=True, assignee=bob"
    options = record.payload["data"]["options"][0]["options"][0]["options"]
    assert {o["name"]: o["type"] for o in options} == {
        "project": 3,
        "limit": 4,
        "mine": 5,
        "assignee": 6,
    }


async def test_autocomplete_returns_choices() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        choices = await fake.autocomplete("netbot ticket list", {"project": "n"}, focused="project")
    assert choices == [{"name": "network", "value": "network"}, {"name": "noc", "value": "noc"}]


async def test_button_click_edits_the_message() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        panel = await (await fake.slash("netbot panel")).message()
        assert panel.buttons == {"ack": "Acknowledge"}
        assert panel.component("severity")["type"] == 3
        click = await fake.click(panel, "ack")
        assert (await click.response())["type"] == 7
    assert panel.content == f"acked by {fake.user['username']}"
    assert panel.components == []


async def test_one_line_per_step_a_command_and_button_presses() -> None:
    """The testbot-style helpers: a command's reply; what a button press leaves on screen."""
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        bob = fake.add_member(fake.guild, fake.add_user("bob"))
        reply = await fake.command("netbot ticket list", project="noc", limit=3, by=bob)
        panel = await fake.command("netbot panel")
        acked = await fake.press(panel, "Acknowledge", by=bob)
        board = await fake.command("netbot board")
        refreshed = await fake.press(board, "Refresh")
        with pytest.raises(AssertionError, match="0 buttons 'Refresh'"):
            await fake.press(board, "Refresh")
    assert reply.content == "noc: 3 tickets, mine=False, assignee=anyone"
    assert acked is panel and acked.content == "acked by bob" and acked.components == []
    assert refreshed is board and refreshed.content == "refreshed" and refreshed.components == []


async def test_select_menu_choice_is_answered() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        panel = await (await fake.slash("netbot panel")).message()
        reply = await (await fake.select(panel, "severity", ["sev2"])).message()
    assert reply.content == "severity sev2"
    assert reply.ephemeral


async def test_modal_opened_and_submitted() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        opener = await fake.slash("netbot report")
        await opener.response()
        assert opener.modal is not None
        assert opener.modal["title"] == "Report an outage"
        submitted = await fake.submit_modal(opener, {"summary": "core switch down"})
        reply = await submitted.message()
    assert reply.content == "reported: core switch down"
    assert reply.ephemeral


async def test_user_message_reaches_a_listener() -> None:
    bot = make_bot()
    async with FakeDiscord() as fake, run_bot(bot, fake):
        await fake.send_user_message(fake.channel, fake.user, "ping")
        seen = await asyncio.wait_for(bot.get_cog("Ops").seen.get(), 2)
        reply = await fake.wait_for_message(fake.channel, lambda m: m.content == "pong")
    assert seen.content == "ping"
    assert seen.author.id == int(fake.user["id"])
    assert reply.allowed_mentions == {"parse": []}


async def test_thread_creation_reaches_the_bot_over_the_gateway() -> None:
    bot = make_bot()
    async with FakeDiscord() as fake, run_bot(bot, fake):
        created = asyncio.ensure_future(bot.wait_for("thread_create", timeout=2))
        reply = await (await fake.slash("netbot thread", {"name": "outage-42"})).message()
        thread = await created
        assert bot.get_channel(thread.id) is thread
        message_thread = asyncio.ensure_future(bot.wait_for("thread_create", timeout=2))
        user_message = await fake.send_user_message(fake.channel, fake.user, "discuss bgp")
        from_message = await message_thread
    assert thread.name == "outage-42"
    assert thread.parent_id == int(fake.channel["id"])
    assert reply.content == f"opened <#{thread.id}>"
    assert from_message.id == user_message.id
    assert from_message.name == "bgp"


async def test_command_error_fails_fast_with_the_bots_exception() -> None:
    fake = FakeDiscord()
    async with fake:
        async with run_bot(make_bot(), fake):
            record = await fake.slash("netbot broken")
            with pytest.raises(AssertionError, match="boom"):
                await record.response(within=2)
        fake.failures.clear()


async def test_unknown_route_is_recorded_and_fails_the_test() -> None:
    fake = FakeDiscord()
    async with fake:
        async with run_bot(make_bot(), fake) as bot:
            route = discord.http.Route("GET", "/guilds/{guild_id}/audit-logs", guild_id=1)
            with pytest.raises(discord.NotFound):
                await bot.http.request(route)
        url = f"http://127.0.0.1:{fake.port}/elsewhere"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 404
        assert len(fake.failures) == 2
        assert "unknown route: GET /api/v10/guilds/1/audit-logs" in fake.failures[0]
        with pytest.raises(AssertionError, match="2 failure"):
            fake.assert_no_failures()
        fake.failures.clear()


async def test_injected_error_reaches_the_bot() -> None:
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        fake.fail_next(
            "POST",
            "/channels/{channel_id}/messages",
            403,
            {"message": "Missing Access", "code": 50001},
        )
        with pytest.raises(discord.Forbidden):
            await bot.get_channel(int(fake.channel["id"])).send("hello")
        await bot.get_channel(int(fake.channel["id"])).send("hello again")
    assert [m.content for m in fake.messages_in(fake.channel)] == ["hello again"]


async def test_contract_violation_is_detected() -> None:
    if not contract.CONTRACT_CHECKING:
        pytest.skip(SKIP_REASON)
    bad = {"content": 5, "allowed_mentions": {"parse": []}}
    problem = contract.check_request(
        "POST", "/channels/1/messages", body=bad, headers={"Authorization": "Bot x"}
    )
    assert problem is not None and "content" in problem
    assert (
        contract.check_request(
            "POST",
            "/channels/1/messages",
            body={"content": "ok"},
            headers={"Authorization": "Bot x"},
        )
        is None
    )
    assert contract.check_response(
        "GET", "/gateway", 200, {"uri": "ws://x"}, headers={"Authorization": "Bot x"}
    )
    fake = FakeDiscord()
    async with fake:
        async with aiohttp.ClientSession(headers={"Authorization": "Bot x"}) as session:
            url = f"http://127.0.0.1:{fake.port}/api/v10/channels/{fake.channel['id']}/messages"
            async with session.post(url, json={"content": "x", "tts": "yes"}):
                pass
        assert any("violates the spec" in f and "tts" in f for f in fake.failures), fake.failures
        fake.failures.clear()


async def test_rest_routes_used_by_cogs_pass_the_contract() -> None:
    """Every route the fake serves, driven through py-cord's own API, contract-checked."""
    async with FakeDiscord() as fake, run_bot(make_bot(), fake) as bot:
        channel = await bot.fetch_channel(int(fake.channel["id"]))
        await channel.edit(topic="incidents only", name="ops")
        sent = await channel.send("draft")
        await sent.edit(content="final")
        assert [m.content async for m in channel.history(limit=5)] == ["final"]
        thread = await sent.create_thread(name="follow-up")
        await thread.join()
        await thread.add_user(discord.Object(int(fake.user["id"])))
        await thread.edit(archived=True)
        guild = bot.get_guild(int(fake.guild["id"]))
        member = await guild.fetch_member(int(fake.user["id"]))
        oncall = fake.add_role(fake.guild, "on-call")
        roles = await guild.fetch_roles()
        await member.add_roles(next(r for r in roles if r.name == "on-call"))
        with pytest.raises(discord.NotFound):
            await guild.fetch_member(1)
        dm = await member.send("you are on call")
        await sent.delete()
    assert fake.channels[fake.channel["id"]]["topic"] == "incidents only"
    assert fake.channels[str(thread.id)]["thread_metadata"]["archived"] is True
    assert oncall["id"] in fake.members[fake.guild["id"]][fake.user["id"]]["roles"]
    assert fake.channels[str(dm.channel.id)]["type"] == 1
    assert fake.messages_in(fake.channel) == []
    assert not fake.failures


async def test_guild_commands_sync_and_run(fake_discord: FakeDiscord) -> None:
    bot = make_bot(debug_guilds=[int(fake_discord.guild["id"])])
    try:
        async with run_bot(bot, fake_discord):
            message = await (await fake_discord.slash("netbot status")).message()
    finally:
        # debug_guilds writes guild_ids onto the command objects, which every Ops instance
        # shares: left there, each later bot would sync them to this test's guild only.
        for command in bot.pending_application_commands:
            command.guild_ids = None
    assert message.content == "all systems nominal"
    assert fake_discord.commands[None] == []
    assert [c["name"] for c in fake_discord.commands[fake_discord.guild["id"]]] == ["netbot"]


async def test_a_bot_crash_is_surfaced(fake_discord: FakeDiscord) -> None:
    """A malformed gateway event kills py-cord; waits fail at once and run_bot re-raises."""
    broken = payloads.thread(snowflake(), fake_discord.channel, "broken", fake_discord.user["id"])
    del broken["thread_metadata"]["create_timestamp"]
    with pytest.raises(KeyError, match="create_timestamp"):
        async with run_bot(make_bot(), fake_discord):
            fake_discord.dispatch("THREAD_CREATE", {**broken, "newly_created": True})
            with pytest.raises(AssertionError, match="the bot crashed"):
                await fake_discord.wait_until(lambda: False, "the bot to crash")
