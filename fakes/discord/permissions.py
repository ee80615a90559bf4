"""Discord's permission bits and intents, and how Discord computes a member's permissions.

The fake answers 403 where real Discord would, so it needs the same arithmetic: the
@everyone role, the member's roles, then the channel's overwrites (a thread uses its parent's),
with Administrator and the guild owner above everything. Names are py-cord's attribute names
(``manage_threads``), so a test can pass ``discord.Permissions`` or plain names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FLAGS: dict[str, int] = {
    "create_instant_invite": 1 << 0,
    "kick_members": 1 << 1,
    "ban_members": 1 << 2,
    "administrator": 1 << 3,
    "manage_channels": 1 << 4,
    "manage_guild": 1 << 5,
    "add_reactions": 1 << 6,
    "view_audit_log": 1 << 7,
    "view_channel": 1 << 10,
    "send_messages": 1 << 11,
    "send_tts_messages": 1 << 12,
    "manage_messages": 1 << 13,
    "embed_links": 1 << 14,
    "attach_files": 1 << 15,
    "read_message_history": 1 << 16,
    "mention_everyone": 1 << 17,
    "external_emojis": 1 << 18,
    "manage_roles": 1 << 28,
    "manage_webhooks": 1 << 29,
    "manage_threads": 1 << 34,
    "create_public_threads": 1 << 35,
    "create_private_threads": 1 << 36,
    "send_messages_in_threads": 1 << 38,
}
ALL = (1 << 53) - 1
EVERYONE = 1071698660929  # Discord's default @everyone permissions in a new server
# What a freshly invited bot gets in the fake (its own role): every permission the features
# use, but not Administrator, so each route's check really applies.
DEFAULT_BOT = [
    "view_channel",
    "send_messages",
    "send_messages_in_threads",
    "create_public_threads",
    "create_private_threads",
    "manage_threads",
    "manage_channels",
    "manage_roles",
    "manage_messages",
    "manage_webhooks",
    "embed_links",
    "attach_files",
    "read_message_history",
    "mention_everyone",
    "add_reactions",
    "external_emojis",
]
# In a DM the bot may do the ordinary things and nothing that manages anything.
DM = sum(
    FLAGS[n]
    for n in (
        "view_channel",
        "send_messages",
        "embed_links",
        "attach_files",
        "read_message_history",
        "add_reactions",
        "external_emojis",
    )
)
# Sending is the gate for these: without it they are implicitly denied too, as on Discord.
_NEED_SEND = ("send_tts_messages", "mention_everyone", "embed_links", "attach_files")

INTENTS: dict[str, int] = {"members": 1 << 1, "presences": 1 << 8, "message_content": 1 << 15}
PRIVILEGED = sum(INTENTS.values())


def bits(permissions: int | Iterable[str] | Any) -> int:
    """An int, a ``discord.Permissions`` (anything with ``.value``) or permission names."""
    if isinstance(permissions, int):
        return permissions
    value = getattr(permissions, "value", None)
    if isinstance(value, int):
        return value
    return sum(FLAGS[name] for name in set(permissions))


def intent_bits(names: Iterable[str]) -> int:
    return sum(INTENTS[name] for name in set(names))


def title(name: str) -> str:
    """``manage_threads`` -> ``Manage Threads``, the way Discord's settings show it."""
    return name.replace("_", " ").title()


def _overwrite(value: int, overwrite: dict[str, Any] | None) -> int:
    if overwrite is None:
        return value
    return (value & ~int(overwrite["deny"])) | int(overwrite["allow"])


def compute(
    base: int,
    role_ids: list[str],
    user_id: str,
    guild_id: str,
    overwrites: list[dict[str, Any]],
    *,
    thread: bool,
) -> int:
    """A member's permissions in one channel from its guild-wide ``base`` (Discord's order:
    @everyone overwrite, then the member's roles' overwrites together, then the member's)."""
    if base & FLAGS["administrator"]:
        return ALL
    by_id = {o["id"]: o for o in overwrites}
    value = _overwrite(base, by_id.get(guild_id))
    allow = deny = 0
    for role_id in role_ids:
        if (overwrite := by_id.get(role_id)) is not None:
            allow, deny = allow | int(overwrite["allow"]), deny | int(overwrite["deny"])
    value = (value & ~deny) | allow
    value = _overwrite(value, by_id.get(user_id))
    if not value & FLAGS["view_channel"]:
        return 0
    if not value & FLAGS["send_messages_in_threads" if thread else "send_messages"]:
        value &= ~sum(FLAGS[n] for n in _NEED_SEND)
    return value
