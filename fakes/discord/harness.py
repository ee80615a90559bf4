"""The API tests use: set up a fake world, push interactions in, inspect what the bot sent.

Errbot-style: ``await fake.slash(...)`` / ``click`` / ``submit_modal`` push an interaction to the
real py-cord bot over the gateway and return an :class:`InteractionRecord`; every wait is an
event-driven wait with a timeout that fails with a clear message (no sleep polling).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import discord

from . import guild_channels, payloads, reactions, selects
from . import permissions as perms
from .interaction_files import InteractionFilesMixin
from .payloads import snowflake
from .people import PeopleMixin
from .ratelimits import RateLimitMixin
from .records import FakeMessage, InteractionRecord, walk_components
from .server import (
    DEFAULT_PRIVILEGED_INTENTS,
    DEFAULT_TIMEOUT,
    FakeDiscordServer,
    Ref,
    ref_id,
)
from .webhooks import WebhooksMixin

BotT = TypeVar("BotT", bound=discord.Client)
BOT_ROLE_POSITION = 250  # above every role a test adds, as an integration role usually is
_SUBCOMMAND, _GROUP = 1, 2


class FakeDiscord(
    InteractionFilesMixin, WebhooksMixin, PeopleMixin, RateLimitMixin, FakeDiscordServer
):
    """A fake Discord with one guild (``guild``), one text channel (``channel``) and one
    member (``user``) ready-made, so most tests need no setup at all.

    The bot joins each guild with its own role holding ``bot_permissions`` (names, an int or
    ``discord.Permissions``; default :data:`~.permissions.DEFAULT_BOT`, no Administrator) on
    top of @everyone; ``privileged_intents`` are the ones switched on for the application;
    ``token``, if given, is the only bot token accepted (REST 401 and gateway 4004 otherwise).
    """

    def __init__(
        self,
        *,
        bot_name: str = "netbot",
        default_timeout: float = DEFAULT_TIMEOUT,
        bot_permissions: int | Iterable[str] | discord.Permissions = tuple(perms.DEFAULT_BOT),
        privileged_intents: tuple[str, ...] = DEFAULT_PRIVILEGED_INTENTS,
        token: str | None = None,
    ):
        super().__init__(
            bot_name=bot_name,
            default_timeout=default_timeout,
            privileged_intents=privileged_intents,
            token=token,
        )
        self._bot_task: asyncio.Task[None] | None = None
        self.bot_permissions = perms.bits(bot_permissions)
        # The server belongs to a person, not to the bot (an owner may do anything).
        self.owner = self.add_user("server-owner")
        self.guild = self.add_guild("netbot-test")
        self.channel = self.add_channel(self.guild, "general")
        self.user = self.add_member(self.guild, self.add_user("alice"))

    # -- world setup (before or after the bot connected) ------------------------------------

    def add_guild(self, name: str = "guild") -> dict[str, Any]:
        """A guild owned by ``owner`` with an @everyone role (Discord's defaults), and the bot
        as a member with its own role (``bot_permissions``)."""
        guild_id = snowflake()
        guild = payloads.guild(guild_id, name, owner_id=self.owner["id"])
        self.guilds[guild_id] = guild
        self.roles[guild_id] = {guild_id: payloads.role(guild_id, "@everyone", 0, perms.EVERYONE)}
        self.members[guild_id] = {}
        bot_role = payloads.role(snowflake(), self.bot_user["username"], BOT_ROLE_POSITION, 0)
        bot_role.update(managed=True, permissions=str(self.bot_permissions))
        self.roles[guild_id][bot_role["id"]] = bot_role
        self.add_member(guild, self.bot_user, roles=[bot_role])
        if self._identified:
            self.dispatch("GUILD_CREATE", self.guild_create(guild_id))
        return guild

    def bot_role(self, guild: Ref | None = None) -> dict[str, Any]:
        """The bot's own role in ``guild`` (default: the ready-made one)."""
        guild_id = ref_id(guild if guild is not None else self.guild)
        return next(r for r in self.roles[guild_id].values() if r["managed"])

    def set_role_permissions(
        self, role: Ref, permissions: int | Iterable[str] | discord.Permissions
    ) -> None:
        """Change a role's permissions, announced with GUILD_ROLE_UPDATE once connected."""
        role_id = ref_id(role)
        guild_id = next(g for g, roles in self.roles.items() if role_id in roles)
        self.roles[guild_id][role_id]["permissions"] = str(perms.bits(permissions))
        if self._identified:
            self.dispatch(
                "GUILD_ROLE_UPDATE", {"guild_id": guild_id, "role": self.roles[guild_id][role_id]}
            )

    def deny_bot(self, *names: str, guild: Ref | None = None) -> None:
        """Take permissions from the bot in a guild: from its role and from @everyone
        (Discord's default @everyone grants sending, embeds, files and threads)."""
        guild_id = ref_id(guild if guild is not None else self.guild)
        denied = perms.bits(names)
        for role in (self.bot_role(guild_id), self.roles[guild_id][guild_id]):
            self.set_role_permissions(role, int(role["permissions"]) & ~denied)

    def archive_thread(self, thread: Ref, *, locked: bool = False) -> None:
        """Discord auto-archived a thread (py-cord drops it from its cache)."""
        channel = self.channels[ref_id(thread)]
        channel["thread_metadata"]["locked"] = locked
        self.set_archived(channel, True)

    def add_role(self, guild: Ref, name: str, *, permissions: int = 0) -> dict[str, Any]:
        guild_id = ref_id(guild)
        role = payloads.role(snowflake(), name, len(self.roles[guild_id]), permissions)
        self.roles[guild_id][role["id"]] = role
        if self._identified:
            self.dispatch("GUILD_ROLE_CREATE", {"guild_id": guild_id, "role": role})
        return role

    def add_channel(self, guild: Ref, name: str, *, topic: str | None = None) -> dict[str, Any]:
        guild_id = ref_id(guild)
        position = sum(1 for c in self.channels.values() if c.get("guild_id") == guild_id)
        channel = payloads.text_channel(snowflake(), guild_id, name, position)
        channel["topic"] = topic
        self.channels[channel["id"]] = channel
        if self._identified:
            self.dispatch("CHANNEL_CREATE", channel)
        return channel

    def add_category(self, guild: Ref, name: str) -> dict[str, Any]:
        """A category (type 4) that channels may be placed in (at most 50)."""
        return self._add_guild_channel(guild, guild_channels.CATEGORY, name, {})

    def add_forum(
        self, guild: Ref, name: str, *, tags: Sequence[str] = (), parent: Ref | None = None
    ) -> dict[str, Any]:
        """A forum channel (type 15) with ``tags`` as its available tags."""
        body = {
            "available_tags": [{"name": t} for t in tags],
            "parent_id": ref_id(parent) if parent is not None else None,
        }
        return self._add_guild_channel(guild, guild_channels.FORUM, name, body)

    def _add_guild_channel(
        self, guild: Ref, kind: int, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        channel = guild_channels.build(self, ref_id(guild), kind, name, body)
        self.channels[channel["id"]] = channel
        if self._identified:
            self.dispatch("CHANNEL_CREATE", channel)
        return channel

    def can_see(self, user: Ref, channel: Ref) -> bool:
        """Whether ``user`` has View Channel in ``channel`` (a private space hides itself)."""
        return guild_channels.can_see(self, user, channel)

    async def react(self, message: FakeMessage | Ref, user: Ref, emoji: str) -> None:
        """``user`` reacts with ``emoji`` (MESSAGE_REACTION_ADD reaches the bot)."""
        await self.wait_until(lambda: self._identified, "the bot to connect to the gateway")
        reactions.add(self, reactions.message_of(self, message), ref_id(user), emoji)

    async def unreact(self, message: FakeMessage | Ref, user: Ref, emoji: str) -> None:
        """``user`` takes the reaction back (MESSAGE_REACTION_REMOVE reaches the bot)."""
        await self.wait_until(lambda: self._identified, "the bot to connect to the gateway")
        reactions.remove(self, reactions.message_of(self, message), ref_id(user), emoji)

    async def message_command(
        self, name: str, message: FakeMessage | Ref, *, user: Ref | None = None
    ) -> InteractionRecord:
        """Run the message context-menu command ``name`` ("Apps > name") on ``message``."""
        target = reactions.message_of(self, message)
        channel_id = target.payload["channel_id"]
        guild_id = self.channels[channel_id].get("guild_id")
        data = selects.message_command_data(self, name, target, guild_id)
        return await self._push(2, data, user=user, channel=channel_id)

    def add_thread(self, parent: Ref, name: str, *, owner: Ref | None = None) -> dict[str, Any]:
        """An existing thread (sent in GUILD_CREATE, or as THREAD_CREATE once connected)."""
        owner_id = ref_id(owner) if owner is not None else self.application_id
        thread = payloads.thread(snowflake(), self.channels[ref_id(parent)], name, owner_id)
        self.channels[thread["id"]] = thread
        if self._identified:
            self.dispatch("THREAD_CREATE", thread)
        return thread

    def add_user(self, username: str, *, bot: bool = False) -> dict[str, Any]:
        user = payloads.user(snowflake(), username, bot=bot)
        self.users[user["id"]] = user
        return user

    def add_member(self, guild: Ref, user: Ref, *, roles: Sequence[Ref] = ()) -> dict[str, Any]:
        """Make a user a guild member; returns the user payload for convenience."""
        guild_id, user = ref_id(guild), self.users[ref_id(user)]
        member = payloads.member(user, [ref_id(r) for r in roles])
        self.members[guild_id][user["id"]] = member
        if self._identified:
            self.dispatch("GUILD_MEMBER_ADD", {**member, "guild_id": guild_id})
        return user

    # -- pushing interactions ---------------------------------------------------------------

    async def slash(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        user: Ref | None = None,
        guild: Ref | None = None,
        channel: Ref | None = None,
    ) -> InteractionRecord:
        """Invoke a synced slash command, e.g. ``"ticket list"`` (subcommand groups work).

        Option values are converted to the types the bot declared; users, channels and roles
        may be given as payload dicts, py-cord objects or ids and are sent as ``resolved`` data.
        """
        channel_id = self._channel(channel, guild)
        data = self._command_data(command, options or {}, None, channel_id)
        return await self._push(2, data, user=user, channel=channel_id)

    async def autocomplete(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str,
        user: Ref | None = None,
        guild: Ref | None = None,
        channel: Ref | None = None,
        within: float | None = None,
    ) -> list[dict[str, Any]]:
        """Ask the bot for autocomplete choices of option ``focused``; returns name/value dicts."""
        options = {focused: "", **(options or {})}
        channel_id = self._channel(channel, guild)
        data = self._command_data(command, options, focused, channel_id)
        record = await self._push(4, data, user=user, channel=channel_id)
        return await record.choices(within)

    async def click(
        self,
        message: FakeMessage | Ref,
        custom_id: str,
        *,
        user: Ref | None = None,
        values: list[str] | None = None,
    ) -> InteractionRecord:
        """Press a button (or, with ``values``, choose in a select menu) on a bot message."""
        if not isinstance(message, FakeMessage):
            message = self.messages[ref_id(message)]
        component = message.component(custom_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data = selects.select_data(self, message, component, values)
        return await self._push(3, data, user=user, channel=message.channel_id, message=message)

    async def select(
        self,
        message: FakeMessage | Ref,
        custom_id: str,
        values: list[str],
        *,
        user: Ref | None = None,
    ) -> InteractionRecord:
        return await self.click(message, custom_id, user=user, values=values)

    async def submit_modal(
        self,
        source: InteractionRecord | str,
        values: dict[str, str],
        *,
        user: Ref | None = None,
    ) -> InteractionRecord:
        """Submit a modal the bot opened, by the record that opened it or by its custom_id.

        Fields not in ``values`` are submitted empty; unknown field ids fail the test.
        """
        opener = source if isinstance(source, InteractionRecord) else self._modal_opener(source)
        await opener.response()  # the bot may still be opening it
        modal = opener.modal
        if modal is None:
            raise AssertionError(f"{opener.describe()} opened no modal: {opener.callbacks}")
        fields = {
            c["custom_id"] for c in walk_components(modal["components"]) if c.get("type") == 4
        }
        if unknown := set(values) - fields:
            raise AssertionError(
                f"modal {modal['custom_id']!r} has no fields {unknown}; it has {fields}"
            )

        def answer(component: dict[str, Any]) -> dict[str, Any]:
            if component["type"] == 4:
                return {
                    "type": 4,
                    "custom_id": component["custom_id"],
                    "value": values.get(component["custom_id"], ""),
                }
            out = {"type": component["type"], "id": component.get("id", 0)}
            if "components" in component:
                out["components"] = [answer(c) for c in component["components"]]
            if "component" in component:
                out["component"] = answer(component["component"])
            return out

        data = {
            "custom_id": modal["custom_id"],
            "components": [answer(c) for c in modal["components"]],
        }
        opener_user = (opener.payload.get("member") or opener.payload)["user"]
        channel_id = opener.payload["channel_id"]
        return await self._push(5, data, user=user or opener_user, channel=channel_id)

    # -- one line per step (errbot's testbot style): what the user sees -------------------

    async def command(
        self,
        command: str,
        /,
        *,
        by: Ref | None = None,
        where: Ref | None = None,
        within: float | None = None,
        **options: Any,
    ) -> FakeMessage:
        """Send a slash command as ``by`` in channel ``where`` and return the reply the user
        sees: ``reply = await fake.command("ticket show", ticket=12, by=alice)``."""
        record = await self.slash(command, options, user=by, channel=where)
        return await record.message(within)

    async def press(
        self,
        message: FakeMessage,
        label: str,
        *,
        by: Ref | None = None,
        within: float | None = None,
    ) -> FakeMessage:
        """Press the button labelled ``label`` and return what the user sees next: the reply,
        or the pressed message once the bot has updated it (also after a deferred update)."""
        edits = len(message.bodies)
        record = await self.click(message, message.button(label), user=by)
        if (await record.response(within))["type"] != 6:
            return await record.message(within)
        await self.wait_until(
            lambda: len(message.bodies) > edits or bool(record.followups),
            f"the answer to pressing {label!r}",
            within,
        )
        return record.followups[-1] if record.followups else message

    def _modal_opener(self, custom_id: str) -> InteractionRecord:
        for record in reversed(self.interactions.values()):
            if record.modal is not None and record.modal["custom_id"] == custom_id:
                return record
        raise AssertionError(f"the bot opened no modal with custom_id {custom_id!r}")

    def _channel(self, channel: Ref | None, guild: Ref | None) -> str:
        if channel is not None:
            return ref_id(channel)
        if guild is not None:
            guild_id = ref_id(guild)
            return next(
                c["id"]
                for c in self.channels.values()
                if c.get("guild_id") == guild_id and c["type"] == 0
            )
        return self.channel["id"]

    def _command_data(
        self, command: str, options: dict[str, Any], focused: str | None, channel_id: str
    ) -> dict[str, Any]:
        name, *path = command.split()
        guild_id = self.channels[channel_id].get("guild_id")
        candidates = (
            self.commands.get(guild_id, []) + self.commands[None]
            if guild_id
            else self.commands[None]
        )
        declared = next(
            (c for c in candidates if c["name"] == name and c.get("type", 1) == 1), None
        )
        if declared is None:
            known = sorted(c["name"] for c in candidates)
            raise AssertionError(
                f"no synced slash command {name!r} (synced: {known}); did run_bot sync?"
            )
        data: dict[str, Any] = {"id": declared["id"], "name": name, "type": 1}
        if "guild_id" in declared:
            data["guild_id"] = declared["guild_id"]
        resolved: dict[str, dict[str, Any]] = {}
        container: dict[str, Any] = data
        level: dict[str, Any] = declared
        for part in path:
            found = next(
                (
                    o
                    for o in level.get("options", [])
                    if o["name"] == part and o["type"] in (_SUBCOMMAND, _GROUP)
                ),
                None,
            )
            if found is None:
                raise AssertionError(f"{command!r}: no subcommand {part!r}")
            level = found
            nested = {"type": level["type"], "name": part, "options": []}
            container["options"] = [nested]
            container = nested
        by_name = {
            o["name"]: o for o in level.get("options", []) if o["type"] not in (_SUBCOMMAND, _GROUP)
        }
        if unknown := set(options) - set(by_name):
            raise AssertionError(f"{command!r} has no options {unknown}; it has {sorted(by_name)}")
        container["options"] = [
            self._option(by_name[key], value, resolved, focused == key)
            for key, value in options.items()
        ]
        if resolved:
            data["resolved"] = resolved
        return data

    def _option(
        self,
        declared: dict[str, Any],
        value: Any,
        resolved: dict[str, dict[str, Any]],
        focused: bool,
    ) -> dict[str, Any]:
        """One option with the value typed as Discord sends it for the declared type."""
        kind = declared["type"]
        option: dict[str, Any] = {"name": declared["name"], "type": kind}
        if focused:  # autocomplete sends what the user typed so far, as a string
            return {**option, "value": str(value), "focused": True}
        converters: dict[int, Callable[[Any], Any]] = {3: str, 4: int, 5: bool, 10: float}
        if kind in converters:
            return {**option, "value": converters[kind](value)}
        target = ref_id(value)
        if target in self.users:
            resolved.setdefault("users", {})[target] = self.users[target]
            for guild_members in self.members.values():
                if target in guild_members:
                    member = {k: v for k, v in guild_members[target].items() if k != "user"}
                    resolved.setdefault("members", {})[target] = {**member, "permissions": "0"}
        elif target in self.channels:
            channel = self.channels[target]
            resolved.setdefault("channels", {})[target] = {
                **channel,
                "permissions": str(self.permissions_of(self.user, channel)),
            }
        else:
            role = next((r[target] for r in self.roles.values() if target in r), None)
            if role is None:
                raise AssertionError(
                    f"option {declared['name']!r}: unknown user/channel/role {value!r}"
                )
            resolved.setdefault("roles", {})[target] = role
        return {**option, "value": target}

    async def _push(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: Ref | None,
        channel: Ref,
        message: FakeMessage | None = None,
    ) -> InteractionRecord:
        """Send INTERACTION_CREATE with a complete payload and start recording the answers."""
        await self.wait_until(lambda: self._identified, "the bot to connect to the gateway")
        user_id, channel = (
            ref_id(user) if user is not None else self.user["id"],
            self.channels[ref_id(channel)],
        )
        interaction_id, token = snowflake(), f"token-{snowflake()}"
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": self.application_id,
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": channel["id"],
            # Both computed as Discord does: what the user and what the bot may do here.
            "channel": {**channel, "permissions": str(self.permissions_of(user_id, channel))},
            "app_permissions": str(self.permissions_of(self.application_id, channel)),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 26214400,
        }
        if guild_id := channel.get("guild_id"):
            member = self.members[guild_id].get(user_id)
            if member is None:
                raise AssertionError(f"user {user_id} is not a member of guild {guild_id}")
            permissions = self.permissions_of(user_id, channel)
            payload.update(
                guild_id=guild_id,
                guild={"id": guild_id, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member={**member, "permissions": str(permissions)},
                authorizing_integration_owners={"0": guild_id},
                context=0,
            )
        else:
            payload.update(
                user=self.users[user_id], authorizing_integration_owners={"1": user_id}, context=1
            )
        if message is not None:
            payload["message"] = message.payload
        record = InteractionRecord(interaction_id, token, payload, self.wait_until)
        self.interactions[token] = record
        self.dispatch("INTERACTION_CREATE", payload)
        return record

    # -- user messages and inspection -------------------------------------------------------

    async def send_user_message(self, channel: Ref, user: Ref, content: str) -> FakeMessage:
        """A user posts in a channel: the bot gets MESSAGE_CREATE (it sees ``content`` only
        with the message_content intent, in a DM or when the message mentions it, as on
        Discord), once it is connected; see ``user_message`` for the REST side."""
        await self.wait_until(lambda: self._identified, "the bot to connect to the gateway")
        return self.user_message(channel, user, content)

    async def wait_for_message(
        self,
        channel: Ref,
        predicate: Callable[[FakeMessage], bool] = lambda m: True,
        *,
        within: float | None = None,
    ) -> FakeMessage:
        """Wait until the bot has a message in ``channel`` matching ``predicate`` (existing
        messages count, so there is no race with a reply sent before the call)."""

        def find() -> FakeMessage | None:
            return next(
                (
                    m
                    for m in self.messages_in(channel)
                    if m.payload["author"]["id"] == self.application_id and predicate(m)
                ),
                None,
            )

        await self.wait_until(
            lambda: find() is not None, f"a bot message in channel {ref_id(channel)}", within
        )
        return find()  # type: ignore[return-value]

    def requests_to(self, method: str, path_prefix: str) -> list[Any]:
        """Logged REST calls with this method whose path starts with ``path_prefix``."""
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- bot supervision --------------------------------------------------------------------

    def _wait_interrupted(self) -> bool:
        return super()._wait_interrupted() or (self._bot_task is not None and self._bot_task.done())

    def _check_interrupted(self) -> None:
        task = self._bot_task
        if task is None or not task.done():
            return
        if task.cancelled() or task.exception() is None:
            raise AssertionError("the bot stopped while the test was waiting for it")
        raise AssertionError(f"the bot crashed: {task.exception()!r}") from task.exception()


@contextlib.asynccontextmanager
async def run_bot(
    bot: BotT,
    fake: FakeDiscord,
    *,
    token: str = "fake-token",
    within: float | None = None,
    fail_on_command_error: bool = True,
) -> AsyncIterator[BotT]:
    """Run ``bot`` against ``fake`` until it is ready and its commands are synced.

    With ``fail_on_command_error`` an exception in a command is recorded as a failure, so
    the test fails at once with the bot's real exception instead of timing out. Set it to
    False to test the bot's own error handling.
    """
    old_base = discord.http.Route.API_BASE_URL
    discord.http.Route.API_BASE_URL = fake.api_base_url
    bot._connection.guild_ready_timeout = min(bot._connection.guild_ready_timeout, 0.05)
    synced = asyncio.Event()
    original_sync: Any = getattr(bot, "sync_commands", None)

    async def sync_and_signal(*args: Any, **kwargs: Any) -> Any:
        try:
            return await original_sync(*args, **kwargs)
        except Exception as exc:  # else the test fails later, as "no synced slash command"
            fake.fail(f"syncing the commands raised {exc!r}")
            raise
        finally:
            synced.set()
            fake._notify()

    async def on_ready() -> None:
        fake._notify()

    async def on_command_error(ctx: discord.ApplicationContext, exc: Exception) -> None:
        name = ctx.command.qualified_name if ctx.command else "?"
        fake.fail(f"command {name!r} raised {exc!r}")

    needs_sync = bool(getattr(bot, "auto_sync_commands", False))
    if needs_sync:
        cast(Any, bot).sync_commands = sync_and_signal
    bot.add_listener(on_ready, "on_ready")
    if fail_on_command_error:
        bot.add_listener(on_command_error, "on_application_command_error")
    task = asyncio.create_task(bot.start(token), name="fake-discord-bot")
    task.add_done_callback(lambda _: fake._notify())
    fake._bot_task = task
    try:
        await fake.wait_until(
            lambda: bot.is_ready() and (synced.is_set() or not needs_sync),
            "the bot to become ready and sync its commands",
            within,
        )
        yield bot
    finally:
        fake._bot_task = None
        bot.__dict__.pop("sync_commands", None)
        bot.remove_listener(on_ready, "on_ready")
        bot.remove_listener(on_command_error, "on_application_command_error")
        await bot.close()
        try:
            await task
        except RuntimeError as exc:  # close() drops the HTTP session before a reconnect notices
            if "Session is closed" not in str(exc):
                raise
        finally:
            discord.http.Route.API_BASE_URL = old_base
