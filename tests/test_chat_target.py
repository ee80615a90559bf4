"""The Discord chat target: a platform-neutral Post, through real py-cord, to the fake Discord.

Outside text is escaped wherever it appears, netbot's own words are sent as they are, nothing
pings unless the post allows it, a post is cut to Discord's limits (a listing by whole items),
and refusals come back as `Rejected` (content) or `Refused` naming the permission.
"""

from __future__ import annotations

import pytest

from fakes.discord import FakeDiscord
from netbot.chat import Field, Link, Mentions, Own, Post, PostRef, Rejected
from netbot.chat.markdown import render, render_listing
from netbot.core.errors import BackendError, Refused
from netbot.discord_bot import DiscordTarget, NetBot, create_bot
from tests.plugins.world import WorldFactory

EVIL = "[Reset](https://evil.example) @everyone **x**"
SAFE = r"\[Reset\]\(https://evil.example\) @" "\u200beveryone \\*\\*x\\*\\*"


@pytest.fixture
async def bot(world_factory: WorldFactory) -> NetBot:
    """The bot without cogs, running: the target is all these tests use."""
    world = await world_factory(
        config={"cogs": {"tickets": False}}, start=False, fail_on_command_error=True
    )
    return await world.start(create_bot(world.runtime, load_cogs=False))


def target_in(bot: NetBot, fake: FakeDiscord) -> tuple[DiscordTarget, dict]:
    channel = fake.add_channel(fake.guild, "news")
    return DiscordTarget(bot, int(channel["id"]), "the news channel"), channel


async def test_a_card_escapes_every_outside_text_and_keeps_own_words(
    bot: NetBot, fake_discord: FakeDiscord
) -> None:
    target, channel = target_in(bot, fake_discord)
    post = Post(
        title=(Own("[Update] "), EVIL),
        link="https://example.org/a",
        body=EVIL,
        listing=(Link(EVIL, "https://example.org/b"),),
        fields=(Field(EVIL, EVIL, inline=True),),
        footer=EVIL,
        accent="warning",
    )
    ref = await target.post(post)
    [message] = fake_discord.messages_in(channel)
    assert ref == PostRef("discord", channel["id"], str(message.id))
    [embed] = message.embeds
    assert embed["title"] == f"[Update] {SAFE}"
    assert embed["url"] == "https://example.org/a"
    assert embed["description"] == f"{SAFE}\n1. [{SAFE}](https://example.org/b)"
    assert embed["fields"] == [{"name": SAFE, "value": SAFE, "inline": True}]
    assert embed["footer"]["text"] == SAFE
    assert embed["color"] == 0xE67E22  # Discord's orange
    assert message.allowed_mentions == {"parse": []}


async def test_a_plain_post_is_a_message_and_pings_only_whom_it_allows(
    bot: NetBot, fake_discord: FakeDiscord
) -> None:
    target, channel = target_in(bot, fake_discord)
    await target.post(Post(body=(Own("Hello "), EVIL)))
    await target.post(Post(body=Own("<@42> look"), mentions=Mentions(users=(42,))))
    plain, ping = fake_discord.messages_in(channel)
    assert plain.content == f"Hello {SAFE}" and plain.embeds == []
    assert plain.allowed_mentions == {"parse": []}
    assert ping.content == "<@42> look"
    assert ping.allowed_mentions == {"parse": [], "users": [42]}


async def test_a_post_is_edited_and_deleted_by_its_ref(
    bot: NetBot, fake_discord: FakeDiscord
) -> None:
    target, channel = target_in(bot, fake_discord)
    ref = await target.post(Post(title=Own("Draft"), body="first"))
    await target.edit(ref, Post(body="second"))
    [message] = fake_discord.messages_in(channel)
    assert message.content == "second" and message.embeds == []
    await target.delete(ref)
    assert fake_discord.messages_in(channel) == []


async def test_a_long_card_is_cut_to_discords_limits(
    bot: NetBot, fake_discord: FakeDiscord
) -> None:
    target, channel = target_in(bot, fake_discord)
    items = tuple(Link(f"item {n} " + "y" * 300, f"https://example.org/{n}") for n in range(40))
    await target.post(Post(title=(Own("M 7 - "), "x" * 400, Own(" (USGS)")), listing=items))
    [embed] = fake_discord.messages_in(channel)[0].embeds
    assert len(embed["title"]) == 256 and embed["title"].endswith("x… (USGS)")
    lines = embed["description"].split("\n")
    assert len(embed["description"]) <= 4096 and lines[-1].endswith(")")  # whole items only
    assert all(len(line.split("](")[0]) <= 1 + len("99. ") + 200 for line in lines)


async def test_content_discord_refuses_is_rejected_not_retried(
    bot: NetBot, fake_discord: FakeDiscord
) -> None:
    target, _ = target_in(bot, fake_discord)
    fake_discord.fail_next(
        "POST", "/channels/{channel_id}/messages", 400,
        body={"message": "Invalid Form Body", "code": 50035},
    )  # fmt: skip
    with pytest.raises(Rejected) as refused:
        await target.post(Post(body="hello"))
    assert isinstance(refused.value, BackendError) and refused.value.backend == "discord"
    assert "HTTP 400 (code 50035)" in refused.value.message


async def test_a_missing_permission_is_named(bot: NetBot, fake_discord: FakeDiscord) -> None:
    target, _ = target_in(bot, fake_discord)
    fake_discord.deny_bot("send_messages")
    with pytest.raises(Refused, match="post in the news channel: I need the Send Messages"):
        await target.post(Post(body="hello"))


def test_the_first_outside_piece_gives_way_then_the_text_is_clipped() -> None:
    title = (Own("[Update] "), "n" * 300, Own(" (suffix)"))
    assert render(title, 40) == "[Update] " + "n" * 21 + "…" + " (suffix)"
    assert render(title) == "[Update] " + "n" * 300 + " (suffix)"
    escaped = render(("*" * 30, Own("!")), 20)  # escapes count: "\*" is two characters
    assert len(escaped) <= 20 and escaped.endswith("…!")
    assert "*" not in escaped.replace("\\*", "")  # never half an escape


def test_a_listing_loses_whole_items_from_its_end() -> None:
    items = (Link("a", "https://x/1"), Link("b", "https://x/2"), "c")
    assert render_listing(items, 100) == "1. [a](https://x/1)\n2. [b](https://x/2)\n3. c"
    assert render_listing(items, 40) == "1. [a](https://x/1)\n2. [b](https://x/2)"
    assert render_listing(items, 10) == ""
