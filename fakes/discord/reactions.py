"""Reactions in the fake Discord: people react (``MESSAGE_REACTION_ADD/REMOVE`` over the
gateway), the bot reacts and reads reactions over REST.

As on Discord: adding a new reaction needs Add Reactions and Read Message History, joining an
existing one only Read Message History; removing someone else's needs Manage Messages; an
unknown emoji is 400 10014. A message's ``reactions`` list (count, ``me``) follows every
change, and the events carry the member and the message author as Discord sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import server as core  # a cycle Python resolves: used at call time only
from .records import FakeMessage

if TYPE_CHECKING:
    from .server import Call, FakeDiscordServer, Ref, Result


def emoji_payload(emoji: str) -> dict[str, Any]:
    """A unicode emoji, or a custom one written ``name:id`` (as py-cord puts it in paths)."""
    name, _, emoji_id = emoji.partition(":")
    if emoji_id:
        return {"id": emoji_id, "name": name, "animated": False}
    return {"id": None, "name": emoji}


def _summary(server: FakeDiscordServer, message: FakeMessage) -> None:
    """Refresh the message payload's ``reactions`` (omitted when there are none)."""
    summary = [
        {
            "emoji": emoji_payload(emoji),
            "count": len(users),
            "count_details": {"burst": 0, "normal": len(users)},
            "burst_colors": [],
            "me_burst": False,
            "me": server.application_id in users,
        }
        for emoji, users in message.reactors.items()
        if users
    ]
    if summary:
        message.payload["reactions"] = summary
    else:
        message.payload.pop("reactions", None)


def add(server: FakeDiscordServer, message: FakeMessage, user_id: str, emoji: str) -> bool:
    """Record ``user_id``'s reaction and dispatch MESSAGE_REACTION_ADD; False if it was there."""
    users = message.reactors.setdefault(emoji, [])
    if user_id in users:
        return False
    users.append(user_id)
    _summary(server, message)
    server.dispatch("MESSAGE_REACTION_ADD", _event(server, message, user_id, emoji, add=True))
    return True


def remove(server: FakeDiscordServer, message: FakeMessage, user_id: str, emoji: str) -> bool:
    """Take the reaction back and dispatch MESSAGE_REACTION_REMOVE; False if there was none."""
    users = message.reactors.get(emoji, [])
    if user_id not in users:
        return False
    users.remove(user_id)
    _summary(server, message)
    server.dispatch("MESSAGE_REACTION_REMOVE", _event(server, message, user_id, emoji, add=False))
    return True


def _event(
    server: FakeDiscordServer, message: FakeMessage, user_id: str, emoji: str, *, add: bool
) -> dict[str, Any]:
    channel = server.channels.get(message.payload["channel_id"], {})
    event: dict[str, Any] = {
        "user_id": user_id,
        "channel_id": message.payload["channel_id"],
        "message_id": message.payload["id"],
        "emoji": emoji_payload(emoji),
        "burst": False,
        "type": 0,
    }
    if guild_id := channel.get("guild_id"):
        event["guild_id"] = guild_id
        member = server.members[guild_id].get(user_id)
        if add and member is not None:
            event["member"] = member
    if add:
        event["message_author_id"] = message.payload["author"]["id"]
        event["burst_colors"] = []
    return event


def _target(server: FakeDiscordServer, call: Call) -> tuple[dict[str, Any], FakeMessage, str]:
    channel, message = server._channel_message(call)
    emoji = call.params["emoji"]
    if not emoji or (emoji.isascii() and ":" not in emoji):
        raise core.Rejected(400, 10014, "Unknown Emoji")
    return channel, message, emoji


def bot_react(server: FakeDiscordServer, call: Call) -> Result:
    """PUT .../reactions/{emoji}/@me: a new emoji needs Add Reactions."""
    channel, message, emoji = _target(server, call)
    new = not message.reactors.get(emoji)
    server._require(channel, "read_message_history", *(["add_reactions"] if new else []))
    add(server, message, server.application_id, emoji)
    return 204, None


def bot_unreact(server: FakeDiscordServer, call: Call) -> Result:
    """DELETE .../reactions/{emoji}/@me (own) or .../{user_id} (Manage Messages)."""
    channel, message, emoji = _target(server, call)
    user_id = call.params.get("user_id", server.application_id)
    server._require(channel, *(["manage_messages"] if user_id != server.application_id else []))
    remove(server, message, user_id, emoji)
    return 204, None


def list_reactors(server: FakeDiscordServer, call: Call) -> Result:
    """GET .../reactions/{emoji}: the users who reacted, by id, after ``after``."""
    channel, message, emoji = _target(server, call)
    server._require(channel, "read_message_history")
    users = sorted(message.reactors.get(emoji, []), key=int)
    if after := call.query.get("after"):
        users = [u for u in users if int(u) > int(after)]
    limit = int(call.query.get("limit", 25))
    return 200, [server.users[u] for u in users[:limit]]


def routes(server: FakeDiscordServer) -> list[tuple[str, str, Callable[[Call], Result]]]:
    """This module's REST routes for the server's route table."""
    base = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"
    return [
        ("PUT", base + "/@me", lambda c: bot_react(server, c)),
        ("DELETE", base + "/@me", lambda c: bot_unreact(server, c)),
        ("DELETE", base + "/{user_id}", lambda c: bot_unreact(server, c)),
        ("GET", base, lambda c: list_reactors(server, c)),
    ]


def message_of(server: FakeDiscordServer, message: FakeMessage | Ref) -> FakeMessage:
    if isinstance(message, FakeMessage):
        return message
    return server.messages[core.ref_id(message)]
