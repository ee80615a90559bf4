"""An incident's whole life, from netbot.incidents' real service (the chat side recorded in
memory, as the incident domain tests do) through the Slack bridge's outbox and drainer to
the fake Slack: the headline posted once and edited on every change, the timeline as thread
replies (status changes also in the channel), a Slack channel of its own, created with the
incident's topic and archived on close; hostile titles and notes arrive escaped.
"""

from __future__ import annotations

from collections.abc import Callable

from fakes.slack import FakeSlack
from netbot.core.tasks import ManualClock
from netbot.incidents import DeclareRequest
from tests.incidents_domain_kit import GUILD, RecordingSpaces, make_service
from tests.slack_bridge_kit import Bridged, make, slack

__all__ = ["make", "slack"]  # the kit's fixtures, used here by name
LEAD = 31


async def test_an_incident_lifecycle_is_mirrored(make: Callable[..., Bridged]) -> None:
    bridged = make(broadcast_status=True, incident_channels={"enabled": True, "prefix": ""})
    headlines = bridged.slack.add_channel("incidents")
    bridged.settings["slack"]["routes"] = {"incidents": [headlines]}
    slack: FakeSlack = bridged.slack
    async with bridged.running():
        assert isinstance(bridged.clock, ManualClock)
        service = make_service(bridged.database, bridged.clock, RecordingSpaces(),
                               mirror=bridged.outbox)  # fmt: skip
        incident = await service.declare(DeclareRequest(
            "form-1", GUILD, LEAD, "Core router <!channel> down", summary="BGP flaps",
        ))  # fmt: skip
        await service.set_status(incident.id, LEAD, "identified")
        await service.note(incident.id, LEAD, "<@U0123> rebooted <https://x.example|it>")
        await service.set_status(incident.id, LEAD, "resolved")
        await service.close(incident.id, LEAD, "fixed by the vendor")
        await bridged.drained()
    [headline] = [m for m in slack.messages(headlines) if not m.is_reply]
    assert headline.edits  # posted once, then edited in place
    assert "&lt;!channel&gt;" in headline.text and "<!channel>" not in headline.text
    thread = slack.messages(headlines, thread_ts=headline.ts)[1:]
    assert len(thread) == len(await service.timeline(incident.id))
    broadcast = [m for m in thread if m.reply_broadcast]
    assert 2 <= len(broadcast) < len(thread)  # status changes only
    assert any("&lt;@U0123&gt;" in m.text for m in thread)
    assert all("<@U0123>" not in m.text and "<https://x" not in m.text for m in thread)
    [own] = [c for c in slack.channels.values() if c.id != headlines]
    assert own.name == own.name.lower() and len(own.name) <= 80 and own.archived
    assert own.topic and "<!channel>" not in own.topic
    assert [m.text for m in slack.messages(own.id)] == [m.text for m in thread][
        -len(slack.messages(own.id)) :
    ]
    assert {r.state for r in bridged.rows()} <= {"done", "skipped"}


async def test_a_reopened_incident_carries_on_in_the_headline_thread_only(
    make: Callable[..., Bridged],
) -> None:
    """Slack refuses to unarchive a channel with a bot token, so the incident's own channel
    stays archived after a reopen: its later entries go to the headline's thread, none is
    queued for the archived channel (where each would fail), and closing again does not
    archive twice."""
    bridged = make(incident_channels={"enabled": True, "prefix": ""})
    headlines = bridged.slack.add_channel("incidents")
    bridged.settings["slack"]["routes"] = {"incidents": [headlines]}
    slack: FakeSlack = bridged.slack
    async with bridged.running():
        service = make_service(bridged.database, bridged.clock, RecordingSpaces(),
                               mirror=bridged.outbox)  # fmt: skip
        incident = await service.declare(DeclareRequest("form-2", GUILD, LEAD, "Fibre cut"))
        await service.note(incident.id, LEAD, "splicing crew on the way")
        await service.close(incident.id, LEAD, "spliced")
        await bridged.drained()
        [own] = [c for c in slack.channels.values() if c.id != headlines]
        in_own_before = len(slack.messages(own.id))
        note = await service.note(incident.id, LEAD, "a late remark on the closed incident")
        await service.reopen(incident.id, LEAD, "the fibre flaps again at dusk")
        await service.note(incident.id, LEAD, "second splice under way")
        with bridged.database.session(write=True) as session:  # its Discord message deleted
            bridged.outbox.timeline_removed(session, incident.id, f"entry:{note.id}")
        await service.close(incident.id, LEAD, "replaced the whole span")
        await bridged.drained()
    assert own.archived and len(slack.calls_to("conversations.archive", own.id)) == 1
    assert len(slack.messages(own.id)) == in_own_before
    [headline] = [m for m in slack.messages(headlines) if not m.is_reply]
    thread = [m.text for m in slack.messages(headlines, thread_ts=headline.ts)[1:]]
    assert any("second splice under way" in text for text in thread)
    assert not any("a late remark" in text for text in thread)  # posted, then deleted
    assert any(text.startswith("Status: Closed →") for text in thread)
    assert {r.state for r in bridged.rows()} <= {"done", "skipped"}
    assert not [c for c in slack.calls if c.params.get("channel") == own.id and not c.ok]
