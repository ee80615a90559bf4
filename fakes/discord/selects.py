"""Interaction data the incident features need: select menus with ``resolved`` data, and
message context-menu commands.

Discord sends a user select's (type 5) chosen users and members, a role select's (6) roles,
a mentionable select's (7) both and a channel select's (8) channels as ``resolved`` beside
the values; a message command (type 2, command type 3) carries ``target_id`` and the target
message in ``resolved.messages``. py-cord builds ``select.values`` and the command's message
argument from exactly these, so the fake sends them complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import FakeMessage

if TYPE_CHECKING:
    from .server import FakeDiscordServer

STRING, USER, ROLE, MENTIONABLE, CHANNEL = 3, 5, 6, 7, 8
MESSAGE_COMMAND = 3


def _member(server: FakeDiscordServer, guild_id: str, user_id: str) -> dict[str, Any] | None:
    member = server.members.get(guild_id, {}).get(user_id)
    if member is None:
        return None
    return {**{k: v for k, v in member.items() if k != "user"}, "permissions": "0"}


def resolved_for(
    server: FakeDiscordServer, component_type: int, guild_id: str | None, values: list[str]
) -> dict[str, Any] | None:
    """The ``resolved`` block for a select of ``component_type`` with ``values`` chosen;
    an id the select cannot offer fails the test (Discord would never send it)."""
    if component_type == STRING:
        return None
    roles = server.roles.get(guild_id or "", {})
    resolved: dict[str, dict[str, Any]] = {}
    for value in values:
        if component_type in (USER, MENTIONABLE) and value in server.users:
            resolved.setdefault("users", {})[value] = server.users[value]
            if guild_id and (member := _member(server, guild_id, value)) is not None:
                resolved.setdefault("members", {})[value] = member
        elif component_type in (ROLE, MENTIONABLE) and value in roles:
            resolved.setdefault("roles", {})[value] = roles[value]
        elif component_type == CHANNEL and value in server.channels:
            channel = server.channels[value]
            resolved.setdefault("channels", {})[value] = {
                k: channel[k] for k in ("id", "name", "type") if k in channel
            } | {"permissions": "0"}
        else:
            raise AssertionError(f"a type {component_type} select cannot offer {value!r}")
    return resolved


def select_data(
    server: FakeDiscordServer, message: FakeMessage, component: dict[str, Any], values: list[str]
) -> dict[str, Any]:
    """The ``data`` of a select interaction, within the component's min/max values."""
    low, high = component.get("min_values", 1), component.get("max_values", 1)
    if not low <= len(values) <= high:
        raise AssertionError(
            f"select {component['custom_id']!r} takes {low}..{high} values, not {len(values)}"
        )
    if component["type"] == STRING:
        offered = {o["value"] for o in component.get("options", [])}
        if unknown := set(values) - offered:
            raise AssertionError(f"select {component['custom_id']!r} offers no {unknown}")
    data: dict[str, Any] = {
        "custom_id": component["custom_id"],
        "component_type": component["type"],
        "values": values,
    }
    guild_id = server.channels.get(message.payload["channel_id"], {}).get("guild_id")
    if (resolved := resolved_for(server, component["type"], guild_id, values)) is not None:
        data["resolved"] = resolved
    return data


def message_command_data(
    server: FakeDiscordServer, name: str, message: FakeMessage, guild_id: str | None
) -> dict[str, Any]:
    """The ``data`` of message command ``name`` (as synced) run on ``message``."""
    candidates = server.commands.get(guild_id, []) + server.commands[None]
    declared = next(
        (c for c in candidates if c["name"] == name and c.get("type") == MESSAGE_COMMAND), None
    )
    if declared is None:
        known = sorted(c["name"] for c in candidates if c.get("type") == MESSAGE_COMMAND)
        raise AssertionError(f"no synced message command {name!r} (synced: {known})")
    data: dict[str, Any] = {
        "id": declared["id"],
        "name": name,
        "type": MESSAGE_COMMAND,
        "target_id": message.payload["id"],
        # Message commands get the content whatever the intents (Discord's exception).
        "resolved": {"messages": {message.payload["id"]: message.payload}},
    }
    if "guild_id" in declared:
        data["guild_id"] = declared["guild_id"]
    return data
