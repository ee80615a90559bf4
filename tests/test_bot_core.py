"""The real bot, through the real py-cord client, against the fake Discord.

Covers the rules every cog relies on: the guild allow-list, `allowed_mentions` none, the
global error handler (ephemeral reply + one log line under the same error id), metrics per
command, and draining running commands at shutdown. The sample commands are the core cog's
`/netbot status` (with a button) and `/netbot help` (with autocomplete).
"""

import asyncio
import logging
import re
from typing import Any

import discord
import pytest
from discord.ext import commands

from netbot.capabilities import parse_config
from netbot.core.errors import UserError
from netbot.core.secrets import Secret, Secrets
from netbot.discord_bot import NetBot, create_bot
from tests.plugins.world import BotWorld, WorldFactory

ERROR_ID = re.compile(r"error id ([0-9a-f]{8})")
CORE_ONLY = {"cogs": {"tickets": False}}


@pytest.fixture
async def world(world_factory: WorldFactory) -> BotWorld:
    """The bot with only its core cog, not started yet; any command error fails the test."""
    return await world_factory(config=CORE_ONLY, start=False, fail_on_command_error=True)


def make_trouble() -> commands.Cog:
    """Test-only commands that fail, or wait, on request.

    A new class per bot: py-cord shares a cog class's commands between instances, and the
    first bot stamps its guild ids on them.
    """

    class Trouble(commands.Cog):
        def __init__(self) -> None:
            self.release = asyncio.Event()
            self.entered = asyncio.Event()

        @discord.slash_command(description="fails")
        async def boom(self, ctx: discord.ApplicationContext, kind: str) -> None:
            if kind == "user":
                raise UserError("Ticket 99 does not exist.")
            raise RuntimeError("database exploded")

        @discord.slash_command(description="waits until released")
        async def slow(self, ctx: discord.ApplicationContext) -> None:
            self.entered.set()
            await self.release.wait()
            await ctx.respond("finished")

    return Trouble()


async def test_status_answers_ephemerally_and_refresh_button_edits(world: BotWorld) -> None:
    await world.start()
    message = await world.command("netbot status")
    assert message.ephemeral
    description = message.embeds[0]["description"]
    assert "Gateway: connected" in description
    assert "Database: reachable" in description
    assert "Cogs: core" in description
    assert message.buttons == {"netbot:status:refresh": "Refresh"}
    assert message.allowed_mentions == {"parse": []}

    world.runtime.health.failure("redmine", "HTTP 503 from Redmine")
    click = await world.fake.click(message, "netbot:status:refresh")
    edited = await click.response()
    assert edited["type"] == 7  # UPDATE_MESSAGE: the same message, edited
    assert "redmine: failing (HTTP 503 from Redmine)" in edited["data"]["embeds"][0]["description"]


async def test_help_autocompletes_command_names_and_describes_one(world: BotWorld) -> None:
    await world.start()
    choices = await world.fake.autocomplete("netbot help", {"command": "stat"}, focused="command")
    assert [c["value"] for c in choices] == ["netbot status"]
    everything = await world.fake.autocomplete("netbot help", {"command": ""}, focused="command")
    assert {c["value"] for c in everything} == {"netbot status", "netbot help"}

    message = await world.command("netbot help", command="netbot help")
    assert message.content == "/netbot help <command>\nWhat a command does and its options"
    assert message.ephemeral


async def test_guilds_off_the_allow_list_are_refused(world: BotWorld) -> None:
    fake = world.fake
    stranger = fake.add_guild("elsewhere")
    channel = fake.add_channel(stranger, "general")
    fake.add_member(stranger, fake.user)
    # Commands are registered per allowed guild in production; register them globally here
    # so a foreign guild can send one, as it could if an operator made them global.
    bot = NetBot(world.runtime, global_commands=True)
    bot.load_configured_cogs()
    await world.start(bot)
    message = await world.command("netbot status", where=channel)
    assert message.ephemeral
    assert message.content == "netbot is not enabled in this server."
    choices = await fake.autocomplete(
        "netbot help", {"command": "s"}, focused="command", guild=stranger, channel=channel
    )
    assert choices == []
    metrics = bot.runtime.metrics.render().decode()
    assert 'netbot_commands_total{command="netbot",outcome="refused"} 2.0' in metrics


async def test_errors_get_an_ephemeral_id_and_one_log_line(
    world_factory: WorldFactory, caplog: pytest.LogCaptureFixture
) -> None:
    world = await world_factory(config=CORE_ONLY, start=False, crashes_allowed=True)
    runtime = world.runtime
    bot = create_bot(runtime)
    bot.add_cog(make_trouble())
    await world.start(bot)
    with caplog.at_level(logging.INFO, logger="netbot.discord_bot"):
        crash = await world.command("boom", kind="crash")
        refusal = await world.command("boom", kind="user")
    await world.stop()

    assert crash.ephemeral and refusal.ephemeral
    assert "database exploded" not in crash.content
    crash_id = ERROR_ID.search(crash.content).group(1)
    refusal_id = ERROR_ID.search(refusal.content).group(1)
    assert refusal.content.startswith("Ticket 99 does not exist.")
    crash_lines = [r for r in caplog.records if crash_id in r.getMessage()]
    assert len(crash_lines) == 1 and crash_lines[0].exc_info is not None
    refusal_lines = [r for r in caplog.records if refusal_id in r.getMessage()]
    assert len(refusal_lines) == 1 and refusal_lines[0].exc_info is None
    metrics = runtime.metrics.render().decode()
    assert 'netbot_commands_total{command="boom",outcome="error"} 1.0' in metrics
    assert 'netbot_commands_total{command="boom",outcome="user_error"} 1.0' in metrics


async def test_drain_finishes_running_commands_and_refuses_new_ones(world: BotWorld) -> None:
    bot = create_bot(world.runtime)
    trouble: Any = make_trouble()
    bot.add_cog(trouble)
    await world.start(bot)
    running = await world.fake.slash("slow")
    await asyncio.wait_for(trouble.entered.wait(), 5)
    drained = asyncio.create_task(bot.drain(grace_seconds=5))
    late = await world.command("netbot status")
    assert late.content == "netbot is restarting; please try again in a minute."
    assert not drained.done()
    trouble.release.set()
    assert await drained is True
    assert (await running.message()).content == "finished"


async def test_cogs_without_their_backend_are_skipped_with_one_log_line(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = world.runtime
    runtime.config = parse_config({"guilds": [1]})  # alerts on, but no alerts.channel_id
    runtime.secrets = Secrets(
        env={"KONTUR_USERNAME": "someone", "KONTUR_PASSWORD": Secret("pw-123456")}
    )
    bot = NetBot(runtime)
    with caplog.at_level(logging.INFO, logger="netbot.discord_bot"):
        loaded = bot.load_configured_cogs()
    assert loaded == ["core"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("netbot.")] == [
        "cog tickets not loaded: REDMINE_URL, REDMINE_TOKEN not set",
        "cog alerts not loaded: alerts.channel_id is not set in the configuration",
        "cog slack not loaded: SLACK_BOT_TOKEN not set",
        "cog netbox not loaded: NETBOX_TOKEN not set",
        "cog incidents not loaded: incidents.headline_channel_id is not set in the configuration",
        "cog threader not loaded: REDMINE_URL, REDMINE_TOKEN not set",
    ]


async def test_switched_off_cogs_say_so(world: BotWorld, caplog: pytest.LogCaptureFixture) -> None:
    runtime = world.runtime
    runtime.config = parse_config({"guilds": [1], "cogs": {"tickets": False, "alerts": False}})
    with caplog.at_level(logging.INFO, logger="netbot.discord_bot"):
        assert NetBot(runtime).load_configured_cogs() == ["core"]
    assert "cog alerts not loaded: switched off in the configuration" in caplog.text


async def test_admins_are_admin_roles_and_server_managers(world_factory: WorldFactory) -> None:
    world = await world_factory(start=False, fail_on_command_error=True)
    fake, guild = world.fake, world.fake.guild
    ops = fake.add_role(guild, "ops-admins")
    managers = fake.add_role(guild, "managers", permissions=1 << 5)  # MANAGE_GUILD
    world.runtime.config = parse_config(
        {"guilds": [int(guild["id"])], "roles": {"admin": [int(ops["id"])]}}
    )
    people = {name: fake.add_user(name) for name in ("op", "manager", "member")}
    fake.add_member(guild, people["op"], roles=[ops])
    fake.add_member(guild, people["manager"], roles=[managers])
    fake.add_member(guild, people["member"])
    bot = await world.start()
    members = bot.get_guild(int(guild["id"]))
    verdict = {name: bot.is_admin(members.get_member(int(u["id"]))) for name, u in people.items()}
    assert verdict == {"op": True, "manager": True, "member": False}


async def test_the_shards_to_run_come_from_the_environment(world_factory: WorldFactory) -> None:
    world = await world_factory(
        config=CORE_ONLY,
        secrets={"NETBOT_SHARD_COUNT": "1", "NETBOT_SHARD_IDS": "0"},
        start=False,
        fail_on_command_error=True,
    )
    bot = create_bot(world.runtime)
    assert isinstance(bot, discord.AutoShardedBot)
    await world.start(bot)
    assert (bot.shard_count, sorted(bot.shards)) == (1, [0])
    reply = await world.command("netbot status")
    assert "Gateway: connected" in reply.embeds[0]["description"]
