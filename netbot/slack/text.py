"""A `netbot.chat.Post` as a Slack message: Block Kit blocks plus a plain-text fallback, with
every piece of text made harmless for Slack's markup.

Why its own escaper: Slack's mrkdwn is not Discord's Markdown. Slack reads control sequences
in angle brackets: `<!channel>`, `<!here>` (ping a whole channel), `<@U123>` (a person),
`<#C123>` (a channel), `<https://evil|https://good>` (a link that shows another address),
and decodes `&amp;`, `&lt;`, `&gt;` once for display. Escaping `&`, `<` and `>` (in that
order, so a text that already reads `&lt;` stays literal instead of decoding into `<`) leaves
no way to build any of them; `@channel`/`@here`/`@everyone` typed as words are defused too
(a word joiner after the `@`), in case a workspace links names. The only angle brackets in a
message are the links a feature means (`Post.link`, `Link` pieces), built here: `<url|label>`
with the label escaped and the url checked (http/https, no `|`, `<`, `>`, spaces or
controls; an unfit url shows its label alone). Emphasis characters (`*`, `_`, `~`, `` ` ``)
are left alone: Slack has no escape for them, and they can only restyle text.

`Own` pieces are netbot's own words but written in Discord's flavour (`**bold**`, `<@123>`
mentions of Discord users): they are escaped like the rest, `**` becomes Slack's `*`, and a
Discord mention becomes a readable `@discord-user-123` that pings nobody in Slack.

Cutting keeps Slack's limits: a section's text (3,000), a field (2,000), a context element,
50 blocks, and the fallback text; a long body is split into several sections at line breaks
where it can, an escape or a link is never cut in half, and a listing loses whole items.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from netbot.chat import Link, Own, Post, Text, pieces

SECTION_LIMIT = 3000  # a section's text
FIELD_LIMIT = 2000  # a section field's text
FIELDS_PER_SECTION = 10
BLOCKS_LIMIT = 50
FALLBACK_LIMIT = 4000  # the top-level `text` (Slack truncates over 40,000; 4,000 is advised)
TITLE_LIMIT = 500  # a title reads as one line: longer ones are clipped
LABEL_LIMIT = 500  # a link's label (escaped); with URL_LIMIT a link always fits a field
URL_LIMIT = 1200
ELLIPSIS = "…"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_DISCORD_MENTION = re.compile(r"<(@[!&]?|#)(\d+)>")
_DISCORD_SHOWN = {"@": "@discord-user-", "@!": "@discord-user-", "@&": "@discord-role-",
                  "#": "#discord-channel-"}  # fmt: skip
_URL_BANNED = re.compile(r"[|<>\s\x00-\x1f\x7f]")


def escape(text: str) -> str:
    """Outside text as Slack mrkdwn that shows `text` (broadcast words defused) and
    controls nothing."""
    return "".join(_tokens(text))


def _tokens(text: str) -> list[str]:
    """`text` escaped, one token per character: a cut between tokens never breaks an
    entity."""
    text = _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), text)
    return [_ESCAPES.get(char, char) for char in text]


def _own_tokens(text: str) -> list[str]:
    """netbot's own (Discord-flavoured) words as Slack tokens: see the module."""
    text = _DISCORD_MENTION.sub(lambda m: _DISCORD_SHOWN[m[1]] + m[2], text)
    return _tokens(text.replace("**", "*"))


def safe_url(url: str) -> bool:
    """Whether `url` can stand inside `<url|label>`: http(s), a host, nothing that ends the
    link or hides in it."""
    if len(url) > URL_LIMIT or _URL_BANNED.search(url):
        return False
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def link(url: str, label: list[str]) -> list[str]:
    """A link token (atomic: never cut), or the label alone when the url is unfit."""
    if not safe_url(url):
        return label
    shown = "".join(label) or escape(url)
    return [f"<{url.replace('&', '&amp;')}|{shown}>"]


def tokens(text: Text, label_room: int = LABEL_LIMIT) -> list[str]:
    """A chat text as Slack tokens; link labels hold at most `label_room` characters."""
    out: list[str] = []
    for piece in pieces(text):
        if isinstance(piece, Own):
            out += _own_tokens(piece.text)
        elif isinstance(piece, Link):
            out += link(piece.url, _clipped(tokens(piece.label), label_room))
        else:
            out += _tokens(piece)
    return out


def _clipped(parts: list[str], room: int | None) -> list[str]:
    """`parts` cut to `room` characters (of the escaped text), an ellipsis marking the cut."""
    if room is None or sum(map(len, parts)) <= room:
        return parts
    return _ended(parts, room)


def _ended(parts: list[str], room: int) -> list[str]:
    """The longest run of whole tokens from the start of `parts` that leaves room for an
    ellipsis, and the ellipsis."""
    kept: list[str] = []
    used = len(ELLIPSIS)
    for part in parts:
        if used + len(part) > room:
            break
        kept.append(part)
        used += len(part)
    return [*kept, ELLIPSIS]


def render(text: Text, room: int | None = None) -> str:
    """`text` as one mrkdwn string of at most `room` characters."""
    return "".join(_clipped(tokens(text), room))


def _split(parts: list[str], room: int) -> list[list[str]]:
    """`parts` in runs of at most `room` characters, each ended at a line break when one
    falls in its second half, never inside a token (a token longer than `room`, which the
    label and url limits rule out, would show as an ellipsis)."""
    runs: list[list[str]] = []
    current: list[str] = []
    used = 0
    for part in parts:
        part = part if len(part) <= room else ELLIPSIS
        if used + len(part) > room:
            breaks = [n for n, p in enumerate(current) if p == "\n"]
            cut = breaks[-1] + 1 if breaks and breaks[-1] >= len(current) // 2 else len(current)
            runs.append(current[:cut])
            current = current[cut:]
            used = sum(map(len, current))
        current.append(part)
        used += len(part)
    runs.append(current)
    return [run for run in (_trimmed(r) for r in runs) if run]


def _trimmed(run: list[str]) -> list[str]:
    """A run without the line breaks at its ends (a section shows none)."""
    start, end = 0, len(run)
    while start < end and run[start] == "\n":
        start += 1
    while end > start and run[end - 1] == "\n":
        end -= 1
    return run[start:end]


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _title(post: Post) -> str:
    title = _clipped(tokens(post.title), TITLE_LIMIT)
    if post.link:
        title = link(post.link, title) if title else link(post.link, [escape(post.link)])
    shown = "".join(title)
    warning = ":warning: " if post.accent == "warning" else ""
    return f"{warning}*{shown}*" if shown else warning.strip()


def _listing(post: Post) -> list[str]:
    lines = [f"{n}. " + "".join(_clipped(tokens(item, 200), SECTION_LIMIT - 10))
             for n, item in enumerate(post.listing, 1)]  # fmt: skip
    sections: list[str] = []
    for line in lines:  # whole items per section, never half an item
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    return sections


def _fields(post: Post) -> list[dict[str, Any]]:
    texts = []
    for item in post.fields:
        name = _clipped(tokens(item.name), 200)
        value = _clipped(tokens(item.value), FIELD_LIMIT - len("".join(name)) - 3)
        texts.append(_mrkdwn(f"*{''.join(name)}*\n{''.join(value)}"))
    return [{"type": "section", "fields": texts[n : n + FIELDS_PER_SECTION]}
            for n in range(0, len(texts), FIELDS_PER_SECTION)]  # fmt: skip


def blocks(post: Post) -> list[dict[str, Any]]:
    """`post` as Block Kit blocks within Slack's limits: the title, the body (split into
    sections), the listing, the fields, the footer; the body gives way to fit 50 blocks."""
    head = [_section(title)] if (title := _title(post)) else []
    runs = _split(tokens(post.body), SECTION_LIMIT)
    listing = [_section(chunk) for chunk in _listing(post)]
    fields = _fields(post)
    footer = render(post.footer, SECTION_LIMIT)
    tail = [{"type": "context", "elements": [_mrkdwn(footer)]}] if footer else []
    fixed = len(head) + len(listing) + len(fields) + len(tail)
    if fixed + len(runs) > BLOCKS_LIMIT:
        runs = runs[: max(BLOCKS_LIMIT - fixed, 1)]
        runs[-1] = _ended(runs[-1], SECTION_LIMIT)
    body = [_section("".join(run)) for run in runs]
    every = head + body + listing + fields + tail
    return every[:BLOCKS_LIMIT]


def fallback(post: Post) -> str:
    """The top-level `text`: what notifications and screen readers show, escaped alike."""
    title = tokens(post.title) or (_tokens(post.link) if post.link else [])
    parts = [*title, "\n", *tokens(post.body)] if title else tokens(post.body)
    text = "".join(_clipped(parts, FALLBACK_LIMIT)).strip()
    return text or render(post.footer, FALLBACK_LIMIT) or "(no text)"


def message(post: Post) -> dict[str, Any]:
    """The `text` and `blocks` arguments of chat.postMessage / chat.update for `post`."""
    return {"text": fallback(post), "blocks": blocks(post)}
