"""A `netbot.chat.Post` as JSON and back: how a post waits in the outbox.

Why the Post and not the Slack message: the outbox row is written inside the caller's
transaction, where nothing should depend on Slack's rendering; the drainer renders it at
delivery (netbot.slack.text), so a post written before an upgrade is shown by the new code.
Text keeps its pieces (outside text, `Own` words, `Link`s), so escaping happens at delivery,
exactly as for a post sent at once. Mentions are not kept: a mirror never pings in Slack.
"""

from __future__ import annotations

from typing import Any, cast

from netbot.chat import Field, Link, Own, Piece, Post, Text, pieces

JsonText = list[Any]


def text_to_json(text: Text) -> JsonText:
    """Each piece: a string (outside text), {"own": ...} or {"link": url, "label": ...}."""
    out: JsonText = []
    for piece in pieces(text):
        if isinstance(piece, Own):
            out.append({"own": piece.text})
        elif isinstance(piece, Link):
            out.append({"link": piece.url, "label": text_to_json(piece.label)})
        else:
            out.append(piece)
    return out


def text_from_json(data: Any) -> Text:
    if not isinstance(data, list):
        raise ValueError(f"not a text: {data!r:.80}")
    out: list[Piece] = []
    for item in data:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("own"), str):
            out.append(Own(item["own"]))
        elif isinstance(item, dict) and isinstance(item.get("link"), str):
            out.append(Link(text_from_json(item.get("label", [])), item["link"]))
        else:
            raise ValueError(f"not a piece of text: {item!r:.80}")
    return tuple(out)


def post_to_json(post: Post) -> dict[str, Any]:
    return {
        "title": text_to_json(post.title),
        "link": post.link,
        "body": text_to_json(post.body),
        "listing": [text_to_json(item) for item in post.listing],
        "fields": [
            {"name": text_to_json(f.name), "value": text_to_json(f.value), "inline": f.inline}
            for f in post.fields
        ],
        "footer": text_to_json(post.footer),
        "accent": post.accent,
    }


def post_from_json(data: Any) -> Post:
    """The post `post_to_json` wrote; ValueError for anything else (a row from a bug)."""
    if not isinstance(data, dict):
        raise ValueError(f"not a post: {data!r:.80}")
    link, accent = data.get("link"), data.get("accent")
    if (link is not None and not isinstance(link, str)) or accent not in (None, "warning"):
        raise ValueError("a post's link or accent is malformed")
    fields = data.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise ValueError("a post's fields are malformed")
    return Post(
        title=text_from_json(data.get("title", [])),
        link=link,
        body=text_from_json(data.get("body", [])),
        listing=tuple(text_from_json(item) for item in cast(list[Any], data.get("listing", []))),
        fields=tuple(
            Field(text_from_json(f["name"]), text_from_json(f["value"]), bool(f.get("inline")))
            for f in fields
        ),
        footer=text_from_json(data.get("footer", [])),
        accent=accent,
    )
