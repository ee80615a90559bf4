"""Platform-neutral chat: `Post`, `PostRef` and the `Target` protocol. Imports only core."""

from netbot.chat.post import (
    Accent,
    Action,
    Field,
    Link,
    Mentions,
    Own,
    Piece,
    Post,
    PostRef,
    Rejected,
    Target,
    Text,
    pieces,
)

__all__ = [
    "Accent",
    "Action",
    "Field",
    "Link",
    "Mentions",
    "Own",
    "Piece",
    "Post",
    "PostRef",
    "Rejected",
    "Target",
    "Text",
    "pieces",
]
