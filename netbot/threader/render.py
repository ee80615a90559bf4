"""Text both ways: a Redmine journal as Discord messages, a Discord message as a Redmine note.

Each copy ends with a marker line that names its source: a Discord message's link in the
note (`— [Discord message](https://discord.com/channels/G/T/M)`), the journal's anchor in the
message (`-# [Redmine #12](…/issues/12#change-345)`). The markers are what a restart
looks for to learn whether a write whose answer was lost did land (claims); the note's
marker also keeps a copied message from ever being copied back, even were its link lost.

A note keeps its Markdown when posted to Discord (a code block stays a code block: it is
the author's own text, written for people), but every mention in it is defused and posts
carry `allowed_mentions` empty; names, field values and file names, which the threader
interpolates into its own lines, go through `netbot.core.text.outside`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netbot.core.text import escape_markdown, outside, quiet

DISCORD_LIMIT = 2000
DISCORD_WEB = "https://discord.com"
NAME_LIMIT = 80  # a webhook username's maximum
FENCE = re.compile(r"^\s*(```+|~~~+)(.*)$")
FROM_DISCORD = re.compile(
    r"^— \[Discord message\]\(https://discord\.com/channels/\d+/\d+/\d+\)", re.MULTILINE
)
CUSTOM_EMOJI = re.compile(r"<a?:(\w{1,64}):\d+>")
USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
CHANNEL_MENTION = re.compile(r"<#(\d+)>")
TIMESTAMP = re.compile(r"<t:(-?\d{1,13})(?::[tTdDfFR])?>")
# Journal detail attributes carried over as one short line each.
CHANGES = {
    "status_id": "Status",
    "assigned_to_id": "Assignee",
    "priority_id": "Priority",
    "due_date": "Due date",
}
KB = 1024


def digest(*parts: object) -> str:
    """A stable hash of the source of a copy: a different one means it was edited."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


# --- splitting ----------------------------------------------------------------------------


def split_message(text: str, limit: int = DISCORD_LIMIT) -> list[str]:
    """`text` in parts of at most `limit` characters, broken at line ends, else at spaces;
    a word is cut only when it alone is longer than a part. A code block broken across
    parts is closed at the end of one and reopened (same language) at the start of the next,
    so every part renders as the author meant."""
    parts: list[str] = []
    current = ""
    fence: str | None = None  # the opening fence line of the block `current` is inside

    def room() -> int:
        return limit - len(current) - (len("\n```") if fence else 0)

    def flush() -> None:
        nonlocal current
        if current.strip():
            parts.append(current + ("\n```" if fence else ""))
        current = f"{fence}\n" if fence else ""

    for line in text.split("\n"):
        piece = line if not current or current.endswith("\n") else "\n" + line
        if len(piece) > room() and current.strip() and current != f"{fence}\n":
            flush()
            piece = line
        while len(piece) > room():
            cut = piece.rfind(" ", 0, room() + 1)
            if cut <= 0:
                cut = max(room(), 1)
            current += piece[:cut]
            piece = piece[cut:].lstrip(" ")
            flush()
        current += piece
        match = FENCE.match(line)
        if match:
            fence = None if fence else line.strip()
    if current.strip() and current != f"{fence}\n":
        parts.append(current + ("\n```" if fence else ""))
    return parts or [""]


# --- Redmine to Discord -------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Redmine ids to names, for change lines."""

    statuses: Mapping[int, str] = field(default_factory=dict)
    priorities: Mapping[int, str] = field(default_factory=dict)
    people: Mapping[int, str] = field(default_factory=dict)


def journal_marker(base_url: str, ticket_id: int, journal_id: int, part: int, parts: int) -> str:
    suffix = f" · {part + 1}/{parts}" if parts > 1 else ""
    return f"-# [Redmine #{ticket_id}]({base_url}/issues/{ticket_id}#change-{journal_id}){suffix}"


def is_from_discord(notes: str) -> bool:
    """Whether a Redmine note is a copy of a Discord message (never copied back)."""
    return bool(FROM_DISCORD.search(notes or ""))


def _change_value(name: str, value: Any, names: Names) -> str:
    if value in (None, ""):
        return "(none)"
    lookup = {"status_id": names.statuses, "priority_id": names.priorities,
              "assigned_to_id": names.people}.get(name)  # fmt: skip
    if lookup is not None:
        try:
            return outside(lookup.get(int(value), f"#{value}"), 100)
        except ValueError:
            return outside(str(value), 100)
    return outside(str(value), 100)


def change_lines(details: list[dict[str, Any]], names: Names) -> list[str]:
    """One short line per status, assignee, priority or due date change."""
    lines = []
    for detail in details:
        label = CHANGES.get(detail.get("name", ""))
        if detail.get("property") == "attr" and label:
            old = _change_value(detail["name"], detail.get("old_value"), names)
            new = _change_value(detail["name"], detail.get("new_value"), names)
            lines.append(f"**{label}**: {old} → {new}")
    return lines


def attachment_lines(
    details: list[dict[str, Any]], attachments: Mapping[int, dict[str, Any]]
) -> list[str]:
    """A link per file the journal added; an image's link is left bare so it is shown."""
    lines = []
    for detail in details:
        if detail.get("property") != "attachment" or not detail.get("new_value"):
            continue
        found = attachments.get(int(detail["name"]))
        filename = outside(str(detail["new_value"]), 200)
        if found is None:
            lines.append(f"📎 {filename} (removed since)")
            continue
        url = str(found.get("content_url", ""))
        size = int(found.get("filesize", 0))
        image = str(found.get("content_type", "")).startswith("image/")
        lines.append(f"📎 {filename} ({max(1, size // KB)} KB): {url if image else f'<{url}>'}")
    return lines


def journal_parts(
    journal: dict[str, Any],
    *,
    ticket_id: int,
    base_url: str,
    names: Names,
    attachments: Mapping[int, dict[str, Any]],
    include_private: bool,
) -> list[str]:
    """The Discord messages for one journal (empty: nothing to post), each ending with its
    marker. A private note's text is left out unless `include_private` (staff-only threads)."""
    notes = (journal.get("notes") or "").strip()
    if journal.get("private_notes") and not include_private:
        notes = ""
    if is_from_discord(notes):
        return []
    details = journal.get("details") or []
    extra = change_lines(details, names) + attachment_lines(details, attachments)
    body = "\n".join(x for x in [quiet(notes), *extra] if x)
    if not body:
        return []
    longest_marker = len(journal_marker(base_url, ticket_id, journal["id"], 99, 99)) + 1
    chunks = split_message(body, DISCORD_LIMIT - longest_marker)
    return [
        f"{chunk}\n{journal_marker(base_url, ticket_id, journal['id'], i, len(chunks))}"
        for i, chunk in enumerate(chunks)
    ]


def tombstone_parts(base_url: str, ticket_id: int, journal_id: int) -> str:
    return f"~~note deleted in Redmine~~\n{journal_marker(base_url, ticket_id, journal_id, 0, 1)}"


def webhook_name(name: str) -> str:
    """A Redmine author's name as a webhook username Discord accepts (1-80 characters,
    without "discord" or "clyde", which Discord refuses)."""
    name = re.sub(r"(?i)discord", "Dscrd", re.sub(r"(?i)clyde", "Clyd", name)).strip()
    return (name or "Redmine")[:NAME_LIMIT]


# --- Discord to Redmine -------------------------------------------------------------------


def message_link(guild_id: int, thread_id: int, message_id: int) -> str:
    return f"{DISCORD_WEB}/channels/{guild_id}/{thread_id}/{message_id}"


def message_marker(guild_id: int, thread_id: int, message_id: int, edit: int = 0) -> str:
    suffix = f" (edit {edit})" if edit else ""
    return f"— [Discord message]({message_link(guild_id, thread_id, message_id)}){suffix}"


def display_name(user: Mapping[str, Any], member: Mapping[str, Any] | None = None) -> str:
    """What Discord shows for a person: server nickname, else global name, else user name."""
    nick = (member or {}).get("nick") or (user.get("member") or {}).get("nick")
    return str(nick or user.get("global_name") or user.get("username") or "someone")


def _timestamp(match: re.Match[str]) -> str:
    try:
        moment = dt.datetime.fromtimestamp(int(match.group(1)), dt.UTC)
    except (OverflowError, OSError, ValueError):
        return match.group(0)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def discord_text(
    content: str,
    mentions: list[dict[str, Any]],
    roles: Mapping[int, str],
    channels: Mapping[int, str],
) -> str:
    """Discord markup people cannot read in Redmine made readable: mentions as display
    names, custom emoji as `:name:`, timestamps as UTC dates."""
    people = {int(u["id"]): display_name(u) for u in mentions}
    text = USER_MENTION.sub(lambda m: "@" + people.get(int(m.group(1)), "unknown-user"), content)
    text = ROLE_MENTION.sub(lambda m: "@" + roles.get(int(m.group(1)), "unknown-role"), text)
    text = CHANNEL_MENTION.sub(lambda m: "#" + channels.get(int(m.group(1)), "channel"), text)
    text = CUSTOM_EMOJI.sub(r":\1:", text)
    return TIMESTAMP.sub(_timestamp, text)


def note_text(
    message: Mapping[str, Any],
    *,
    guild_id: int,
    attribution: str | None,
    linked_files: list[dict[str, Any]],
    roles: Mapping[int, str],
    channels: Mapping[int, str],
    edit: int = 0,
) -> str:
    """The Redmine note for a Discord message. `attribution` (None when the note is written
    as the person's own linked login) starts the note with who wrote it and why the bot's
    account does; `linked_files` are attachments linked rather than uploaded (too large for
    Redmine or for `max_upload_bytes`, or unreadable on Discord's CDN)."""
    lines = []
    if attribution:
        lines.append(attribution)
    text = discord_text(
        str(message.get("content") or ""), list(message.get("mentions") or []), roles, channels
    ).strip()
    if text:
        lines.append(text)
    for item in linked_files:
        size = max(1, int(item.get("size", 0)) // KB)
        name = escape_markdown(str(item.get("filename", "file")))
        lines.append(f"📎 [{name}]({item.get('url', '')}) ({size} KB; linked, not copied)")
    if not text and not linked_files and not message.get("attachments"):
        lines.append("*(a message without text)*")
    marker = message_marker(guild_id, int(message["channel_id"]), int(message["id"]), edit)
    return "\n\n".join([*lines, marker])


def attribution_line(name: str, why: str | None = None) -> str:
    """Who wrote a note the bot's account records, and why it is not their own account."""
    who = f"**{escape_markdown(name)}** on Discord"
    return f"{who} ({why}):" if why else f"{who} (not linked to a Redmine account):"


def tombstone_note(guild_id: int, thread_id: int, message_id: int) -> str:
    """A deleted message's note: never empty (an empty PUT destroys a Redmine journal)."""
    return f"~~deleted in Discord~~\n\n{message_marker(guild_id, thread_id, message_id)}"


def message_hash(message: Mapping[str, Any]) -> str:
    files = [a.get("id") for a in message.get("attachments") or []]
    return digest(message.get("content") or "", *files)
