"""The bot's side of the threader: `/ticket thread` puts a "Sync status" button on the
ticket card, and `/ticket sync N` and the button show what the threader recorded."""

from __future__ import annotations

import re

import pytest

from netbot import identity
from netbot.threader import store
from tests.plugins.redmine_server import RedmineServer
from tests.plugins.world import WorldFactory
from tests.test_tickets_bot import tickets_ready

pytestmark = pytest.mark.redmine


async def test_sync_status_by_command_and_by_button(
    world_factory: WorldFactory, redmine: RedmineServer
) -> None:
    world = await world_factory(
        secrets={"REDMINE_URL": redmine.url, "REDMINE_TOKEN": redmine.admin_key}, start=False
    )
    identity.set_link(world.database, int(world.fake.user["id"]), "alice", 1)
    await tickets_ready(world)  # the key checked and the catalog loaded, as the tests need
    fake = world.fake
    ticket = redmine.issue_id("VPN flapping")

    before = await world.command("ticket sync", ticket=ticket)
    assert before.ephemeral and f"Ticket #{ticket} is not synced yet" in before.content

    reply = await world.command("ticket thread", ticket=ticket, within=20)
    thread_id = int(re.search(r"<#(\d+)>", reply.content).group(1))
    card = await fake.wait_for_message(str(thread_id))
    store.enrol(world.database, ticket, thread_id, int(fake.guild["id"]), int(fake.channel["id"]))
    store.synced(world.database, ticket)
    store.claim(world.database, ticket, thread_id, "note", 5, "— [Discord message](x)")
    store.failed(world.database, ticket, "Redmine answered 500 for @everyone")

    status = await world.command("ticket sync", ticket=ticket)
    assert f"Ticket #{ticket} syncs with <#{thread_id}>." in status.content
    assert "Pending: 1 write(s)" in status.content
    assert "Last error" in status.content and "@\u200beveryone" in status.content

    pressed = await world.press(card, "Sync status")
    assert pressed.ephemeral and pressed.content == status.content
