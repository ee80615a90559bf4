"""The Discord chat target: a `netbot.chat.Post` shown in one channel.

A card post becomes an embed, a plain post a message; outside text is escaped
(`netbot.core.text.outside`, through `netbot.chat.markdown`) and everything is cut to
Discord's limits. Pings follow the post's `mentions` (none by default). A 403 for a missing
permission becomes a `Refused` naming it; a 400 (Discord refused the content) becomes
`chat.Rejected`, which callers do not retry.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

from netbot.chat import Action, Mentions, Post, PostRef, Rejected
from netbot.chat.markdown import render, render_listing
from netbot.core.text import clip
from netbot.discord_bot.replies import (
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    fit_embed,
    requiring,
)

T = TypeVar("T")

# The longest link label in a listing: a digest's line stays readable, and many fit.
LABEL_LIMIT = 200
SEND = "Send Messages and Embed Links"


def embed(post: Post) -> discord.Embed:
    """A card post as an embed, cut to Discord's limits."""
    description = render(post.body, EMBED_DESCRIPTION_LIMIT)
    if post.listing:
        room = EMBED_DESCRIPTION_LIMIT - len(description) - bool(description)
        listing = render_listing(post.listing, room, LABEL_LIMIT)
        description = "\n".join(part for part in (description, listing) if part)
    card = discord.Embed(
        title=render(post.title, EMBED_TITLE_LIMIT) or None,
        url=post.link,
        description=description or None,
        colour=discord.Colour.orange() if post.accent == "warning" else None,
    )
    for item in post.fields:
        card.add_field(
            name=render(item.name, EMBED_FIELD_NAME_LIMIT),
            value=render(item.value, EMBED_FIELD_VALUE_LIMIT),
            inline=item.inline,
        )
    if footer := render(post.footer, EMBED_FOOTER_LIMIT):
        card.set_footer(text=footer)
    return fit_embed(card)


def allowed(mentions: Mentions) -> discord.AllowedMentions:
    """Exactly the pings the post allows: never @everyone, nobody by default."""
    if not (mentions.users or mentions.roles):
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False,
        users=[discord.Object(u) for u in mentions.users] or False,
        roles=[discord.Object(r) for r in mentions.roles] or False,
        replied_user=False,
    )


_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}


def buttons(actions: tuple[Action, ...]) -> discord.ui.View:
    """A post's actions as buttons whose custom ids are the actions' ids. The view has no
    callbacks and no timeout: presses reach the capability's `on_interaction` listener by
    custom id, so buttons of any age work, also after a restart."""
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(
            discord.ui.Button(
                label=action.label[:80], custom_id=action.id[:100], style=_STYLES[action.style]
            )
        )
    return view


def message(post: Post) -> dict[str, Any]:
    """The keyword arguments of a send or edit call showing `post` (and nothing else;
    a post without actions leaves a message's existing components alone)."""
    if post.is_card:
        content, card = None, embed(post)
    else:
        content, card = render(post.body, CONTENT_LIMIT), None
    shown: dict[str, Any] = {
        "content": content,
        "embed": card,
        "allowed_mentions": allowed(post.mentions),
    }
    if post.actions:
        shown["view"] = buttons(post.actions)
    return shown


class DiscordTarget:
    """Posts into one Discord channel (`place` names it in refusals: "the alerts channel")."""

    name = "discord"

    def __init__(self, bot: discord.Client, channel_id: int, place: str = "this channel") -> None:
        self.bot, self.channel_id, self.place = bot, channel_id, place

    async def _channel(self) -> Any:
        channel = self.bot.get_channel(self.channel_id)
        return channel or await self.bot.fetch_channel(self.channel_id)

    async def post(self, post: Post) -> PostRef:
        channel = await self._channel()
        kwargs = {k: v for k, v in message(post).items() if v is not None}
        sent = await self._call(SEND, f"post in {self.place}", channel.send(**kwargs))
        return PostRef(self.name, str(self.channel_id), str(sent.id))

    async def edit(self, ref: PostRef, post: Post) -> None:
        old = (await self._channel()).get_partial_message(int(ref.message_id))
        await self._call(SEND, f"edit a post in {self.place}", old.edit(**message(post)))

    async def delete(self, ref: PostRef) -> None:
        old = (await self._channel()).get_partial_message(int(ref.message_id))
        await self._call("Manage Messages", f"delete a post in {self.place}", old.delete())

    async def _call(self, permission: str, action: str, call: Awaitable[T]) -> T:
        try:
            return await requiring(permission, action, call)
        except discord.HTTPException as exc:
            if exc.status == 400:
                why = clip(" ".join(exc.text.split()), 200)  # one log line, however worded
                raise Rejected(
                    self.name, f"Discord answered HTTP 400 (code {exc.code}): {why}"
                ) from exc
            raise
