"""The bot factory: a py-cord Bot with netbot's rules applied to every interaction.

Rules that hold for every cog, so no cog has to remember them:
- only allow-listed guilds are served: slash commands, autocomplete, and every component
  (buttons, selects) and modal, checked once here for all views;
- nothing pings by accident (`allowed_mentions` is none unless a message says otherwise);
- every failed command gets an ephemeral answer with a short error id, and exactly one log
  line under that id;
- no reply exceeds Discord's limits (2,000 characters of content, the embed limits): replies
  through the command context and the shared error path are clipped, not rejected;
- on shutdown, commands already running are finished before the connection closes.

The bot is an `AutoShardedBot`: by default it runs every shard Discord recommends (one, for
most communities); NETBOT_SHARD_COUNT and NETBOT_SHARD_IDS split the shards over several
processes, which then share a PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import aiohttp
import discord

from netbot.capabilities import CAPABILITIES
from netbot.core.capability import Capability
from netbot.core.errors import UserError, new_error_id
from netbot.core.metrics import Outcome
from netbot.core.runtime import Runtime
from netbot.core.text import clip
from netbot.discord_bot.replies import ERROR_MESSAGE_LIMIT, FittingContext, reply_ephemeral

log = logging.getLogger(__name__)

T = TypeVar("T")


# The core cog (`/netbot status`, `/netbot help`) first, then one per registered capability.
CORE = Capability(
    name="core",
    cog="cogs.core",
    discord_permissions=("view_channel", "send_messages", "embed_links"),
)
COGS: tuple[Capability, ...] = (CORE, *CAPABILITIES)

NOT_ALLOWED = "netbot is not enabled in this server."
SHUTTING_DOWN = "netbot is restarting; please try again in a minute."

# Interaction types that reach views and modals rather than application commands.
_COMPONENT, _MODAL_SUBMIT = 3, 5

PORTAL = "Discord Developer Portal (https://discord.com/developers/applications) > your application"
TOKEN_REJECTED = (
    "Discord rejected DISCORD_TOKEN ({how}): copy a new token from the "
    f"{PORTAL} > Bot > Reset Token into DISCORD_TOKEN, then start netbot again"
)
# Intent flag -> the toggle's name under Bot > Privileged Gateway Intents.
PRIVILEGED_TOGGLES = {
    "members": "Server Members Intent",
    "message_content": "Message Content Intent",
    "presences": "Presence Intent",
}
# Seconds between attempts to reach Discord at start-up; the last one is the last attempt.
DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 60.0, 60.0, 60.0)


class DiscordProblem(Exception):
    """Discord cannot be used, for a reason the operator fixes: one line, what, why, what
    to do, instead of py-cord's traceback."""


class DiscordRefused(DiscordProblem):
    """Discord answered but refused the bot: a rejected token, a privileged intent off."""


class DiscordUnreachable(DiscordProblem):
    """Discord (DISCORD_API_BASE_URL) did not answer through every attempt."""


class NetBot(discord.AutoShardedBot):
    """An `AutoShardedBot` that carries the runtime and enforces the rules above."""

    def __init__(
        self, runtime: Runtime, *, global_commands: bool = False, **options: object
    ) -> None:
        intents = discord.Intents.default()
        intents.members = True
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        sharding = runtime.secrets.sharding
        if sharding.count is not None:
            options.setdefault("shard_count", sharding.count)
        if sharding.ids is not None:
            options.setdefault("shard_ids", list(sharding.ids))
        super().__init__(intents=intents, **options)
        self.runtime = runtime
        # Commands are registered in the allowed guilds only (instant updates, invisible
        # elsewhere); `global_commands` registers them everywhere instead.
        self.command_guilds = None if global_commands else list(runtime.config.guilds)
        self.loaded_cogs: list[str] = []
        self._started: dict[int, float] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False
        self._refusals: set[asyncio.Task[None]] = set()
        # Every interaction passes `_gate_interaction` before py-cord hands it to a view,
        # a modal or an `on_interaction` listener.
        self._dispatch_interaction = self._connection.parsers["INTERACTION_CREATE"]
        self._connection.parsers["INTERACTION_CREATE"] = self._gate_interaction

    # ------------------------------------------------------------------ cogs
    def load_configured_cogs(self, specs: tuple[Capability, ...] = COGS) -> list[str]:
        """Load each switched-on cog whose backend is configured; one log line per skip."""
        for spec in specs:
            if not self.runtime.config.switched_on(spec.name):
                log.info("cog %s not loaded: switched off in the configuration", spec.name)
                continue
            missing = self.runtime.secrets.missing(*spec.requires)
            if missing:
                log.info("cog %s not loaded: %s not set", spec.name, ", ".join(missing))
                continue
            try:
                self.load_extension(spec.cog)
            except discord.ExtensionFailed as exc:
                if not isinstance(exc.original, UserError):
                    raise
                log.info("cog %s not loaded: %s", spec.name, exc.original.message)
                continue
            self.loaded_cogs.append(spec.name)
        self._ask_for_intents(specs)
        return self.loaded_cogs

    def _ask_for_intents(self, specs: tuple[Capability, ...]) -> None:
        """Ask Discord for the privileged intents the loaded cogs read (Message Content for
        incident timelines and keywords): only those, so a bot without such a cog runs
        without the Developer Portal toggle. Set before connecting, when IDENTIFY sends them."""
        wanted = {
            i for spec in specs if spec.name in self.loaded_cogs for i in spec.privileged_intents
        }
        if "message_content" in wanted:
            self._connection._intents.message_content = True

    def add_application_command(self, command: discord.ApplicationCommand) -> None:
        # Set, not defaulted: a command object can outlive a bot (a cog package's submodule
        # stays imported), and must never keep another configuration's guilds.
        command.guild_ids = self.command_guilds
        super().add_application_command(command)

    # ------------------------------------------------------------------ gateway state
    async def on_connect(self) -> None:
        self.runtime.health.gateway_up()
        await super().on_connect()  # syncs the application commands

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))
        configured = set(self.runtime.config.guilds)
        absent = sorted(configured - {guild.id for guild in self.guilds})
        if absent:
            log.warning(
                "the bot is not in %s of the configured guilds (%s)%s: invite it there "
                "(python -m netbot invite-url) or fix `guilds` in the configuration",
                "any" if len(absent) == len(configured) else f"{len(absent)}",
                ", ".join(map(str, absent)),
                "; it serves no one" if len(absent) == len(configured) else "",
            )

    # ------------------------------------------------------------------ connecting
    async def run_gateway(
        self, token: str, retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS
    ) -> None:
        """Log in and hold the gateway until closed; operators' problems as DiscordProblem.

        Logging in is retried while Discord does not answer, after each of `retry_delays`
        (one log line per attempt), rather than py-cord's silent wait; a rejected token
        (HTTP 401, gateway close 4004) or a privileged intent that is off (close 4014) is
        said at once, since retrying cannot fix it.
        """
        await self._login_with_retries(token, retry_delays)
        try:
            await self.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            toggles = [
                toggle for flag, toggle in PRIVILEGED_TOGGLES.items() if getattr(self.intents, flag)
            ]
            raise DiscordRefused(
                "Discord refused the privileged intents netbot needs (gateway close 4014): "
                f"switch on {' and '.join(toggles)} in the {PORTAL} > Bot > Privileged "
                "Gateway Intents, then start netbot again"
            ) from None
        except discord.ConnectionClosed as exc:
            if exc.code != 4004:
                raise
            raise DiscordRefused(TOKEN_REJECTED.format(how="gateway close 4004")) from None

    async def _login_with_retries(self, token: str, retry_delays: Sequence[float]) -> None:
        where = discord.http.Route.API_BASE_URL.format(API_VERSION=discord.http.API_VERSION)
        attempts = len(retry_delays) + 1
        for attempt, delay in enumerate((*retry_delays, None), start=1):
            try:
                await self.login(token)
                return
            except discord.LoginFailure:
                raise DiscordRefused(TOKEN_REJECTED.format(how="HTTP 401")) from None
            except (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordServerError) as exc:
                why = " ".join(str(exc).split()) or type(exc).__name__
                await self.http.close()  # each login opens a new HTTP session
                if delay is None:
                    raise DiscordUnreachable(
                        f"Discord is unreachable at {where} after {attempts} attempts ({why}): "
                        "check the network, proxy or firewall, and DISCORD_API_BASE_URL"
                    ) from exc
                log.warning(
                    "Discord unreachable at %s (attempt %d of %d: %s); retrying in %gs",
                    where, attempt, attempts, why, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)

    async def on_resumed(self) -> None:
        self.runtime.health.gateway_up()

    async def on_disconnect(self) -> None:
        self.runtime.health.gateway_down()

    # ------------------------------------------------------------------ interactions
    def is_allowed(self, guild_id: int | None) -> bool:
        return guild_id is not None and guild_id in self.runtime.config.guilds

    def is_admin(self, member: object) -> bool:
        """Whether a guild member may do admin things: holds a configured admin role
        (`roles.admin`), or may manage the server anyway (its owner and managers)."""
        admin_roles = set(self.runtime.config.roles.admin)
        if any(role.id in admin_roles for role in getattr(member, "roles", [])):
            return True
        permissions = getattr(member, "guild_permissions", None)
        return bool(permissions and (permissions.administrator or permissions.manage_guild))

    def _gate_interaction(self, data: dict[str, Any]) -> None:
        """Refuse components and modals from guilds off the allow-list before any view runs.

        A message with netbot's buttons can outlive its guild's place on the allow-list (or
        be forged), and persistent views answer by custom_id alone; checking here covers
        every view and listener at once, instead of trusting each to check.
        """
        guild_id = data.get("guild_id")
        if data.get("type") not in (_COMPONENT, _MODAL_SUBMIT) or self.is_allowed(
            int(guild_id) if guild_id else None
        ):
            self._dispatch_interaction(data)
            return
        interaction = discord.Interaction(data=cast(Any, data), state=self._connection)
        custom_id = dict(interaction.data or {}).get("custom_id", "?")
        log.info("refused %s from guild %s: not on the allow-list", custom_id, guild_id)
        task = asyncio.create_task(reply_ephemeral(interaction, NOT_ALLOWED))
        self._refusals.add(task)
        task.add_done_callback(self._refusals.discard)

    async def get_application_context(
        self, interaction: discord.Interaction, cls: Any = None
    ) -> discord.ApplicationContext:
        return await super().get_application_context(interaction, cls or FittingContext)

    async def process_application_commands(
        self, interaction: discord.Interaction, auto_sync: bool | None = None
    ) -> None:
        if interaction.type not in (
            discord.InteractionType.application_command,
            discord.InteractionType.auto_complete,
        ):
            return
        refusal = None
        if not self.is_allowed(interaction.guild_id):
            refusal = NOT_ALLOWED
        elif self._draining:
            refusal = SHUTTING_DOWN
        if refusal is None:
            await super().process_application_commands(interaction, auto_sync)
            return
        data: dict[str, Any] = dict(interaction.data or {})
        self.runtime.metrics.command(str(data.get("name", "?")), "refused", 0.0)
        if interaction.type is discord.InteractionType.auto_complete:
            await interaction.response.send_autocomplete_result(choices=[])
        else:
            await interaction.response.send_message(refusal, ephemeral=True)

    async def on_application_command(self, ctx: discord.ApplicationContext) -> None:
        self._started[ctx.interaction.id] = time.perf_counter()
        self._idle.clear()
        self.runtime.metrics.set_queue_depth("commands_in_flight", len(self._started))

    async def on_application_command_completion(self, ctx: discord.ApplicationContext) -> None:
        self._finish(ctx, "ok")

    async def on_application_command_error(
        self, ctx: discord.ApplicationContext, error: discord.DiscordException
    ) -> None:
        cause = (
            error.original if isinstance(error, discord.ApplicationCommandInvokeError) else error
        )
        command = ctx.command.qualified_name if ctx.command else "?"
        self._finish(ctx, await self.report_failure(ctx.interaction, cause, f"/{command}"))

    async def report_failure(
        self, interaction: discord.Interaction, cause: BaseException, where: str
    ) -> Outcome:
        """Answer the user ephemerally with an error id and log once under that id.

        Used for slash commands, buttons and modals alike; returns the metrics outcome.
        """
        error_id = new_error_id()
        outcome: Outcome
        if isinstance(cause, UserError):
            outcome = "user_error"
            log.info("error %s in %s: %s", error_id, where, cause.message)
            text = f"{clip(cause.message, ERROR_MESSAGE_LIMIT)} (error id {error_id})"
        elif isinstance(cause, discord.CheckFailure):
            outcome = "refused"
            log.info("error %s in %s: check failed: %s", error_id, where, cause)
            text = f"You may not use this command here. (error id {error_id})"
        else:
            outcome = "error"
            self.runtime.metrics.error(type(cause).__name__)
            log.error("error %s in %s", error_id, where, exc_info=cause)
            text = (
                f"Something went wrong on our side (error id {error_id}). "
                "An operator can find the details in the log under that id."
            )
        await reply_ephemeral(interaction, text)
        return outcome

    def _finish(self, ctx: discord.ApplicationContext, outcome: Outcome) -> None:
        started = self._started.pop(ctx.interaction.id, None)
        seconds = time.perf_counter() - started if started is not None else 0.0
        name = ctx.command.qualified_name if ctx.command else "?"
        self.runtime.metrics.command(name, outcome, seconds)
        self.runtime.metrics.set_queue_depth("commands_in_flight", len(self._started))
        if not self._started:
            self._idle.set()

    # ------------------------------------------------------------------ shutdown
    async def close(self) -> None:
        """Let each cog release what it holds (tasks, HTTP sessions), then disconnect."""
        for cog in list(self.cogs.values()):
            release = getattr(cog, "aclose", None)
            if release is not None:
                await release()
        await super().close()

    async def drain(self, grace_seconds: float = 20.0) -> bool:
        """Stop taking commands and wait for running ones; True if all finished in time."""
        self._draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except TimeoutError:
            log.warning(
                "shutdown: %d command(s) still running after %.0fs",
                len(self._started),
                grace_seconds,
            )
            return False
        return True


def create_bot(runtime: Runtime, *, load_cogs: bool = True) -> NetBot:
    """Build the bot: point py-cord at the configured Discord API and load the cogs."""
    discord.http.Route.API_BASE_URL = runtime.secrets.discord_api_base_url
    bot = NetBot(runtime)
    if load_cogs:
        bot.load_configured_cogs()
    return bot
