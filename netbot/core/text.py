"""Text going out to chat: cut to a platform's limits, and made harmless when it came from outside.

Text from Redmine, a feed or another user is "outside" text. It is interpolated into the bot's
own Markdown (content, embed text, link labels), so it must neither ping anyone nor be read as
Markdown: a subject `[Reset your password](http://evil.example)` would otherwise become a masked
link, and a name containing `](` would close the bot's own link. `outside()` is the one helper
for that; everything built from foreign text goes through it.
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")
# The characters Discord's Markdown builds anything from: emphasis, code, spoilers, masked
# links `[label](url)`, headings `#`, quotes `>`, subtext `-#`, and `<...>` (mentions, emoji,
# timestamps, suppressed links). A bare URL stays a visible, plain link, which is harmless.
_MARKDOWN = re.compile(r"([\\`*_~|\[\]()<>#\-])")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quiet(text: str) -> str:
    """Text with every mention defused (a zero-width space breaks it).

    Discord's allowed_mentions already stops pings; this also stops the text *looking* like
    a ping, so a quoted note shows "@everyone" literally rather than a highlight.
    """
    return _MENTION.sub(
        lambda m: m.group(0).replace("@", "@\u200b").replace("<#", "<#\u200b"), text
    )


def escape_markdown(text: str) -> str:
    """`text` with every Markdown-significant character backslash-escaped.

    Discord renders `\\[` as `[`, so the reader sees the original text, but no link, emphasis,
    code span, spoiler, heading or quote can be formed from it.
    """
    return _MARKDOWN.sub(r"\\\1", text)


def outside(text: str, limit: int | None = None) -> str:
    """Text from outside (Redmine, a feed, a user) made safe to put inside the bot's Markdown.

    Clipped first (so an escape is never cut in half), then Markdown-escaped and
    mention-defused. `limit` is the length of the *original* text kept; the escaped result
    may be longer, so callers with a hard limit clip the final string again.
    """
    if limit is not None:
        text = clip(text, limit)
    return quiet(escape_markdown(text))


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """Text from outside made harmless to print on a terminal, with nothing hidden.

    A terminal obeys control characters: ESC and C1 start sequences that recolour, clear or
    retitle the screen or write the clipboard (OSC 52), a bare CR or a backspace overwrites
    what was printed, a BiDi control reorders a line. Tabs and line breaks become spaces
    (line breaks stay when `keep_newlines`; CRLF is one break); every other C0/C1 control,
    DEL, BiDi control and line/paragraph separator is shown as a visible `\\uXXXX` escape,
    so the reader sees it was there. Those are JSON's own escapes, so JSON text passed through
    this with `keep_newlines` still decodes to the exact original.
    """
    text = text.replace("\r\n", "\n")
    text = re.sub(r"[\t\r]" if keep_newlines else r"[\t\r\n]", " ", text)
    return re.sub(
        r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]",
        lambda m: f"\\u{ord(m.group()):04x}",
        text,
    )
