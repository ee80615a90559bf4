"""One bot world for end-to-end tests, in the spirit of errbot's testbot.

A `BotWorld` is the fake Discord, a database, a `ManualClock` and the real bot built by
`create_bot` on a `Runtime`, its background jobs started once it is ready and stopped
before it closes, as `python -m netbot` does. A test reads as the behaviour it checks:

    world = await world_factory(config={"tickets": {"page_size": 2}}, secrets={...})
    reply = await world.command("ticket show", ticket=12)
    assert reply.embeds[0]["title"] == "#12 ..."

`restart()` is a new process on the same database and clock. Capability-specific set-up
(Redmine links, a fake feed) lives in small fixtures of the test files, built on this one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol

import pytest

from fakes.discord import FakeDiscord, FakeMessage, run_bot
from fakes.discord.records import InteractionRecord
from netbot.capabilities import env_vars, migration_dirs, parse_config
from netbot.core.db import Database
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets
from netbot.core.tasks import Clock, ManualClock
from netbot.discord_bot import NetBot, create_bot

Ref = dict[str, Any] | int | str
REPLY_WITHIN = 20.0  # seconds: Redmine-backed commands answer within this


def merged(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`overrides` on `defaults`, section by section (a nested mapping is merged, not replaced)."""
    out = dict(defaults)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


class BotWorld:
    """The fake Discord, the database, the clock, and one bot process at a time on them."""

    def __init__(
        self,
        fake: FakeDiscord,
        database: Database,
        clock: Clock,
        config: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        crashes_allowed: bool = False,
        fail_on_command_error: bool = False,
    ) -> None:
        self.fake, self.database, self.clock = fake, database, clock
        self.config = parse_config(merged({"guilds": [int(fake.guild["id"])]}, config))
        self.secrets = Secrets.from_mapping(
            {"DISCORD_API_BASE_URL": fake.api_base_url, **secrets}, env_vars()
        )
        self.crashes_allowed = crashes_allowed
        self.fail_on_command_error = fail_on_command_error
        self.runtime = self.new_runtime()
        self.bot: NetBot | None = None
        self._process: AsyncExitStack | None = None
        self._started_once = False

    def new_runtime(self) -> Runtime:
        """A runtime as a (re)started process gets: same configuration, database and clock."""
        return Runtime(
            config=self.config, secrets=self.secrets, database=self.database, clock=self.clock
        )

    # -- the process ------------------------------------------------------------------------

    async def start(self, bot: NetBot | None = None) -> NetBot:
        """Run `bot` (by default `create_bot(self.runtime)`) until ready, then its jobs.

        After the first start each start is a new process: a fresh runtime, unless `bot`
        (built by the test on `self.runtime`) is given.
        """
        assert self._process is None, "the bot is already running"
        if bot is None:
            if self._started_once:
                self.runtime = self.new_runtime()
            bot = create_bot(self.runtime)
        self._started_once = True
        stack = AsyncExitStack()
        await stack.enter_async_context(
            run_bot(bot, self.fake, fail_on_command_error=self.fail_on_command_error)
        )
        self.runtime.supervisor.start()
        stack.push_async_callback(self.runtime.supervisor.stop)
        self.bot, self._process = bot, stack
        return bot

    async def stop(self) -> None:
        """Stop the jobs, then the bot; a crashed command (not a refusal) fails the test."""
        if self._process is None:
            return
        process, self._process, self.bot = self._process, None, None
        await process.aclose()
        self.runtime.workers.close()
        self.runtime.database_probe.close()
        if not self.crashes_allowed:
            assert "netbot_errors_total{" not in self.runtime.metrics.render().decode(), (
                "a command crashed"
            )

    async def restart(self) -> NetBot:
        """A new process on the same database and clock."""
        await self.stop()
        return await self.start()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[NetBot]:
        """One process for the duration of the block."""
        bot = await self.start()
        try:
            yield bot
        finally:
            await self.stop()

    def cog(self, name: str) -> Any:
        """The running bot's cog `name`."""
        assert self.bot is not None, "the bot is not running"
        found = self.bot.get_cog(name)
        assert found is not None, f"cog {name} is not loaded"
        return found

    # -- what a user does, one line each -----------------------------------------------------

    async def command(
        self,
        name: str,
        /,
        *,
        by: Ref | None = None,
        where: Ref | None = None,
        within: float = REPLY_WITHIN,
        **options: Any,
    ) -> FakeMessage:
        """Send slash command `name` as `by` in `where`; the reply the user sees."""
        return await self.fake.command(name, by=by, where=where, within=within, **options)

    async def press(
        self, message: FakeMessage, label: str, *, by: Ref | None = None
    ) -> FakeMessage:
        """Press the button labelled `label`; the reply, or the message once updated."""
        return await self.fake.press(message, label, by=by, within=REPLY_WITHIN)

    async def submit_modal(
        self,
        opener: InteractionRecord | str,
        values: Mapping[str, str],
        *,
        by: Ref | None = None,
    ) -> FakeMessage:
        """Fill in the modal `opener` opened and submit it; the reply the user sees."""
        record = await self.fake.submit_modal(opener, dict(values), user=by)
        return await record.message(within=REPLY_WITHIN)

    async def advance(self, delta: dt.timedelta) -> None:
        """Move the manual clock by `delta`; the jobs it wakes run up to their next wait."""
        assert isinstance(self.clock, ManualClock), "this world's clock is not manual"
        await self.clock.advance(delta)

    def messages_in(self, channel: Ref) -> list[FakeMessage]:
        """Every message in `channel`, oldest first."""
        return self.fake.messages_in(channel)


class WorldFactory(Protocol):
    def __call__(
        self,
        *,
        config: Mapping[str, Any] = ...,
        secrets: Mapping[str, str] = ...,
        database: str = ...,
        clock: Clock | None = ...,
        start: bool = ...,
        crashes_allowed: bool = ...,
        fail_on_command_error: bool = ...,
    ) -> Awaitable[BotWorld]: ...


@pytest.fixture
async def world_factory(
    fake_discord: FakeDiscord, request: pytest.FixtureRequest
) -> AsyncIterator[WorldFactory]:
    """Build `BotWorld`s on the test's fake Discord; each is stopped and closed at the end.

    `database` is "sqlite" (a fresh file), "postgres" (a fresh schema) or a URL; `clock`
    defaults to a `ManualClock` at the current time; `start=False` leaves the bot to
    `world.start()` once the test has prepared the database or the runtime.
    """
    worlds: list[BotWorld] = []

    async def make(
        *,
        config: Mapping[str, Any] = {},
        secrets: Mapping[str, str] = {},
        database: str = "sqlite",
        clock: Clock | None = None,
        start: bool = True,
        crashes_allowed: bool = False,
        fail_on_command_error: bool = False,
    ) -> BotWorld:
        url = (
            request.getfixturevalue(f"{database}_url")
            if database in ("sqlite", "postgres")
            else database
        )
        world = BotWorld(
            fake_discord,
            Database.open(url, migration_dirs()),
            clock or ManualClock(dt.datetime.now(dt.UTC)),
            config,
            secrets,
            crashes_allowed=crashes_allowed,
            fail_on_command_error=fail_on_command_error,
        )
        worlds.append(world)
        if start:
            await world.start()
        return world

    try:
        yield make
    finally:
        for world in worlds:
            try:
                await world.stop()
            finally:
                world.database.close()


@pytest.fixture
async def bot_world(world_factory: WorldFactory) -> BotWorld:
    """The bot with the test defaults, running."""
    return await world_factory()
