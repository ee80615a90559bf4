"""An incident run through the real py-cord bot on the fake Discord, mirrored by the Slack
bridge (cogs.incidents handed `netbot.slack.mirror`) through the outbox, the drainer's job and
slack_sdk into the fake Slack: the headline posted once then edited in place, the status
changes and notes as thread replies under it in order, a Slack channel of the incident's own
created then archived on close, and the hostile title escaped everywhere it shows.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fakes.slack import FakeSlack
from netbot.core.tasks import ManualClock
from tests.plugins.world import BotWorld, WorldFactory
from tests.slack_bridge_kit import slack
from tests.test_incidents_bot import OFF, Place, declare, place, service, space_of

__all__ = ["place", "slack"]  # the shared fixtures, used here by name
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOSTILE = "<!channel> @everyone <https://evil.example|ok> core_router *down* in the AMS-1 data hall"
NOTE = "<@U0123> rebooted <https://x.example|it>"


async def bridged_world(
    world_factory: WorldFactory, place: Place, slack: FakeSlack, headlines: str
) -> BotWorld:
    """Incidents and the Slack bridge on: headlines routed to `headlines`, a channel each."""
    config: dict[str, Any] = place.config()
    config["cogs"] = {**OFF, "slack": True}
    config["slack"] = {
        "base_url": slack.base_url,
        "routes": {"incidents": [headlines]},
        "incident_channels": {"enabled": True},
        "pace_seconds": 0,
        "retry": {"client_retries": 0},
    }
    return await world_factory(
        config=config, secrets={"SLACK_BOT_TOKEN": slack.token}, clock=ManualClock(START)
    )


async def drained(world: BotWorld) -> None:
    """No outbox row left pending (waits on the drainer's progress, never sleeps)."""
    await world.cog("Slack").bridge.drainer.drained(10)


def status_of(blocks: Any) -> str:
    """The Status field of a headline's blocks (the message text is only its title)."""
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    [status] = [f.split("\n", 1)[1] for f in fields if f.startswith("*Status*")]
    return str(status)


def top_level_posts(slack: FakeSlack, channel: str) -> list[Any]:
    """chat.postMessage calls Slack accepted in `channel` outside any thread."""
    return [
        c
        for c in slack.calls_to("chat.postMessage", channel)
        if c.ok and not c.params.get("thread_ts")
    ]


async def test_an_incident_lifecycle_in_the_bot_is_mirrored_to_slack(
    world_factory: WorldFactory, place: Place, slack: FakeSlack
) -> None:
    fake = place.fake
    bob = fake.add_member(fake.guild, fake.add_user("bob"))
    headlines = slack.add_channel("incidents")
    world = await bridged_world(world_factory, place, slack, headlines)
    _, answer = await declare(world, HOSTILE, severity="critical", lead=bob)
    number = int(answer.content.split("#")[1].split()[0])
    space = space_of(fake, answer)
    await drained(world)
    [declared] = [m for m in slack.messages(headlines) if not m.is_reply]
    assert not declared.edits and len(top_level_posts(slack, headlines)) == 1
    [own] = [c for c in slack.channels.values() if c.id != headlines]
    assert not own.archived and len(slack.calls_to("conversations.create")) == 1
    # Each step mirrored before the next (the drainer folds edits still queued into one).
    await world.command("incident status", status="identified", where=space, by=bob)
    await drained(world)
    await world.command("incident note", text=NOTE, where=space, by=bob)
    await drained(world)
    await world.command("incident status", status="resolved", where=space, by=bob)
    await drained(world)
    await world.command("incident close", resolution="Replaced the line card", where=space)
    await drained(world)
    timeline = await service(world).timeline(number)

    # The headline: posted once, then edited in place, one update per change of status.
    [headline] = [m for m in slack.messages(headlines) if not m.is_reply]
    [first] = top_level_posts(slack, headlines)
    assert headline.ts == declared.ts and status_of(first.params["blocks"]) == "Investigating"
    updates = [c for c in slack.calls_to("chat.update", headlines) if c.ok]
    assert all(c.params["ts"] == headline.ts for c in updates)
    assert [status_of(c.params["blocks"]) for c in updates] == ["Identified", "Resolved", "Closed"]
    assert status_of(headline.blocks) == "Closed" and len(headline.edits) == len(updates)
    # The timeline: thread replies under the headline, one per entry, in the timeline's order.
    thread = slack.messages(headlines, thread_ts=headline.ts)[1:]
    assert all(m.thread_ts == headline.ts and not m.reply_broadcast for m in thread)
    assert len(thread) == len(timeline)
    assert [m.text.split(" by ")[0].split(":")[0] for m in thread] == [
        "Declared", "Status", "Note", "Status", "Status"
    ]  # fmt: skip
    statuses = [m.text.split(" by ")[0] for m in thread if m.text.startswith("Status:")]
    assert statuses == [
        "Status: Investigating → Identified",
        "Status: Identified → Resolved",
        "Status: Resolved → Closed",
    ]
    # Its own channel: a Slack name (clipped: the Discord name is longer), the entries from
    # its creation on (the declaration came before it), archived after the last of them.
    own = slack.channels[own.id]
    assert (
        re.fullmatch(r"[a-z0-9_-]{1,80}", own.name)
        and own.name.startswith("inc-")
        and not own.name.startswith("inc-inc-")
    )
    assert len("inc-" + space["name"]) > 80
    assert [m.text for m in slack.messages(own.id)] == [m.text for m in thread][1:]
    [archive] = slack.calls_to("conversations.archive", own.id)
    assert archive.ok and own.archived
    assert slack.calls.index(archive) > slack.calls.index(
        slack.calls_to("chat.postMessage", own.id)[-1]
    )
    # Hostile text arrives escaped: nothing pings, no link disguised as another.
    shown = [headline.text, str(headline.blocks), *headline.edits, own.topic]
    shown += [m.text for m in thread] + [str(m.blocks) for m in thread]
    for text in shown:
        assert "<!channel>" not in text and "<!everyone>" not in text, text
        assert "@everyone" not in text, text
        assert "<@U0123>" not in text and "<https://" not in text, text
    assert "&lt;!channel&gt;" in headline.text and "&lt;!channel" in own.topic
    # Slack's own escaping only: Discord's Markdown escapes would show as stray backslashes
    assert "core_router *down*" in own.topic and "\\" not in own.topic, own.topic
    assert any("&lt;@U0123&gt;" in m.text for m in thread)
