"""Gateway announcements shared by the people and webhook parts of the fake."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .records import FakeMessage

if TYPE_CHECKING:
    from .server import FakeDiscordServer


def delete_message(server: FakeDiscordServer, message: FakeMessage) -> None:
    """Delete a message as Discord does: gone from REST, MESSAGE_DELETE for a bot."""
    message.deleted = True
    channel = server.channels[message.payload["channel_id"]]
    event = {"id": message.payload["id"], "channel_id": channel["id"]}
    if guild_id := channel.get("guild_id"):
        event["guild_id"] = guild_id
    server.dispatch("MESSAGE_DELETE", event)
    server._notify()
