"""Text going out to chat: cut to a platform's limits, and with mentions defused."""

from __future__ import annotations

import re

_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quiet(text: str) -> str:
    """Text from Redmine or a feed with every mention defused (a zero-width space breaks it).

    Discord's allowed_mentions already stops pings; this also stops the text *looking* like
    a ping, so a quoted note shows "@everyone" literally rather than a highlight.
    """
    return _MENTION.sub(
        lambda m: m.group(0).replace("@", "@\u200b").replace("<#", "<#\u200b"), text
    )
