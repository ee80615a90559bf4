"""Guild channels in the fake Discord: categories, text and forum channels, overwrites, tags.

What incident spaces need, as strict as Discord: creating a channel needs Manage Channels
(and Manage Roles to set overwrites, which may only grant or deny what the bot itself holds);
a category holds at most 50 channels and a guild 500 (Discord's 400 50035
``CHANNEL_PARENT_MAX_CHANNELS`` and 30013); a channel's name and topic may change at most
twice per 10 minutes (the third edit is answered 429 with ``retry_after``); a forum has at
most 20 tags and a post at most 5, each one of its forum's. Route handlers are plain functions
of the server, listed by :func:`routes` in the server's route table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import payloads
from . import permissions as perms
from . import server as core  # a cycle Python resolves: used at call time only
from .payloads import snowflake

if TYPE_CHECKING:
    from .server import Call, FakeDiscordServer, Result

TEXT, CATEGORY, FORUM = 0, 4, 15
GUILD_CHANNEL_TYPES = (TEXT, CATEGORY, FORUM)
CATEGORY_LIMIT = 50  # channels per category
GUILD_LIMIT = 500  # channels per guild (threads do not count)
RENAMES_PER_WINDOW = 2  # name or topic edits per channel ...
RENAME_WINDOW = 600.0  # ... per 10 minutes
FORUM_TAG_LIMIT = 20
APPLIED_TAG_LIMIT = 5
_ROLE, _MEMBER = 0, 1  # overwrite types


def form_error(field: str, code: str, message: str) -> core.Rejected:
    """Discord's 400 50035 with the error under ``field``."""
    return core.Rejected(
        400,
        50035,
        "Invalid Form Body",
        {field: {"_errors": [{"code": code, "message": message}]}},
    )


def category(channel_id: str, guild_id: str, name: str, position: int) -> dict[str, Any]:
    """A category payload (type 4): no topic, no messages."""
    base = payloads.text_channel(channel_id, guild_id, name, position)
    for key in ("topic", "nsfw", "last_message_id", "rate_limit_per_user"):
        base.pop(key)
    return {**base, "type": CATEGORY}


def forum(channel_id: str, guild_id: str, name: str, position: int) -> dict[str, Any]:
    """A forum channel payload (type 15) with its defaults and no tags."""
    return {
        **payloads.text_channel(channel_id, guild_id, name, position),
        "type": FORUM,
        "available_tags": [],
        "default_reaction_emoji": None,
        "default_sort_order": None,
        "default_forum_layout": 0,
        "default_auto_archive_duration": 1440,
        "default_thread_rate_limit_per_user": 0,
    }


def build(
    server: FakeDiscordServer, guild_id: str, kind: int, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A new guild channel of ``kind`` from a create body (parent, topic, overwrites, tags)."""
    position = sum(1 for c in server.channels.values() if c.get("guild_id") == guild_id)
    channel_id = snowflake()
    if kind == CATEGORY:
        channel = category(channel_id, guild_id, name, position)
    elif kind == FORUM:
        channel = forum(channel_id, guild_id, name, position)
        channel["available_tags"] = tags(body.get("available_tags") or [])
    else:
        channel = payloads.text_channel(channel_id, guild_id, name, position)
    if "topic" in channel:
        channel["topic"] = body.get("topic")
    if body.get("parent_id") is not None:
        channel["parent_id"] = str(body["parent_id"])
    channel["permission_overwrites"] = overwrites(body.get("permission_overwrites") or [])
    return channel


def tags(given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Forum tags as Discord keeps them: every field present, new ones with a fresh id."""
    if len(given) > FORUM_TAG_LIMIT:
        raise form_error(
            "available_tags", "BASE_TYPE_MAX_LENGTH", f"Must be {FORUM_TAG_LIMIT} or fewer."
        )
    return [
        {
            "id": str(tag.get("id") or snowflake()),
            "name": tag["name"],
            "moderated": bool(tag.get("moderated", False)),
            "emoji_id": tag.get("emoji_id"),
            "emoji_name": tag.get("emoji_name"),
        }
        for tag in given
    ]


def overwrites(given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overwrites as Discord answers them: ids and bit sets as strings."""
    return [
        {
            "id": str(o["id"]),
            "type": int(o.get("type", _ROLE)),
            "allow": str(o.get("allow") or 0),
            "deny": str(o.get("deny") or 0),
        }
        for o in given
    ]


def check_grants(server: FakeDiscordServer, guild_id: str, given: list[dict[str, Any]]) -> None:
    """Overwrites need Manage Roles, and may only allow or deny what the bot holds itself
    (Discord's rule, unless the bot is Administrator)."""
    have = server.guild_permissions_of(server.application_id, guild_id)
    server._refuse_lacking(have, ("manage_roles",))
    for o in given:
        if (int(o.get("allow") or 0) | int(o.get("deny") or 0)) & ~have:
            server.denied.append("overwrite beyond the bot's own permissions")
            raise core.missing_permissions()


def check_room(server: FakeDiscordServer, guild_id: str, parent_id: str | None) -> None:
    """Discord's limits: 500 channels per guild, 50 per category."""
    in_guild = [
        c
        for c in server.channels.values()
        if c.get("guild_id") == guild_id and c["type"] in GUILD_CHANNEL_TYPES
    ]
    if len(in_guild) >= GUILD_LIMIT:
        raise core.Rejected(400, 30013, "Maximum number of guild channels reached (500)")
    if parent_id is None:
        return
    parent = server.channels.get(parent_id)
    if parent is None or parent.get("guild_id") != guild_id or parent["type"] != CATEGORY:
        raise form_error("parent_id", "CHANNEL_PARENT_INVALID_TYPE", "Not a category")
    if sum(1 for c in in_guild if c.get("parent_id") == parent_id) >= CATEGORY_LIMIT:
        raise form_error(
            "parent_id",
            "CHANNEL_PARENT_MAX_CHANNELS",
            f"Maximum number of channels in category reached ({CATEGORY_LIMIT})",
        )


def create_channel(server: FakeDiscordServer, call: Call) -> Result:
    """POST /guilds/{id}/channels: needs Manage Channels (guild-wide, or on the category)."""
    guild_id = core.lookup(server.guilds, call.params["guild_id"], "Guild", 10004)["id"]
    body = call.body or {}
    kind = int(body.get("type") or TEXT)
    if kind not in GUILD_CHANNEL_TYPES:
        raise form_error("type", "BASE_TYPE_CHOICES", f"The fake does not create type {kind}")
    parent_id = str(body["parent_id"]) if body.get("parent_id") is not None else None
    have = server.guild_permissions_of(server.application_id, guild_id)
    if parent_id is not None and parent_id in server.channels:
        have = server.permissions_of(server.application_id, parent_id) or have
    server._refuse_lacking(have, ("manage_channels",))
    if body.get("permission_overwrites"):
        check_grants(server, guild_id, body["permission_overwrites"])
    check_room(server, guild_id, parent_id if kind != CATEGORY else None)
    channel = build(server, guild_id, kind, body["name"], body)
    server.channels[channel["id"]] = channel
    server.dispatch("CHANNEL_CREATE", channel)
    return 201, channel


def list_channels(server: FakeDiscordServer, call: Call) -> Result:
    """GET /guilds/{id}/channels: every channel but threads (visible or not, as Discord)."""
    guild_id = core.lookup(server.guilds, call.params["guild_id"], "Guild", 10004)["id"]
    return 200, [
        c
        for c in server.channels.values()
        if c.get("guild_id") == guild_id and c["type"] in GUILD_CHANNEL_TYPES
    ]


class RenameLimit:
    """Name and topic edits per channel within Discord's 10-minute window. ``clock`` is
    replaceable so a test can move time without sleeping."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.edits: dict[str, list[float]] = {}
        self.count = 0  # every accepted rename or topic change, all channels

    def take(self, channel_id: str) -> None:
        """Count one edit, or raise Discord's 429 when two happened in the window."""
        now = self.clock()
        recent = [t for t in self.edits.get(channel_id, []) if now - t < RENAME_WINDOW]
        if len(recent) >= RENAMES_PER_WINDOW:
            rejected = core.Rejected(429, 20028, "You are being rate limited.")
            rejected.body.update(retry_after=round(RENAME_WINDOW - (now - recent[0]), 3))
            rejected.body["global"] = False
            raise rejected
        self.edits[channel_id] = [*recent, now]
        self.count += 1


def check_channel_edit(server: FakeDiscordServer, channel: dict[str, Any], body: Any) -> None:
    """Called by PATCH /channels/{id} before it applies anything: the rename limit, room in
    a new category, overwrites the bot may grant, and tags its forum has."""
    if not isinstance(body, dict):
        return
    guild_id = channel.get("guild_id") or ""
    if "thread_metadata" in channel:
        if "applied_tags" in body:
            check_applied(server, channel["parent_id"], body["applied_tags"])
        return
    changes = [k for k in ("name", "topic") if k in body and body[k] != channel.get(k)]
    if changes:
        server.rename_limit.take(channel["id"])
    parent = body.get("parent_id")
    if parent is not None and str(parent) != channel.get("parent_id"):
        check_room(server, guild_id, str(parent))
    if "permission_overwrites" in body:
        check_grants(server, guild_id, body["permission_overwrites"] or [])
    if "available_tags" in body:
        if channel["type"] != FORUM:
            raise form_error("available_tags", "BASE_TYPE_BAD", "Only forum channels have tags")
        tags(body["available_tags"] or [])


def apply_channel_edit(channel: dict[str, Any], body: dict[str, Any]) -> None:
    """The fields PATCH /channels/{id} sets beyond the server's own ones."""
    if "permission_overwrites" in body:
        channel["permission_overwrites"] = overwrites(body["permission_overwrites"] or [])
    if "available_tags" in body and channel["type"] == FORUM:
        channel["available_tags"] = tags(body["available_tags"] or [])
    if "applied_tags" in body and "thread_metadata" in channel:
        channel["applied_tags"] = [str(t) for t in body["applied_tags"] or []]


def check_applied(server: FakeDiscordServer, forum_id: str, applied: list[Any]) -> None:
    """At most 5 tags on a post, each one of its forum's."""
    forum_channel = server.channels.get(forum_id) or {}
    known = {t["id"] for t in forum_channel.get("available_tags") or []}
    if len(applied or []) > APPLIED_TAG_LIMIT:
        raise form_error(
            "applied_tags", "BASE_TYPE_MAX_LENGTH", f"Must be {APPLIED_TAG_LIMIT} or fewer."
        )
    if unknown := [t for t in applied or [] if str(t) not in known]:
        raise form_error("applied_tags", "TAG_INVALID", f"Unknown tag(s) {unknown}")


def create_forum_post(
    server: FakeDiscordServer, forum_channel: dict[str, Any], call: Call
) -> Result:
    """POST /channels/{forum}/threads: a public thread and its starter message (same id),
    with its tags; needs Send Messages in the forum."""
    body = call.body or {}
    server._require(forum_channel, "send_messages")
    check_applied(server, forum_channel["id"], body.get("applied_tags") or [])
    thread_id = snowflake()
    thread = payloads.thread(thread_id, forum_channel, body["name"], server.application_id)
    thread["applied_tags"] = [str(t) for t in body.get("applied_tags") or []]
    if "auto_archive_duration" in body:
        thread["thread_metadata"]["auto_archive_duration"] = body["auto_archive_duration"]
    server.channels[thread_id] = thread
    server.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
    starter = server._store_message(thread_id, body.get("message") or {}, message_id=thread_id)
    return 201, {
        **thread,
        "member": server._bot_thread_member(thread),
        "message": starter.payload,
    }


def set_overwrite(server: FakeDiscordServer, call: Call) -> Result:
    """PUT /channels/{id}/permissions/{overwrite_id}: Manage Roles, grants the bot holds."""
    channel = server._channel_of(call)
    server._require(channel)
    body = {**(call.body or {}), "id": call.params["overwrite_id"]}
    check_grants(server, channel["guild_id"], [body])
    kept = [o for o in channel["permission_overwrites"] if o["id"] != body["id"]]
    channel["permission_overwrites"] = [*kept, *overwrites([body])]
    server.dispatch("CHANNEL_UPDATE", channel)
    return 204, None


def delete_overwrite(server: FakeDiscordServer, call: Call) -> Result:
    """DELETE /channels/{id}/permissions/{overwrite_id}: Manage Roles."""
    channel = server._channel_of(call)
    server._require(channel)
    server._refuse_lacking(
        server.guild_permissions_of(server.application_id, channel["guild_id"]),
        ("manage_roles",),
    )
    channel["permission_overwrites"] = [
        o for o in channel["permission_overwrites"] if o["id"] != call.params["overwrite_id"]
    ]
    server.dispatch("CHANNEL_UPDATE", channel)
    return 204, None


def can_see(server: FakeDiscordServer, user: Any, channel: Any) -> bool:
    """Whether ``user`` sees ``channel`` (a private incident is invisible to the uninvited)."""
    return bool(server.permissions_of(user, channel) & perms.FLAGS["view_channel"])


def routes(server: FakeDiscordServer) -> list[tuple[str, str, Callable[[Call], Result]]]:
    """This module's REST routes for the server's route table."""
    return [
        ("GET", "/guilds/{guild_id}/channels", lambda c: list_channels(server, c)),
        ("POST", "/guilds/{guild_id}/channels", lambda c: create_channel(server, c)),
        (
            "PUT",
            "/channels/{channel_id}/permissions/{overwrite_id}",
            lambda c: set_overwrite(server, c),
        ),
        (
            "DELETE",
            "/channels/{channel_id}/permissions/{overwrite_id}",
            lambda c: delete_overwrite(server, c),
        ),
    ]
