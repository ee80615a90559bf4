"""People writing in Discord: the test API that posts, edits and deletes their messages.

Everything lands as REST state (what ``GET /channels/{id}/messages`` and the active-threads
listing return) and is announced as MESSAGE_CREATE/UPDATE/DELETE for a connected bot, so
one world serves both a gateway bot and a REST-only reader such as the threader::

    msg = fake.user_message(thread, alice, f"hi <@{bob['id']}> {fake.emoji('party')}",
                            attachments=[("log.txt", b"...", "text/plain")])
    fake.user_edit(msg, "hi again")
    fake.user_delete(msg)

A person's message pings what it mentions (people have no ``allowed_mentions``): ``mentions``
lists the mentioned users, ``mention_roles`` the guild's roles, ``mention_everyone`` is set
when the author may mention everyone. Like Discord, a thread's ``last_message_id`` moves on a
new message only; edits and deletes leave it (and the listing) unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from . import events, payloads
from . import permissions as perms
from .cdn import CdnMixin, Upload
from .payloads import snowflake
from .records import FakeMessage
from .server import THREAD_TYPES, Ref, ref_id

MAX_CONTENT = 2000
# (filename, bytes) or (filename, bytes, content type)
FileSpec = tuple[str, bytes] | tuple[str, bytes, str]


class PeopleMixin(CdnMixin):
    """``user_message`` / ``user_edit`` / ``user_delete`` and custom emoji."""

    def emoji(self, name: str, *, guild: Ref | None = None, animated: bool = False) -> str:
        """Add a custom emoji to the guild (default: the first one) and return its markup,
        ``<:name:id>`` (``<a:name:id>`` when animated), to put in a message."""
        guild_id = ref_id(guild) if guild is not None else next(iter(self.guilds))
        emoji = {
            "id": snowflake(),
            "name": name,
            "roles": [],
            "require_colons": True,
            "managed": False,
            "animated": animated,
            "available": True,
        }
        self.guilds[guild_id]["emojis"].append(emoji)
        return f"<{'a' if animated else ''}:{name}:{emoji['id']}>"

    def user_message(
        self,
        where: Ref,
        user: Ref,
        content: str = "",
        *,
        attachments: Sequence[FileSpec] = (),
    ) -> FakeMessage:
        """``user`` posts in a channel or thread (an archived thread is unarchived, as when a
        person writes in it; a locked one refuses, as the client does)."""
        channel, author = self.channels[ref_id(where)], self.users[ref_id(user)]
        self._may_post(channel, author["id"], content)
        uploads = tuple(
            Upload(f"files[{n}]", spec[0], spec[1], spec[2] if len(spec) > 2 else "")
            for n, spec in enumerate(attachments)
        )
        payload = payloads.message(snowflake(), channel["id"], author, {"content": content})
        payload["attachments"] = self.attachments_from(channel["id"], {}, uploads)
        payload.update(self._people_mentions(channel, author["id"], content))
        message = FakeMessage(payload)
        if channel["type"] in THREAD_TYPES and channel["thread_metadata"]["archived"]:
            self.set_archived(channel, False)
        self.record_message(message)
        self.dispatch("MESSAGE_CREATE", self._gateway_message(payload))
        self._notify()
        return message

    def user_edit(self, message: FakeMessage | Ref, content: str) -> FakeMessage:
        """The author edits a message: new content and mentions, ``edited_timestamp`` set."""
        message = self._persons_message(message)
        channel = self.channels[message.payload["channel_id"]]
        author_id = message.payload["author"]["id"]
        if len(content) > MAX_CONTENT:
            raise AssertionError(f"Discord refuses messages over {MAX_CONTENT} characters")
        message.payload["content"] = content
        message.payload["edited_timestamp"] = payloads.now_iso()
        message.payload.update(self._people_mentions(channel, author_id, content))
        self.dispatch("MESSAGE_UPDATE", self._gateway_message(message.payload))
        self._notify()
        return message

    def user_delete(self, message: FakeMessage | Ref) -> None:
        """The author deletes a message (gone from REST; MESSAGE_DELETE for a bot)."""
        events.delete_message(self, self._persons_message(message))

    def _persons_message(self, message: FakeMessage | Ref) -> FakeMessage:
        found = self.messages[
            message.payload["id"] if isinstance(message, FakeMessage) else ref_id(message)
        ]
        if found.deleted:
            raise AssertionError(f"message {found.id} is already deleted")
        if found.payload["author"].get("bot") or "webhook_id" in found.payload:
            raise AssertionError(f"message {found.id} was not written by a person")
        return found

    def _may_post(self, channel: dict[str, Any], user_id: str, content: str) -> None:
        """A person can post only where the client lets them (a test that makes them post
        elsewhere is wrong, so it fails loudly)."""
        if len(content) > MAX_CONTENT:
            raise AssertionError(f"Discord refuses messages over {MAX_CONTENT} characters")
        if channel.get("guild_id") is None:
            return
        if user_id not in self.members[channel["guild_id"]]:
            raise AssertionError(f"user {user_id} is not a member of guild {channel['guild_id']}")
        thread = channel["type"] in THREAD_TYPES
        have = self.permissions_of(user_id, channel)
        needed = ["view_channel", "send_messages_in_threads" if thread else "send_messages"]
        if thread and channel["thread_metadata"]["locked"]:
            needed.append("manage_threads")
        if lacking := [n for n in needed if not have & perms.FLAGS[n]]:
            raise AssertionError(f"user {user_id} may not post in {channel['id']}: {lacking}")

    def _people_mentions(
        self, channel: dict[str, Any], author_id: str, content: str
    ) -> dict[str, Any]:
        """What a person's message pings: every mention in the text."""
        guild_id = channel.get("guild_id") or ""
        roles = self.roles.get(guild_id, {})
        may_everyone = bool(
            guild_id and self.permissions_of(author_id, channel) & perms.FLAGS["mention_everyone"]
        )
        return {
            "mentions": [
                self.users[u]
                for u in dict.fromkeys(re.findall(r"<@!?(\d+)>", content))
                if u in self.users
            ],
            "mention_roles": [
                r for r in dict.fromkeys(re.findall(r"<@&(\d+)>", content)) if r in roles
            ],
            "mention_everyone": may_everyone and bool(re.search(r"@(everyone|here)\b", content)),
        }
