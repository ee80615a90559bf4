"""Discord-shaped payloads with every field py-cord reads and the spec marks required.

py-cord dies on a missing key deep inside a gateway event, and the OpenAPI description marks
nullable response fields as required, so the builders here fill in the full shape once.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
EPHEMERAL = 64
_counter = itertools.count(1)


def snowflake() -> str:
    """A fresh, time-ordered, unique snowflake (py-cord derives ``created_at`` from it)."""
    now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return str((now_ms << 22) | (next(_counter) & 0x3FFFFF))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def user(user_id: str, username: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "global_name": None,
        "avatar": None,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "bot": bot,
        "primary_guild": None,
    }


def member(user_data: dict[str, Any], role_ids: list[str]) -> dict[str, Any]:
    return {
        "user": user_data,
        "roles": role_ids,
        "nick": None,
        "avatar": None,
        "banner": None,
        "joined_at": now_iso(),
        "premium_since": None,
        "communication_disabled_until": None,
        "flags": 0,
        "pending": False,
        "mute": False,
        "deaf": False,
    }


def role(role_id: str, name: str, position: int, permissions: int) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def guild(guild_id: str, name: str, owner_id: str) -> dict[str, Any]:
    """A guild without its lists; GUILD_CREATE adds channels, roles, members and threads."""
    return {
        "id": guild_id,
        "name": name,
        "owner_id": owner_id,
        "icon": None,
        "splash": None,
        "banner": None,
        "description": None,
        "features": [],
        "emojis": [],
        "stickers": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "preferred_locale": "en-US",
        "premium_progress_bar_enabled": False,
    }


def text_channel(channel_id: str, guild_id: str, name: str, position: int) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": name,
        "position": position,
        "flags": 0,
        "topic": None,
        "nsfw": False,
        "parent_id": None,
        "permission_overwrites": [],
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def thread(
    thread_id: str, parent: dict[str, Any], name: str, owner_id: str, *, private: bool = False
) -> dict[str, Any]:
    """A thread; ``thread_metadata.create_timestamp`` is mandatory for py-cord."""
    return {
        "id": thread_id,
        "type": 12 if private else 11,
        "guild_id": parent["guild_id"],
        "parent_id": parent["id"],
        "name": name,
        "owner_id": owner_id,
        "flags": 0,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": False,
            "archive_timestamp": now_iso(),
            "auto_archive_duration": 1440,
            "locked": False,
            "create_timestamp": now_iso(),
        },
    }


def dm_channel(channel_id: str, recipient: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 1,
        "flags": 0,
        "last_message_id": None,
        "recipients": [recipient],
    }


def with_component_ids(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number components like Discord does in responses (the spec requires ``id``)."""
    counter = itertools.count(1)

    def number(component: dict[str, Any]) -> dict[str, Any]:
        out = {**component, "id": component.get("id") or next(counter)}
        if "default_values" in out:  # py-cord sends the ids as integers; Discord answers strings
            out["default_values"] = [{**v, "id": str(v["id"])} for v in out["default_values"]]
        if "components" in out:
            out["components"] = [number(c) for c in out["components"]]
        if isinstance(out.get("component"), dict):
            out["component"] = number(out["component"])
        return out

    return [number(c) for c in components]


def message(
    message_id: str,
    channel_id: str,
    author: dict[str, Any],
    body: dict[str, Any],
    *,
    webhook_id: str | None = None,
) -> dict[str, Any]:
    """A message built from what the sender posted (content, embeds, components, flags)."""
    data = {
        "id": message_id,
        "channel_id": channel_id,
        "type": 0,
        "author": author,
        "content": body.get("content") or "",
        "embeds": body.get("embeds") or [],
        "components": with_component_ids(body.get("components") or []),
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": bool(body.get("tts")),
        "flags": body.get("flags") or 0,
        "timestamp": now_iso(),
        "edited_timestamp": None,
    }
    if webhook_id is not None:
        data["webhook_id"] = webhook_id
        data["application_id"] = webhook_id
    return data
