"""The Discord side of the incident domain's `IncidentSpaces` port: channels, forum posts,
who may see them, the headline post, archiving.

Channel mode: a text channel in the first configured incidents category with room; a full
category (Discord: 50 channels) passes to the next, and when all are full an overflow
category ("Incidents 2", ...) is found or created. The cache can lag behind another process,
so Discord's own "category full" answer (400, CHANNEL_PARENT_MAX_CHANNELS) also moves on to
the next category. Forum mode: one post per incident in the forum channel, tagged with its
severity and status (tags created when missing); a private incident gets a private channel
instead (a forum post is a public thread).

Never renamed, topic set once: Discord allows two name or topic edits per channel per 10
minutes, so the live state lives in the headline post (and the forum tags), not the name.
Private: @everyone may not view; the bot, the invited people and roles may. Invitees get
their access as permission overwrites, also in public channels, so they keep it once the
channel is archived.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

import discord

from netbot.chat import Action, Post, PostRef
from netbot.chat.markdown import render
from netbot.core.errors import UserError
from netbot.discord_bot import DiscordTarget, NetBot, requiring
from netbot.incidents import Button, Incident, IncidentsConfig, SpacePlan, SpaceRef

log = logging.getLogger(__name__)
T = TypeVar("T")

CATEGORY_LIMIT = 50
FORUM_TAG_LIMIT = 20
MAX_OVERFLOW = 20  # overflow categories tried before giving up (1,000 channels)
ACTION_PREFIX = "inc"
# The headline's buttons: every one has a slash-command equivalent (the README lists them).
HEADLINE_BUTTONS = (
    Button("Join", "join", "primary"),
    Button("Update status", "status"),
    Button("Change severity", "severity"),
    Button("Close", "close", "danger"),
)
# What the bot needs in every incident channel, whoever else is shut out.
BOT_ACCESS = discord.PermissionOverwrite(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
)
INVITEE_ACCESS = discord.PermissionOverwrite(
    view_channel=True, send_messages=True, read_message_history=True, add_reactions=True
)
MAX_POST_CHARS = 2000


def action_id(incident_id: int, action: str) -> str:
    """A button's custom id: static text carrying the incident and the action, so a press
    is understood by any process, whenever the button was sent."""
    return f"{ACTION_PREFIX}:{incident_id}:{action}"


def parse_action(custom_id: str) -> tuple[int, str] | None:
    """(incident id, action id) of an incident button, else None."""
    prefix, _, rest = custom_id.partition(":")
    incident, _, action = rest.partition(":")
    if prefix != ACTION_PREFIX or not incident.isdigit() or not action:
        return None
    return int(incident), action


def actions(incident_id: int, buttons: Sequence[Button]) -> tuple[Action, ...]:
    return tuple(Action(b.label, action_id(incident_id, b.action_id), b.style) for b in buttons)


def is_category_full(exc: discord.HTTPException) -> bool:
    """Discord's 400 50035 with the error on `parent_id` (py-cord flattens it into the text:
    "In parent_id: Maximum number of channels in category reached (50)")."""
    return exc.status == 400 and exc.code == 50035 and "parent_id" in str(exc.text)


class DiscordSpaces:
    """Incident spaces in the guilds the bot serves (the domain's `IncidentSpaces`)."""

    def __init__(self, bot: NetBot, settings: IncidentsConfig) -> None:
        self.bot, self.settings = bot, settings

    # ------------------------------------------------------------------ lookups
    def _guild(self, incident: Incident) -> discord.Guild:
        guild = self.bot.get_guild(incident.guild_id)
        if guild is None:
            raise UserError(f"netbot is not in the incident's server ({incident.guild_id}).")
        return guild

    async def _space(self, incident: Incident) -> Any:
        """The incident's channel or forum post (fetched when not cached: archived posts)."""
        if incident.space is None:
            raise UserError(f"Incident #{incident.id} has no channel yet.")
        space_id = incident.space.space_id
        found = self._guild(incident).get_channel_or_thread(space_id)
        return found or await self.bot.fetch_channel(space_id)

    def _forum_post(self, space: Any) -> bool:
        return isinstance(space, discord.Thread)

    # ------------------------------------------------------------------ creating
    async def create_space(self, incident: Incident, plan: SpacePlan) -> SpaceRef:
        guild = self._guild(incident)
        if self.settings.space == "forum" and not plan.private:
            return await self._create_post(guild, plan)
        overwrites = self._overwrites(guild, plan.private, plan.users, plan.roles)
        async for category in self._categories(guild):
            try:
                channel = await requiring(
                    "Manage Channels and Manage Roles",
                    "create the incident channel",
                    guild.create_text_channel(
                        plan.name, category=category, topic=plan.topic, overwrites=overwrites
                    ),
                )
            except discord.HTTPException as exc:
                if not is_category_full(exc):
                    raise
                log.info("category %s is full; trying the next", category.id)
                continue
            return SpaceRef(channel.id, channel.name, category.id)
        raise UserError("Every incidents category is full; an admin should add one.")

    async def _categories(self, guild: discord.Guild) -> AsyncIterator[discord.CategoryChannel]:
        """Categories that seem to have room, in order: the configured ones, then the
        overflow ones ("Incidents 2", ...), created when missing. The cache may lag, so the
        caller moves on when Discord says a category is full."""
        for category_id in self.settings.category_ids:
            category = guild.get_channel(category_id)
            if not isinstance(category, discord.CategoryChannel):
                log.warning("incidents.category_ids: no category %s in %s", category_id, guild.id)
            elif len(category.channels) < CATEGORY_LIMIT:
                yield category
        first = 2 if self.settings.category_ids else 1
        for number in range(first, first + MAX_OVERFLOW):
            name = self.settings.overflow_category_name.format(n=number)
            category = discord.utils.get(guild.categories, name=name)
            if category is None:
                category = await requiring(
                    "Manage Channels", "create an incidents category", guild.create_category(name)
                )
            if len(category.channels) < CATEGORY_LIMIT:
                yield category

    def _overwrites(
        self, guild: discord.Guild, private: bool, users: Sequence[int], roles: Sequence[int]
    ) -> dict[Any, discord.PermissionOverwrite]:
        overwrites: dict[Any, discord.PermissionOverwrite] = {guild.me: BOT_ACCESS}
        if private:
            overwrites[guild.default_role] = discord.PermissionOverwrite(view_channel=False)
        for target in self._known(guild, users, roles):
            overwrites[target] = INVITEE_ACCESS
        return overwrites

    def _known(
        self, guild: discord.Guild, users: Sequence[int], roles: Sequence[int]
    ) -> list[discord.Member | discord.Role]:
        """The members and roles the guild has; unknown ids are logged and skipped."""
        found: list[tuple[str, int, discord.Member | discord.Role | None]] = [
            *(("member", u, guild.get_member(u)) for u in users),
            *(("role", r, guild.get_role(r)) for r in roles),
        ]
        for what, missing, _ in (f for f in found if f[2] is None):
            log.warning("incident invite: no %s %s in guild %s; skipped", what, missing, guild.id)
        return [target for _, _, target in found if target is not None]

    async def _create_post(self, guild: discord.Guild, plan: SpacePlan) -> SpaceRef:
        forum = await self._forum(guild)
        tags = await self._tags(forum, (plan.severity, plan.status))
        post = await requiring(
            "Send Messages and Manage Threads",
            "create the incident's forum post",
            forum.create_thread(
                plan.name,
                content=render(plan.topic, MAX_POST_CHARS),
                applied_tags=tags,
                allowed_mentions=discord.AllowedMentions.none(),
            ),
        )
        return SpaceRef(post.id, post.name, forum.id)

    async def _forum(self, guild: discord.Guild) -> discord.ForumChannel:
        forum_id = self.settings.forum_channel_id
        forum = guild.get_channel(forum_id) if forum_id is not None else None
        if not isinstance(forum, discord.ForumChannel):
            raise UserError(f"incidents.forum_channel_id ({forum_id}) is not a forum channel.")
        return forum

    async def _tags(
        self, forum: discord.ForumChannel, names: Sequence[str]
    ) -> list[discord.ForumTag]:
        """The forum's tags called `names`, creating the missing ones in one edit."""
        have = {tag.name.lower(): tag for tag in forum.available_tags}
        missing = [n for n in dict.fromkeys(names) if n.lower() not in have]
        if missing:
            tags = [*forum.available_tags, *(discord.ForumTag(name=n[:20]) for n in missing)]
            edited = await requiring(
                "Manage Channels",
                "add the incident tags to the forum",
                forum.edit(available_tags=tags[-FORUM_TAG_LIMIT:]),
            )
            forum = edited or forum
            have = {tag.name.lower(): tag for tag in forum.available_tags}
        return [have[n.lower()] for n in dict.fromkeys(names) if n.lower() in have]

    # ------------------------------------------------------------------ people
    async def invite(
        self, incident: Incident, users: Sequence[int], roles: Sequence[int] = ()
    ) -> None:
        space = await self._space(incident)
        guild = self._guild(incident)
        for target in self._known(guild, users, roles):
            if self._forum_post(space):
                if isinstance(target, discord.Member):
                    await requiring(
                        "Send Messages in Threads", "add people", space.add_user(target)
                    )
                continue  # a role sees a public forum post through the forum's permissions
            await requiring(
                "Manage Roles",
                "let people into the incident channel",
                space.set_permissions(target, overwrite=INVITEE_ACCESS),
            )

    # ------------------------------------------------------------------ posting
    async def post(self, incident: Incident, post: Post, buttons: Sequence[Button] = ()) -> PostRef:
        space = await self._space(incident)
        shown = dataclasses.replace(post, actions=actions(incident.id, buttons))
        target = DiscordTarget(self.bot, space.id, "the incident channel")
        return await self._keeping_archived(space, target.post(shown))

    async def _keeping_archived(self, space: Any, sending: Awaitable[T]) -> T:
        """Send into `space`; a closed incident's forum post stays archived and locked
        (Discord unarchives a thread that gets a message, so it is archived again)."""
        closed = self._forum_post(space) and space.archived
        sent = await sending
        if closed:
            await requiring(
                "Manage Threads",
                "archive the incident's post again",
                space.edit(archived=True, locked=space.locked),
            )
        return sent

    async def attach(
        self, incident: Incident, post: Post, filename: str, content: bytes
    ) -> PostRef:
        space = await self._space(incident)
        sent = await self._keeping_archived(
            space,
            requiring(
                "Send Messages and Attach Files",
                "post a file in the incident channel",
                space.send(
                    content=render(post.body, MAX_POST_CHARS) or None,
                    file=discord.File(io.BytesIO(content), filename=filename),
                    allowed_mentions=discord.AllowedMentions.none(),
                ),
            ),
        )
        return PostRef("discord", str(space.id), str(sent.id))

    async def show_headline(
        self, incident: Incident, headline: Post, ref: PostRef | None
    ) -> PostRef:
        channel_id = self.settings.headline_channel_id
        if channel_id is None:  # the cog does not load without one
            raise UserError("incidents.headline_channel_id is not set.")
        shown = dataclasses.replace(headline, actions=actions(incident.id, HEADLINE_BUTTONS))
        target = DiscordTarget(self.bot, channel_id, "the incidents channel")
        if ref is not None:
            try:
                await target.edit(ref, shown)
                return ref
            except discord.NotFound:
                log.info("incident %s: its headline was deleted; posting it again", incident.id)
        return await target.post(shown)

    async def show_state(self, incident: Incident) -> None:
        space = await self._space(incident)
        if not self._forum_post(space):
            return  # never rename, never edit the topic again: the headline shows the state
        forum = await self._forum(self._guild(incident))
        status = self.settings.statuses.of(incident.status)
        tags = await self._tags(forum, (incident.severity, status))
        await requiring("Manage Threads", "tag the incident's post", space.edit(applied_tags=tags))

    # ------------------------------------------------------------------ closing
    async def archive(self, incident: Incident) -> None:
        await self._close(incident, closed=True)

    async def unarchive(self, incident: Incident) -> None:
        await self._close(incident, closed=False)

    async def _close(self, incident: Incident, *, closed: bool) -> None:
        """Closed: a forum post archived and locked; a channel moved to the archive category
        (or left where it is without one) with nobody but the bot sending. Reopened: the
        reverse, the channel back in an incidents category with room."""
        space = await self._space(incident)
        what = "archive" if closed else "reopen"
        if self._forum_post(space):
            await requiring(
                "Manage Threads",
                f"{what} the incident's post",
                space.edit(archived=closed, locked=closed),
            )
            return
        category_id = self.settings.archive_category_id if closed else None
        if not closed:
            async for category in self._categories(self._guild(incident)):
                category_id = category.id
                break
        await requiring(
            "Manage Channels and Manage Roles",
            f"{what} the incident channel",
            space.edit(**self._moved(space, category_id, locked=closed)),
        )

    def _moved(
        self, channel: discord.TextChannel, category_id: int | None, *, locked: bool
    ) -> dict[str, Any]:
        """One edit: into `category_id` (kept where it is when None), with everyone but the
        bot denied sending (locked) or allowed again."""
        overwrites: dict[Any, discord.PermissionOverwrite] = {}
        targets = dict(channel.overwrites)
        targets.setdefault(channel.guild.default_role, discord.PermissionOverwrite())
        for target, overwrite in targets.items():
            if target == channel.guild.me:
                overwrites[target] = overwrite
                continue
            allow, deny = overwrite.pair()
            allow.send_messages = False
            deny.send_messages = locked
            overwrites[target] = discord.PermissionOverwrite.from_pair(allow, deny)
            if not locked and target != channel.guild.default_role:
                overwrites[target].update(send_messages=True)
        changes: dict[str, Any] = {"overwrites": overwrites}
        if category_id is not None and category_id != channel.category_id:
            changes["category"] = discord.Object(category_id)
        return changes
