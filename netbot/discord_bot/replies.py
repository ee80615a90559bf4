"""Replies that Discord accepts: clipped to its limits, and refusals that name a permission.

Every reply path of the bot (command context, error reply, cogs' own sends) goes through these,
so no capability can produce a message Discord rejects for its size.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import discord

from netbot.core.errors import Refused, UserError
from netbot.core.text import clip, outside

log = logging.getLogger(__name__)

T = TypeVar("T")

# Discord's limits for one message; a reply over any of them is rejected outright.
CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELDS_LIMIT = 25
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_AUTHOR_LIMIT = 256
EMBEDS_TOTAL_LIMIT = 6000  # all text of all embeds of one message
# Room left in an error reply for " (error id 0123abcd)" and the like.
ERROR_MESSAGE_LIMIT = 1800


def fit_embed(embed: discord.Embed, budget: int = EMBEDS_TOTAL_LIMIT) -> discord.Embed:
    """`embed` cut to Discord's embed limits, with at most `budget` characters of text.

    Over the budget, the description gives way first, then fields from the end.
    """
    data = embed.to_dict()
    fitted: dict[str, Any] = dict(data)
    if "title" in fitted:
        fitted["title"] = clip(fitted["title"], EMBED_TITLE_LIMIT)
    if "description" in fitted:
        fitted["description"] = clip(fitted["description"], EMBED_DESCRIPTION_LIMIT)
    if "fields" in fitted:
        fitted["fields"] = [
            {
                **f,
                "name": clip(f["name"], EMBED_FIELD_NAME_LIMIT),
                "value": clip(f["value"], EMBED_FIELD_VALUE_LIMIT),
            }
            for f in fitted["fields"][:EMBED_FIELDS_LIMIT]
        ]
    for part, key, limit in (
        ("footer", "text", EMBED_FOOTER_LIMIT),
        ("author", "name", EMBED_AUTHOR_LIMIT),
    ):
        if key in fitted.get(part, {}):
            fitted[part] = {**fitted[part], key: clip(fitted[part][key], limit)}
    excess = _embed_chars(fitted) - budget
    if excess > 0 and fitted.get("description"):
        keep = max(len(fitted["description"]) - excess, 1)
        fitted["description"] = clip(fitted["description"], keep)
    while _embed_chars(fitted) > budget and fitted.get("fields"):
        fitted["fields"] = fitted["fields"][:-1]
    return embed if fitted == data else discord.Embed.from_dict(fitted)


def _embed_chars(data: dict[str, Any]) -> int:
    """The characters Discord counts towards an embed's total."""
    fields = data.get("fields", [])
    return (
        len(data.get("title", ""))
        + len(data.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
        + len(data.get("footer", {}).get("text", ""))
        + len(data.get("author", {}).get("name", ""))
    )


def fit_message(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of a send/edit call with content and embeds cut to Discord's limits."""
    if args and args[0] is not None:
        args = (clip(str(args[0]), CONTENT_LIMIT), *args[1:])
    if kwargs.get("content") is not None:
        kwargs = {**kwargs, "content": clip(str(kwargs["content"]), CONTENT_LIMIT)}
    if kwargs.get("embed") is not None:
        kwargs = {**kwargs, "embed": fit_embed(kwargs["embed"])}
    if kwargs.get("embeds"):
        share = EMBEDS_TOTAL_LIMIT // len(kwargs["embeds"])
        kwargs = {**kwargs, "embeds": [fit_embed(e, share) for e in kwargs["embeds"]]}
    return args, kwargs


def fitting(send: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """`send` (a respond, send or edit method) with its message fitted to Discord's limits."""

    @functools.wraps(send)
    async def send_fitted(*args: Any, **kwargs: Any) -> T:
        args, kwargs = fit_message(args, kwargs)
        return await send(*args, **kwargs)

    return send_fitted


class FittingContext(discord.ApplicationContext):
    """The context every netbot command gets: whatever it replies fits Discord's limits.

    A command echoing long input (a 3,000-character option) would otherwise be rejected by
    Discord, and the user would get no answer at all.
    """

    async def respond(self, *args: Any, **kwargs: Any) -> Any:
        return await fitting(super().respond)(*args, **kwargs)

    @property
    def send_response(self) -> Callable[..., Awaitable[Any]]:
        return fitting(super().send_response)

    @property
    def send_followup(self) -> Callable[..., Awaitable[Any]]:
        return fitting(super().send_followup)

    @property
    def edit(self) -> Callable[..., Awaitable[Any]]:
        return fitting(super().edit)


MISSING_PERMISSIONS = 50013  # Discord's JSON error code for a 403 "Missing Permissions"


async def requiring(permission: str, action: str, call: Awaitable[T]) -> T:
    """Await a Discord call that needs ``permission`` (as Discord's settings name it).

    Discord's 403 does not say which permission is missing, so a bare Forbidden would leave
    both the user and the server's admin guessing: a refusal becomes a `Refused` naming it,
    e.g. "I can't delete the thread: I need the Manage Threads permission in this channel."
    Other HTTP errors pass through unchanged.
    """
    try:
        return await call
    except discord.Forbidden as exc:
        if exc.code != MISSING_PERMISSIONS:
            raise
        raise Refused(
            f"I can't {action}: I need the {permission} permission in this channel."
        ) from exc


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer an interaction ephemerally whether or not it was already acknowledged."""
    text = clip(text, CONTENT_LIMIT)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error reply for interaction %s", interaction.id)


@contextmanager
def as_text() -> Iterator[None]:
    """Show a UserError's message in Discord as text. The domain's messages repeat what
    people typed and what a backend said; in Discord those must not become links,
    formatting or pings."""
    try:
        yield
    except UserError as exc:
        raise type(exc)(outside(exc.message)) from exc


def who(interaction: discord.Interaction) -> discord.User | discord.Member:
    """Who pressed a button, chose or sent a form (py-cord types the user optional)."""
    if interaction.user is None:
        raise UserError("Discord did not say who you are; try again.")
    return interaction.user
