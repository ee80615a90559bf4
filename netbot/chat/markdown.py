"""Chat text as Markdown (Discord's flavour): outside pieces escaped, cut to a limit.

The Discord target and every plain-Markdown rendering (alerts' `as_text`) share this, so a
post reads the same wherever it is rendered. Slack has its own markup and its own renderer.
"""

from __future__ import annotations

from netbot.chat.post import Link, Own, Text, pieces
from netbot.core.text import clip, outside


def fit(text: str, room: int) -> str:
    """`outside(text)`, cut so that the escaped result holds at most `room` characters."""
    keep = room
    while len(safe := outside(text, max(keep, 1))) > room and keep > 1:
        keep -= len(safe) - room  # each escape or defused mention adds one character
    return safe if len(safe) <= room else ""


def render(text: Text, room: int | None = None, label_room: int | None = None) -> str:
    """`text` as Markdown of at most `room` characters: over it, the first outside piece
    gives way, then the whole is clipped. Link labels hold at most `label_room` characters."""
    parts = pieces(text)
    shown = [_piece(p, label_room) for p in parts]
    if room is None:
        return "".join(shown)
    total = sum(map(len, shown))
    first = next((n for n, p in enumerate(parts) if isinstance(p, str)), None)
    if total > room and first is not None:
        shown[first] = fit(str(parts[first]), room - (total - len(shown[first])))
    return clip("".join(shown), room)


def _piece(piece: Own | Link | str, label_room: int | None) -> str:
    if isinstance(piece, Own):
        return piece.text
    if isinstance(piece, Link):
        return f"[{render(piece.label, label_room)}]({piece.url})"
    return outside(piece)


def render_listing(items: tuple[Text, ...], room: int, label_room: int | None = None) -> str:
    """Numbered items, one a line, as many as fit in `room`: an item is never cut in half."""
    lines: list[str] = []
    used = -1  # no newline before the first line
    for n, item in enumerate(items, 1):
        line = f"{n}. {render(item, label_room=label_room)}"
        if used + 1 + len(line) > room:
            break
        lines.append(line)
        used += 1 + len(line)
    return "\n".join(lines)
