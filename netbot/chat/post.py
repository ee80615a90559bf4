"""What a capability says in chat, platform-neutral: a `Post`, and the `Target` that shows it.

A capability builds Posts from its data and hands them to a `Target` (a Discord channel
today, a Slack channel later); it never formats for a platform. Each target turns a Post
into its platform's message: its markup, its limits, its mention rules.

Escaping: text in a Post is text *from outside* (a feed, Redmine, a user) unless it is marked
`Own`. The target escapes every outside piece for its platform, wherever it appears: the
title, the body, the listing, the fields' names and values, the footer and link labels
(Discord: `netbot.core.text.outside`; Slack: its own escaper). `Own` pieces are netbot's own
words, sent as they are. URLs (`Post.link`, `Link.url`) are netbot's own and never escaped:
whoever builds a Post makes sure they are http(s) addresses.

Cutting: a target cuts a Post to its limits the same way everywhere: in a text, the first
outside piece gives way (a title's name, a body's description), then the text is clipped;
a listing loses whole items from its end, never half an item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from netbot.core.errors import BackendError


@dataclass(frozen=True)
class Own:
    """netbot's own words (a `[Update] ` prefix, a header): the target sends them as they are."""

    text: str


@dataclass(frozen=True)
class Link:
    """A labelled link; the label is text like any other (outside unless `Own`)."""

    label: Text
    url: str


Piece = str | Own | Link
# A text: one piece, or pieces shown one after the other. A bare `str` is outside text.
Text = Piece | tuple[Piece, ...]


def pieces(text: Text) -> tuple[Piece, ...]:
    """`text` as a tuple of pieces."""
    return text if isinstance(text, tuple) else (text,)


@dataclass(frozen=True)
class Field:
    """A name/value pair shown beside the body; `inline` fields may share a row."""

    name: Text
    value: Text
    inline: bool = False


@dataclass(frozen=True)
class Mentions:
    """Who a post may ping. The default pings nobody: outside text can never ping."""

    users: tuple[int, ...] = ()
    roles: tuple[int, ...] = ()


Accent = Literal["warning"]
ActionStyle = Literal["primary", "secondary", "success", "danger"]


@dataclass(frozen=True)
class Action:
    """A button under a post. `id` is the capability's own (it names the action and the
    object it acts on, e.g. "incidents:declare:alert-123"), sent back when it is pressed, so
    it keeps working after a restart; at most 100 characters, unique within the post."""

    label: str  # netbot's own words
    id: str
    style: ActionStyle = "secondary"


@dataclass(frozen=True)
class Post:
    """One message. With a title (or link, fields, footer) it is a card (Discord: an embed);
    with a body alone it is a plain message."""

    title: Text = ()
    link: str | None = None  # where the title points
    body: Text = ()
    listing: tuple[Text, ...] = ()  # numbered items under the body ("1. ...")
    fields: tuple[Field, ...] = ()
    footer: Text = ()
    accent: Accent | None = None  # a card's colour: "warning" for an alert
    mentions: Mentions = field(default_factory=Mentions)
    actions: tuple[Action, ...] = ()  # buttons (Discord: one row of up to 5)

    @property
    def is_card(self) -> bool:
        return bool(
            pieces(self.title) or self.link or self.listing or self.fields or pieces(self.footer)
        )


@dataclass(frozen=True)
class PostRef:
    """A delivered post, for editing or deleting it later: opaque to capabilities."""

    target: str  # the target's name ("discord")
    channel_id: str
    message_id: str


class Rejected(BackendError):
    """The target refused a post for its content (Discord: HTTP 400): sending the same post
    again cannot work, so it is not retried."""


class Target(Protocol):
    """Where posts go. A post refused for its content raises `Rejected`; any other failure
    (the platform down, a missing permission) raises and may be retried later."""

    name: str

    async def post(self, post: Post) -> PostRef: ...

    async def edit(self, ref: PostRef, post: Post) -> None: ...

    async def delete(self, ref: PostRef) -> None: ...
