"""Issue 7 ("Trust"), tickets through Discord: the real py-cord client against the fake
Discord, and the real Redmine.

Link approvals bound to the request shown, Markdown from Redmine and users shown as text,
no credentials in public links, no duplicate threads, pagers that survive any search term,
and error replies that stay within Discord's limits.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event

from fakes.discord import FakeDiscord, FakeMessage
from netbot import identity as links
from netbot.tickets import threads
from tests.plugins.redmine_server import RedmineServer
from tests.plugins.world import BotWorld
from tests.test_tickets_bot import Seed, TicketBot
from tests.test_tickets_bot import seed as seed  # the shared fixtures
from tests.test_tickets_bot import ticket_bot as ticket_bot
from tests.test_tickets_bot import world as world

EVIL = "[Reset your password](http://evil.example) @everyone <@&1> **now**"


def button(message: FakeMessage, label: str) -> str:
    """The custom_id of the button with this label."""
    found = [cid for cid, text in message.buttons.items() if text == label]
    assert len(found) == 1, message.buttons
    return found[0]


# ------------------------------------------------------------------ 1. link approval
async def test_approval_is_bound_to_the_login_shown(world: BotWorld, seed: Seed) -> None:
    fake, stranger = world.fake, seed.stranger
    await world.command("ticket link", login="carol", by=stranger)
    shown = await fake.wait_for_message(fake.channel, lambda m: "`carol`" in m.content)
    await world.command("ticket link", login="bob", by=stranger)
    switched = await fake.wait_for_message(fake.channel, lambda m: "`bob`" in m.content)

    stale = await fake.click(shown, button(shown, "Approve"), user=seed.boss)
    refused = await stale.followup()
    assert refused.ephemeral
    assert refused.content.startswith("That link request changed")
    assert links.approved_login(world.database, int(stranger["id"])) is None

    ids = list(switched.buttons)
    assert all(len(cid) <= 100 for cid in ids)
    await world.press(switched, "Approve", by=seed.boss)
    await fake.wait_until(
        lambda: "may now act as Redmine user `bob`" in switched.content, "approval"
    )
    assert links.approved_login(world.database, int(stranger["id"])) == "bob"
    assert "`carol`" in shown.content and shown.buttons  # the stale request is still undecided


async def test_administrator_logins_are_never_offered_for_approval(
    world: BotWorld, seed: Seed
) -> None:
    fake, stranger = world.fake, seed.stranger

    def public() -> int:
        return sum(1 for m in fake.messages_in(fake.channel) if not m.ephemeral)

    posted = public()
    told = await world.command("ticket link", login="admin", by=stranger)
    assert told.ephemeral
    assert "administrator" in told.content and "admin links it directly" in told.content
    assert public() == posted  # no request with buttons
    assert links.get_link(world.database, int(stranger["id"])) is None

    direct = await world.command("ticket link", login="admin", member=stranger, by=seed.boss)
    assert direct.content.startswith("Linked ")
    assert links.approved_login(world.database, int(stranger["id"])) == "admin"


# ------------------------------------------------------------------ 2. Markdown injection
async def test_subjects_and_names_from_outside_are_shown_as_text(
    world: BotWorld, seed: Seed
) -> None:
    opener = await world.fake.slash("ticket new", {}, channel=seed.team_channel)
    await opener.response()
    marker = uuid.uuid4().hex[:8]
    await world.submit_modal(opener, {"subject": f"{EVIL} {marker}"})
    announced = await world.fake.wait_for_message(seed.team_channel, lambda m: marker in m.content)
    body = announced.content.split(")", 1)[1]  # after the bot's own [#N](url) link
    assert "[Reset your password](" not in body
    assert r"\[Reset your password\]\(http://evil.example\)" in body
    assert "@everyone" not in body and "<@&1>" not in body and "**now**" not in body
    ticket = int(re.search(r"\[#(\d+)\]", announced.content).group(1))

    seed.redmine.issue.update(ticket, notes=f"see {EVIL}")
    shown = (await world.command("ticket show", ticket=ticket)).embeds[0]
    assert shown["title"].startswith(f"#{ticket} \\[Reset your password\\]")
    note = next(f for f in shown["fields"] if f["value"].startswith("see "))
    assert note["value"].startswith(r"see \[Reset your password\]\(http://evil.example\)")

    found = await world.command("ticket search", term=marker)
    assert r"\[Reset your password\]" in found.embeds[0]["description"]
    assert "[Reset your password](" not in found.embeds[0]["description"]
    changed = await world.command("ticket set", ticket=ticket, field="priority", value="High")
    assert "[Reset your password](" not in changed.content
    assert "@everyone" not in changed.content


# ------------------------------------------------------------------ 3. credentials
def with_credentials(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://netbot:s3cret-pass@{parts.netloc}{parts.path}"


async def test_links_in_discord_never_carry_credentials(
    ticket_bot: TicketBot, redmine: RedmineServer
) -> None:
    world = await ticket_bot(with_credentials(redmine.url))
    shown = await world.command("ticket show", ticket=1)
    listed = await world.command("ticket search", term="disk")
    changed = await world.command("ticket set", ticket=2, field="priority", value="Low")
    assert shown.embeds[0]["url"] == f"{redmine.url}/issues/1"
    assert f"]({redmine.url}/issues/1)" in listed.embeds[0]["description"]
    assert f"]({redmine.url}/issues/2)" in changed.content
    for text in (str(shown.embeds), str(listed.embeds), changed.content):
        assert "s3cret" not in text and "netbot:" not in text


async def test_public_url_setting_is_used_for_links(
    ticket_bot: TicketBot, redmine: RedmineServer
) -> None:
    world = await ticket_bot(
        with_credentials(redmine.url), tickets={"public_url": "https://tickets.example.org"}
    )
    shown = await world.command("ticket show", ticket=1)
    assert shown.embeds[0]["url"] == "https://tickets.example.org/issues/1"


# ------------------------------------------------------------------ 9. threads
def thread_ids(fake: FakeDiscord) -> set[str]:
    return {cid for cid, c in fake.channels.items() if "thread_metadata" in c}


async def test_archived_thread_is_reopened_not_duplicated(world: BotWorld, seed: Seed) -> None:
    fake = world.fake
    ticket = seed.new_ticket()
    first = await world.command("ticket thread", ticket=ticket)
    thread_id = re.search(r"<#(\d+)>", first.content).group(1)
    known = thread_ids(fake)

    # Discord archives an idle thread; py-cord drops archived threads from its cache.
    bot = world.cog("Tickets").bot
    updated = asyncio.ensure_future(
        bot.wait_for("raw_thread_update", check=lambda raw: raw.thread_id == int(thread_id))
    )
    fake.channels[thread_id]["thread_metadata"]["archived"] = True
    fake.dispatch("THREAD_UPDATE", fake.channels[thread_id])
    await asyncio.wait_for(updated, 10)
    assert bot.get_channel(int(thread_id)) is None

    again = await world.command("ticket thread", ticket=ticket)
    assert again.content.startswith(f"Ticket {ticket} already has a thread: <#{thread_id}>")
    assert thread_ids(fake) == known  # no second thread
    assert fake.channels[thread_id]["thread_metadata"]["archived"] is False
    assert threads.thread_for_ticket(world.database, ticket) == int(thread_id)


async def test_thread_is_not_left_behind_when_the_database_refuses(
    world: BotWorld, seed: Seed
) -> None:
    fake, db = world.fake, world.database
    ticket = seed.new_ticket()
    known = thread_ids(fake)

    def read_only(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA query_only=ON")

    event.listen(db.engine, "connect", read_only)
    db.engine.dispose()  # new connections: the database is now read-only
    try:
        refused = await world.command("ticket thread", ticket=ticket)
    finally:
        event.remove(db.engine, "connect", read_only)
        db.engine.dispose()
    assert refused.ephemeral
    assert refused.content.startswith("netbot's database did not save the thread")
    assert thread_ids(fake) == known
    fields = {cf.name: cf.value for cf in seed.redmine.issue.get(ticket).custom_fields}
    assert not fields["discord-thread"]

    retried = await world.command("ticket thread", ticket=ticket)
    assert retried.content.startswith(f"Thread for #{ticket}")
    assert len(thread_ids(fake) - known) == 1


# ------------------------------------------------------------------ 12. pager keys
async def test_search_pages_for_long_terms_with_colons(world: BotWorld, seed: Seed) -> None:
    term = f"rack:{uuid.uuid4().hex}:" + "k" * 60
    made = [seed.new_ticket(f"{term} {n}") for n in range(3)]
    first = await world.command("ticket search", term=term)
    assert first.embeds[0]["footer"]["text"].startswith("Page 1 of 2")
    previous, following = button(first, "Previous"), button(first, "Next")
    assert previous != following and len(following) <= 100

    await world.press(first, "Next")
    await world.fake.wait_until(
        lambda: first.embeds[0]["footer"]["text"].startswith("Page 2 of 2"), "page 2"
    )
    assert str(made[0]) in first.embeds[0]["description"]

    world.cog("Tickets").pages.clear()  # what a restart does to the pagers' state
    expired = await world.press(first, "Previous")
    assert expired.ephemeral
    assert expired.content.startswith("This list expired; run the command again.")


# ------------------------------------------------------------------ 13. long input in errors
async def test_error_replies_stay_short_whatever_was_typed(world: BotWorld, seed: Seed) -> None:
    ticket = seed.new_ticket()
    long = "z" * 1990
    for command, options in (
        ("ticket set", {"ticket": ticket, "field": "due_date", "value": long}),
        ("ticket set", {"ticket": ticket, "field": "status", "value": long}),
        ("ticket assign", {"ticket": ticket, "user": long}),
        ("ticket show", {"ticket": long}),
        ("ticket list", {"team": long}),
    ):
        reply = await world.command(command, **options)
        # Clipped where it is echoed (to 100 characters), not merely cut at Discord's limit.
        assert reply.ephemeral and len(reply.content) < 600, (command, len(reply.content))
        assert "z" * 99 + "…" in reply.content and "z" * 101 not in reply.content


async def test_several_ticket_numbers_are_refused(world: BotWorld) -> None:
    reply = await world.command("ticket note", ticket="12 34", text="hi")
    assert reply.ephemeral and "one ticket number" in reply.content
