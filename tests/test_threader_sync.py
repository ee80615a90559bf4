"""The threader against the real Redmine and the fake Discord: both directions, exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import Any

import pytest

from netbot import identity
from netbot.core.db import Database
from netbot.core.models import utcnow
from tests.plugins.redmine_server import RedmineServer
from tests.threader_kit import ThreaderWorld, proxied_world, threader_for, threader_world

pytestmark = [pytest.mark.redmine]


async def test_notes_and_messages_cross_once_each_way(db: Database, redmine: RedmineServer) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        ticket, thread = world.linked_ticket()
        world.note(ticket, "First note from Redmine", as_login="alice")
        fake.user_message(thread, fake.user, "Hello from Discord")

        report = await world.cycle()

        assert report.failed == []
        posts = world.posts(thread)
        assert len(posts) == 1 and posts[0].startswith("First note from Redmine\n-# [Redmine #")
        webhook_message = next(m for m in fake.messages_in(thread) if m.payload.get("webhook_id"))
        assert webhook_message.payload["author"]["username"] == "Alice Anders"
        notes = [j for j in world.journals(ticket) if "Hello from Discord" in (j["notes"] or "")]
        assert len(notes) == 1 and notes[0]["user"]["name"] == "Alice Anders"
        assert "https://discord.com/channels/" in notes[0]["notes"]

        again = await world.cycle()
        assert again.posted == 0 and again.noted == 0
        assert len(world.posts(thread)) == 1
        assert sum("Hello from Discord" in n for n in world.notes(ticket)) == 1


def webhook_payloads(world: ThreaderWorld, thread: dict[str, Any]) -> list[dict[str, Any]]:
    return [m.payload for m in world.fake.messages_in(thread) if m.payload.get("webhook_id")]


async def test_long_unicode_and_code_notes_are_split_never_cut(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        ticket, thread = world.enrolled_ticket()
        words = " ".join(f"wörd{i}🙂" for i in range(700))
        code = "```python\n" + "\n".join(f"x_{i} = '{i}'" for i in range(250)) + "\n```"
        world.note(ticket, words)
        world.note(ticket, code)

        await world.cycle()

        posts = world.posts(thread)
        assert all(len(p) <= 2000 for p in posts)
        assert len(posts) >= 4
        text_parts = [p.rsplit("\n", 1)[0] for p in posts if "wörd" in p]
        joined = " ".join(text_parts).split()
        assert joined == words.split()  # every word whole, in order
        code_parts = [p.rsplit("\n", 1)[0] for p in posts if "x_" in p]
        assert len(code_parts) >= 2
        for part in code_parts:  # each part is a closed code block
            assert part.startswith("```python") and part.endswith("```")
        lines = [ln for p in code_parts for ln in p.split("\n") if ln.startswith("x_")]
        assert lines == [f"x_{i} = '{i}'" for i in range(250)]
        assert [
            p.rsplit("\n", 1)[1].endswith(f"{i + 1}/{len(text_parts)}")
            for i, p in enumerate(x for x in posts if "wörd" in x)
        ] == [True] * len(text_parts)


async def test_mentions_never_ping_either_way(db: Database, redmine: RedmineServer) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        ticket, thread = world.enrolled_ticket()
        role = fake.add_role(fake.guild, "oncall")
        bob = fake.add_member(fake.guild, fake.add_user("bobby"))
        world.note(ticket, f"@everyone @here <@{bob['id']}> <@&{role['id']}> look")
        smile = fake.emoji("partyparrot")
        fake.user_message(thread, fake.user, f"ping <@{bob['id']}> and <@&{role['id']}> {smile}")

        await world.cycle()

        [post] = webhook_payloads(world, thread)
        assert post["mention_everyone"] is False and post["mentions"] == []
        assert post["mention_roles"] == []
        assert "@\u200beveryone" in post["content"]
        [note] = [n for n in world.notes(ticket) if n.startswith("**alice")]
        assert "ping @bobby and @oncall :partyparrot:" in note
        assert "(not linked to a Redmine account)" in note


async def test_discord_edits_and_deletes_reach_the_notes(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine, recheck_every_cycles=3) as world:
        fake = world.fake
        ticket, thread = world.linked_ticket()
        first = fake.user_message(thread, fake.user, "typo hree")
        second = fake.user_message(thread, fake.user, "to be deleted")
        await world.cycle()
        fake.user_edit(first, "typo here")
        fake.user_delete(second)

        quiet = await world.cycle()  # neither moves last_message_id: an idle cycle
        assert quiet.edited == 0
        report = await world.cycle()  # the third: a full recheck

        assert report.edited == 2
        notes = world.notes(ticket)
        assert any(n.startswith("typo here\n\n— [Discord message]") for n in notes)
        assert not any("typo hree" in n for n in notes)
        tomb = [n for n in notes if n.startswith("~~deleted in Discord~~")]
        assert len(tomb) == 1 and str(second.payload["id"]) in tomb[0]
        edited = next(
            j for j in world.journals(ticket) if (j["notes"] or "").startswith("typo here")
        )
        assert edited["user"]["name"] == "Alice Anders"
        assert (await world.cycle(recheck=True)).edited == 0  # nothing twice


async def test_redmine_note_edits_and_deletes_reach_the_thread(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        ticket, thread = world.enrolled_ticket()
        world.note(ticket, "Version one")
        world.note(ticket, "Doomed note")
        await world.cycle()
        one, doomed = [j for j in world.journals(ticket) if j["notes"]]
        world.admin.rest("put", f"/journals/{one['id']}.json", what="edit",
                         body={"journal": {"notes": "Version two"}})  # fmt: skip
        world.admin.rest("put", f"/journals/{doomed['id']}.json", what="delete",
                         body={"journal": {"notes": ""}})  # fmt: skip

        report = await world.cycle(recheck=True)

        assert report.edited == 2
        posts = world.posts(thread)
        assert posts[0].startswith("Version two\n-# [Redmine #")
        assert posts[1].startswith("~~note deleted in Redmine~~")


async def test_people_redmine_refuses_fall_back_to_the_bot_with_a_reason(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        carol = fake.add_member(fake.guild, fake.add_user("carol-d"))
        dave = fake.add_member(fake.guild, fake.add_user("dave-d"))
        identity.set_link(db, int(carol["id"]), "carol", 1)  # not a project member: 403
        identity.set_link(db, int(dave["id"]), "dave", 1)  # locked: 412
        ticket, thread = world.enrolled_ticket()
        fake.user_message(thread, carol, "from carol")
        fake.user_message(thread, dave, "from dave")

        report = await world.cycle()

        assert report.failed == [] and report.noted == 2
        journals = {j["notes"].split("\n\n")[1]: j for j in world.journals(ticket) if j["notes"]}
        assert journals["from carol"]["user"]["name"] == "Redmine Admin"
        assert journals["from carol"]["notes"].startswith(
            "**carol\\-d** on Discord (Redmine does not allow carol"
        )
        assert journals["from dave"]["notes"].startswith(
            "**dave\\-d** on Discord (Redmine refused to act as 'dave'"
        )


async def test_private_notes_stay_private_unless_the_thread_is_staff_only(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        staff = fake.add_channel(fake.guild, "staff")
        world.configure(staff_only_channels=[int(staff["id"])])
        public_ticket, staff_ticket = world.new_ticket(), world.new_ticket()
        public_thread = world.enrol(public_ticket)
        staff_thread = world.enrol(staff_ticket, staff)
        for ticket in (public_ticket, staff_ticket):
            world.note(ticket, "secret root password hint", private_notes=True)
            world.note(ticket, "public words")

        await world.cycle()

        assert [p.split("\n")[0] for p in world.posts(public_thread)] == ["public words"]
        assert [p.split("\n")[0] for p in world.posts(staff_thread)] == [
            "secret root password hint",
            "public words",
        ]


async def test_status_changes_closing_and_reopening(db: Database, redmine: RedmineServer) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        statuses = redmine.info["statuses"]
        ticket, thread = world.enrolled_ticket()
        await world.cycle()
        world.note(ticket, "", status_id=statuses["In Progress"], assigned_to_id=redmine.user_id("alice"),
                   priority_id=redmine.info["priorities"]["High"], due_date="2030-01-31")  # fmt: skip
        world.note(ticket, "Done.", status_id=statuses["Closed"])
        await world.cycle()

        posts = world.posts(thread)
        assert "**Status**: New → In Progress" in posts[0]
        assert "**Assignee**: (none) → Alice Anders" in posts[0]
        assert "**Priority**: Normal → High" in posts[0]
        assert "**Due date**: (none) → 2030\\-01\\-31" in posts[0]
        assert fake.channels[thread["id"]]["thread_metadata"]["archived"] is True

        fake.user_message(thread, fake.user, "still broken")  # unarchives, still synced
        fake.archive_thread(thread)
        await world.cycle()
        assert any(n.endswith(")") and "still broken" in n for n in world.notes(ticket))

        world.note(ticket, "Reopened", status_id=statuses["New"])
        fake.archive_thread(thread)
        await world.cycle()
        assert fake.channels[thread["id"]]["thread_metadata"]["archived"] is False
        assert world.posts(thread)[-1].startswith("Reopened\n**Status**: Closed → New")

        await world.cycle()  # active again: its next archiving is noticed too
        fake.user_message(thread, fake.user, "second wind")
        fake.archive_thread(thread)
        await world.cycle()
        assert sum("second wind" in n for n in world.notes(ticket)) == 1


async def test_a_note_reaches_a_thread_a_moderator_locked_and_archived(
    db: Database, redmine: RedmineServer
) -> None:
    """A post does not unarchive a locked thread (50083); the threader, with Manage Threads,
    unarchives it and posts, once, and the lock stays."""
    async with threader_world(db, redmine) as world:
        fake = world.fake
        ticket, thread = world.enrolled_ticket()
        await world.cycle()
        fake.archive_thread(thread, locked=True)
        world.note(ticket, "Vendor replaced the line card.")
        report = await world.cycle()
        assert report.failed == []
        assert sum("Vendor replaced the line card." in p for p in world.posts(thread)) == 1
        metadata = fake.channels[thread["id"]]["thread_metadata"]
        assert metadata["locked"] is True and metadata["archived"] is False

        world.note(ticket, "Closing.", status_id=redmine.info["statuses"]["Closed"])
        fake.archive_thread(thread, locked=True)
        report = await world.cycle()
        assert report.failed == [] and world.posts(thread)[-1].startswith("Closing.")
        assert metadata["locked"] is True and metadata["archived"] is True  # closed: archived


async def test_attachments_both_ways_and_a_file_over_the_limit_is_linked(
    db: Database, redmine: RedmineServer
) -> None:
    mib = 1024 * 1024
    async with threader_world(db, redmine, max_upload_bytes=6 * mib) as world:
        fake = world.fake
        ticket, thread = world.linked_ticket()
        big = b"x" * (5 * mib + 1)  # one byte over Redmine's default attachment_max_size: 422
        giant = b"y" * (6 * mib + 1)  # over max_upload_bytes: never downloaded
        fake.user_message(thread, fake.user, "logs", attachments=[
            ("small.txt", b"hello file", "text/plain"), ("huge.bin", big, "application/octet-stream"),
            ("giant.bin", giant, "application/octet-stream"),
        ])  # fmt: skip
        token = world.admin.api().upload(io.BytesIO(b"\x89PNG fake"), filename="shot.png")
        world.note(ticket, "see picture", uploads=[{"token": token["token"], "filename": "shot.png",
                                                   "content_type": "image/png"}])  # fmt: skip

        report = await world.cycle()

        assert report.failed == []
        issue = world.issue(ticket)
        names = {a["filename"]: a for a in issue["attachments"]}
        assert names["small.txt"]["filesize"] == len(b"hello file")
        assert "huge.bin" not in names
        [note] = [n for n in world.notes(ticket) if n.startswith("logs")]
        assert "📎 [huge.bin](http://127.0.0.1:" in note and "linked, not copied" in note
        assert "📎 [giant.bin](http://127.0.0.1:" in note and "giant.bin" not in names
        assert fake.hits["GET cdn"] == 2  # small and huge: giant was linked unread
        [post] = world.posts(thread)
        assert "📎 shot.png (1 KB): http" in post and "/attachments/download/" in post


async def test_a_failing_ticket_does_not_block_the_others(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        good, bad = world.new_ticket(), world.new_ticket()
        good_thread, bad_thread = world.enrol(good), world.enrol(bad)
        await world.cycle()
        del fake.channels[bad_thread["id"]]  # deleted in Discord
        world.note(bad, "lost")
        world.note(good, "kept")

        report = await world.cycle()

        assert world.posts(good_thread)[-1].startswith("kept")
        assert bad in report.failed
        from netbot.threader import sync_status

        status = sync_status(db, bad)
        assert status.last_error and str(bad_thread["id"]) in status.last_error


async def test_an_idle_cycle_costs_one_request_each_way(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        for _ in range(5):
            world.enrol(world.new_ticket())
        await world.cycle()
        await world.cycle()  # the same-second re-read settles
        world.threader.clock = lambda: utcnow() + dt.timedelta(seconds=5)  # a later cycle
        await world.cycle()
        world.fake.reset_hits()

        report = await world.cycle()

        assert report.tickets == 0
        assert (report.redmine_requests, report.discord_requests) == (1, 1)
        assert sum(world.fake.reset_hits().values()) == 1


async def test_rate_limits_are_waited_out(db: Database, redmine: RedmineServer) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        ticket, thread = world.enrolled_ticket()
        for i in range(3):
            world.note(ticket, f"note {i}")
        fake.rate_limit(None, 2, 0.05, global_=True)
        fake.rate_limit("/webhooks/{webhook_id}/{webhook_token}", 3, 0.05)

        report = await world.cycle()

        assert report.failed == []
        assert [p.split("\n")[0] for p in world.posts(thread)] == ["note 0", "note 1", "note 2"]
        assert fake.early_retries == []


async def test_claims_left_by_a_crash_are_resolved_from_the_remote_side(
    db: Database, redmine: RedmineServer
) -> None:
    """A crash between a remote write and its local record leaves a claim: the next run
    finds the write by its marker (landed: recorded, not repeated) or does not (made once)."""
    from netbot.threader import render, store

    async with threader_world(db, redmine) as world:
        fake = world.fake
        ticket, thread = world.enrolled_ticket()
        await world.cycle()
        guild, thread_id = int(fake.guild["id"]), int(thread["id"])
        landed = fake.user_message(thread, fake.user, "landed before the crash")
        lost = fake.user_message(thread, fake.user, "never reached Redmine")
        for message in (landed, lost):
            marker = render.message_marker(guild, thread_id, int(message.payload["id"]))
            store.claim(db, ticket, thread_id, "note", int(message.payload["id"]), marker,
                        source_hash=render.message_hash(message.payload))  # fmt: skip
        world.note(ticket, "landed before the crash\n\n" + render.message_marker(
            guild, thread_id, int(landed.payload["id"])))  # fmt: skip
        world.note(ticket, "a journal posted before the crash")
        [journal] = [
            j for j in world.journals(ticket) if j["notes"] == "a journal posted before the crash"
        ]
        hook = await world.threader.discord.webhook_for(int(thread["parent_id"]), "netbot threader")
        [content] = render.journal_parts(journal, ticket_id=ticket, base_url=world.threader.link_url,
                                         names=render.Names(), attachments={}, include_private=False)  # fmt: skip
        store.claim(db, ticket, thread_id, "post", int(journal["id"]), content.rsplit("\n", 1)[1],
                    after_id=0, source_hash=render.digest(journal["notes"], False))  # fmt: skip
        await world.threader.discord.execute_webhook(hook, thread_id, content, "Redmine Admin")

        await world.cycle()
        await world.cycle()

        notes = world.notes(ticket)
        assert sum("landed before the crash" in n for n in notes) == 1
        assert sum("never reached Redmine" in n for n in notes) == 1
        assert sum("a journal posted before the crash" in p for p in world.posts(thread)) == 1
        assert store.claims(db) == []


async def test_a_young_claim_makes_its_ticket_wait(db: Database, redmine: RedmineServer) -> None:
    from netbot.threader import store

    async with threader_world(db, redmine, claim_settle_seconds=3600) as world:
        ticket, thread = world.enrolled_ticket()
        await world.cycle()
        store.claim(db, ticket, int(thread["id"]), "note", 1, "— [Discord message](x)")
        world.note(ticket, "waits")

        report = await world.cycle()

        assert report.backlog >= 1 and world.posts(thread) == []


async def test_the_create_value_opens_the_thread_in_the_trackers_channel(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        fake = world.fake
        bugs = fake.add_channel(fake.guild, "bugs")
        world.configure(tracker_channels={"Bug": int(bugs["id"])})
        ticket = world.new_ticket("needs a thread", tracker_id=redmine.info["trackers"]["Bug"])
        world.set_field(ticket, "create")
        world.note(ticket, "first words")

        await world.cycle()
        await world.cycle()

        threads = [c for c in fake.channels.values() if c.get("parent_id") == bugs["id"]]
        assert len(threads) == 1 and threads[0]["name"].startswith(f"#{ticket} needs a thread")
        field = next(f for f in world.issue(ticket)["custom_fields"] if f["id"] == world.field_id)
        assert field["value"] == threads[0]["id"]
        assert [p.split("\n")[0] for p in world.posts(threads[0])] == ["first words"]


async def test_two_threaders_never_sync_at_once(db: Database, redmine: RedmineServer) -> None:
    from netbot.threader.lock import SyncLocks

    first, second = SyncLocks(db), SyncLocks(db)
    try:
        if first.postgres:
            assert await first.ticket(424242) is True
            assert await second.ticket(424242) is False
            await first.release(424242)
            assert await second.ticket(424242) is True
            await second.release(424242)
        else:
            assert await first.cycle() is True
            assert await second.cycle() is False
            await first.end_cycle()
            assert await second.cycle() is True
            await second.end_cycle()
    finally:
        first.close()
        second.close()


async def test_a_note_whose_answer_was_lost_is_written_exactly_once(
    db: Database, redmine: RedmineServer
) -> None:
    """Redmine saves the note but the answer never arrives (a timeout): the claim stays,
    and the next cycle finds the note by its marker instead of writing it again."""
    async with proxied_world(db, redmine, request_timeout_seconds=1) as (proxy, world):
        fake = world.fake
        ticket, thread = world.linked_ticket()
        await world.cycle()
        fake.user_message(thread, fake.user, "said once")
        proxy.delay(3, method="PUT", path=rf"/issues/{ticket}\.json", times=1, after=True)

        lost = await world.cycle()
        assert lost.failed == [ticket]
        await asyncio.to_thread(proxy.wait_for_outcome, "forwarded", 10)
        again = await world.cycle()

        assert again.failed == [] and again.noted == 0
        assert sum("said once" in n for n in world.notes(ticket)) == 1


async def test_where_redmine_cannot_edit_notes_an_edit_is_a_marked_follow_up(
    db: Database, redmine: RedmineServer
) -> None:
    async with proxied_world(db, redmine) as (proxy, world):
        fake = world.fake
        ticket, thread = world.linked_ticket()
        message = fake.user_message(thread, fake.user, "first words")
        await world.cycle()
        proxy.fail(404, method="PUT", path=r"/journals/\d+\.json")  # Redmine before 5.0
        fake.user_edit(message, "second words")

        await world.cycle(recheck=True)
        await world.cycle(recheck=True)

        notes = world.notes(ticket)
        assert notes[0].startswith("first words")
        assert notes[1].startswith("second words") and notes[1].endswith("(edit 1)")
        assert len(notes) == 2


async def test_a_long_note_edited_short_keeps_one_message(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        ticket, thread = world.enrolled_ticket()
        world.note(ticket, "long " * 1000)
        await world.cycle()
        assert len(world.posts(thread)) == 3
        [journal] = [j for j in world.journals(ticket) if j["notes"]]
        world.admin.rest("put", f"/journals/{journal['id']}.json", what="edit",
                         body={"journal": {"notes": "short now"}})  # fmt: skip

        await world.cycle(recheck=True)

        [post] = world.posts(thread)
        assert post.startswith("short now\n-# [Redmine #")
        assert (await world.cycle(recheck=True)).edited == 0


async def test_server_errors_are_retried_and_named_when_they_last(
    db: Database, redmine: RedmineServer
) -> None:
    async with proxied_world(db, redmine) as (proxy, world):
        fake = world.fake
        ticket, thread = world.linked_ticket()
        await world.cycle()
        blip = fake.user_message(thread, fake.user, "through a blip")
        proxy.fail(500, method="PUT", path=rf"/issues/{ticket}\.json", times=2)
        assert (await world.cycle()).failed == []
        assert sum("through a blip" in n for n in world.notes(ticket)) == 1

        fake.user_message(thread, fake.user, "through an outage")
        proxy.fail(503, method="PUT", path=rf"/issues/{ticket}\.json", times=3)
        report = await world.cycle()

        assert report.failed == [ticket]
        from netbot.threader import sync_status

        error = sync_status(db, ticket).last_error or ""
        assert error.startswith("message ") and "HTTP 503" in error
        assert str(blip.payload["id"]) not in error
        assert (await world.cycle()).failed == []  # the outage is over: synced, once
        assert sum("through an outage" in n for n in world.notes(ticket)) == 1


async def test_a_thread_archived_by_closing_is_reopened_with_its_ticket(
    db: Database, redmine: RedmineServer
) -> None:
    async with threader_world(db, redmine) as world:
        statuses = redmine.info["statuses"]
        ticket, thread = world.enrolled_ticket()
        world.note(ticket, "closing", status_id=statuses["Closed"])
        await world.cycle()
        assert world.fake.channels[thread["id"]]["thread_metadata"]["archived"] is True
        await world.cycle()  # it left the active list
        world.note(ticket, "", status_id=statuses["Feedback"])

        report = await world.cycle()

        assert report.failed == []
        assert world.fake.channels[thread["id"]]["thread_metadata"]["archived"] is False
        assert world.posts(thread)[-1].startswith("**Status**: Closed → Feedback")


async def test_a_guild_the_bot_is_not_in_does_not_stop_the_cycle(
    db: Database, redmine: RedmineServer
) -> None:
    from netbot.threader import store

    async with threader_world(db, redmine) as world:
        ticket, thread = world.enrolled_ticket()
        store.enrol(db, 999_999, 12345, 777, 888)  # a thread in a guild it cannot see
        world.note(ticket, "still flows")

        report = await world.cycle()

        assert report.failed == [999_999]
        assert world.posts(thread)[0].startswith("still flows")


async def test_bots_other_webhooks_and_system_messages_are_never_copied(
    db: Database, redmine: RedmineServer
) -> None:
    from netbot.core.secrets import Secret
    from netbot.threader.discord_rest import Webhook

    async with threader_world(db, redmine) as world:
        fake = world.fake
        ticket, thread = world.enrolled_ticket()
        other_bot = fake.add_member(fake.guild, fake.add_user("ci-bot", bot=True))
        fake.user_message(thread, other_bot, "build passed")
        hook = fake.add_webhook(fake.channel, "alerts")
        await world.threader.discord.execute_webhook(
            Webhook(int(hook["id"]), Secret(hook["token"])), int(thread["id"]), "from a hook", "x"
        )
        fake.user_message(thread, fake.user, "a person")
        # A person's text that looks like the threader's marker is still a person's message.
        fake.user_message(thread, fake.user, "-# [Redmine #1](http://x/issues/1#change-2)")

        report = await world.cycle()

        assert report.noted == 2
        notes = world.notes(ticket)
        assert len(notes) == 2 and all(n.startswith("**alice** on Discord") for n in notes)


async def test_two_threaders_at_once_copy_everything_exactly_once(
    db: Database, redmine: RedmineServer
) -> None:
    """Two processes' worth of threaders on one database (PostgreSQL: both sync, ticket by
    ticket under advisory locks; SQLite: one runs the cycle, the other skips it)."""
    async with threader_world(db, redmine) as world:
        fake = world.fake
        second = threader_for(fake, db, redmine, claim_settle_seconds=0)
        try:
            enrolled = [world.linked_ticket() for _ in range(4)]
            for ticket, thread in enrolled:
                world.note(ticket, f"note for {ticket}")
                fake.user_message(thread, fake.user, f"message for {ticket}")

            for _ in range(2):
                reports = await asyncio.gather(world.threader.cycle(), second.cycle())
                assert all(report.failed == [] for report in reports)

            for ticket, thread in enrolled:
                assert sum(f"message for {ticket}" in n for n in world.notes(ticket)) == 1
                posts = world.posts(thread)
                assert sum(p.startswith(f"note for {ticket}\n") for p in posts) == 1
        finally:
            await second.discord.close()
            second.locks.close()
