"""The threader's text both ways, and its memory, tried with hostile input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netbot.core.db import Database
from netbot.threader import render, store
from netbot.threader.models import ORIGIN_DISCORD

FENCE = "```"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab ü🙂\nx"), max_size=6000), st.integers(20, 2000))
def test_split_keeps_every_word_and_every_limit(text: str, limit: int) -> None:
    parts = render.split_message(text, limit)
    assert all(len(part) <= limit for part in parts)
    words = [w for p in parts for w in p.split()]
    longest = max((len(w) for w in text.split()), default=0)
    if longest <= limit:  # nothing had to be cut: the very same words, in order
        assert words == text.split()
    else:
        assert "".join(words) == "".join(text.split())


def test_split_never_cuts_a_word_that_fits() -> None:
    text = ("supercalifragilistic " * 300).strip()
    parts = render.split_message(text, 500)
    for part in parts:
        assert part.split() and all(word == "supercalifragilistic" for word in part.split())


def test_split_a_word_longer_than_a_part_is_the_one_cut() -> None:
    parts = render.split_message("x" * 4500, 2000)
    assert [len(p) for p in parts] == [2000, 2000, 500]


def test_a_code_block_split_is_closed_and_reopened_with_its_language() -> None:
    code = "```sql\n" + "\n".join(f"SELECT {i};" for i in range(400)) + "\n```"
    parts = render.split_message(code, 1000)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("```sql\n") and part.endswith("```") and part.count(FENCE) == 2


def journal(notes: str, **extra: object) -> dict[str, object]:
    return {"id": 77, "notes": notes, "details": [], "private_notes": False, **extra}


def parts(entry: dict[str, object], **kwargs: object) -> list[str]:
    options: dict[str, object] = {"ticket_id": 12, "base_url": "https://rm.example",
                                  "names": render.Names(), "attachments": {},
                                  "include_private": False}  # fmt: skip
    options.update(kwargs)
    return render.journal_parts(entry, **options)  # type: ignore[arg-type]


def test_hostile_notes_are_defused_and_marked() -> None:
    [post] = parts(journal("@everyone <@123> <@&456> <#789> [Reset](http://evil.example)"))
    body, marker = post.rsplit("\n", 1)
    assert "@\u200beveryone" in body and "<@\u200b123>" in body and "<@\u200b&456>" in body
    assert marker == "-# [Redmine #12](https://rm.example/issues/12#change-77)"


def test_change_lines_escape_outside_values() -> None:
    names = render.Names(statuses={1: "New", 2: "*Bold* [x](y)"}, people={5: "@everyone"})
    details = [
        {"property": "attr", "name": "status_id", "old_value": "1", "new_value": "2"},
        {"property": "attr", "name": "assigned_to_id", "old_value": None, "new_value": "5"},
        {"property": "attr", "name": "subject", "old_value": "a", "new_value": "b"},
    ]
    lines = render.change_lines(details, names)
    assert lines == [
        "**Status**: New → \\*Bold\\* \\[x\\]\\(y\\)",
        "**Assignee**: (none) → @\u200beveryone",
    ]


def test_private_notes_keep_their_change_lines_only() -> None:
    entry = journal("secret", private_notes=True,
                    details=[{"property": "attr", "name": "due_date", "old_value": None,
                              "new_value": "2030-01-01"}])  # fmt: skip
    [post] = parts(entry)
    assert "secret" not in post and "Due date" in post
    assert parts(journal("secret", private_notes=True)) == []
    assert parts(journal("secret", private_notes=True), include_private=True)[0].startswith(
        "secret"
    )


def test_copies_of_discord_messages_are_never_posted_back() -> None:
    note = "hi\n\n" + render.message_marker(1, 2, 3)
    assert render.is_from_discord(note)
    assert parts(journal(note)) == []
    assert not render.is_from_discord(
        "see — [Discord message](https://evil.example/channels/1/2/3)"
    )


def test_discord_markup_becomes_readable_text() -> None:
    message = {
        "id": "30", "channel_id": "20",
        "content": "<@1> <@!2> <@&3> <#4> <:blob:55> <a:dance:66> <t:0:R> <t:99999999999999:R>",
        "mentions": [{"id": "1", "username": "ann", "global_name": "Ann A"},
                     {"id": "2", "username": "bo", "member": {"nick": "Bobby"}}],
    }  # fmt: skip
    note = render.note_text(message, guild_id=10, attribution=None, linked_files=[],
                            roles={3: "oncall"}, channels={4: "ops"})  # fmt: skip
    text, marker = note.split("\n\n")
    assert (
        text
        == "@Ann A @Bobby @oncall #ops :blob: :dance: 1970-01-01 00:00 UTC <t:99999999999999:R>"
    )
    assert marker == "— [Discord message](https://discord.com/channels/10/20/30)"


def test_an_empty_message_or_a_tombstone_is_never_an_empty_note() -> None:
    empty = render.note_text({"id": "3", "channel_id": "2", "content": ""}, guild_id=1,
                             attribution=None, linked_files=[], roles={}, channels={})  # fmt: skip
    assert empty.startswith("*(a message without text)*")
    assert render.tombstone_note(1, 2, 3).startswith("~~deleted in Discord~~")


def test_attribution_escapes_the_name() -> None:
    line = render.attribution_line("*evil*_[x](y)", "Redmine refused")
    assert line == "**\\*evil\\*\\_\\[x\\]\\(y\\)** on Discord (Redmine refused):"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Discord Fan", "Dscrd Fan"), ("clyde", "Clyd"), ("", "Redmine"), ("x" * 100, "x" * 80)],
)
def test_webhook_names_discord_accepts(name: str, expected: str) -> None:
    assert render.webhook_name(name) == expected


def test_a_claim_becomes_a_link_in_one_step(db: Database) -> None:
    store.enrol(db, 5, 50, 1, 2)
    claim = store.claim(db, 5, 50, "note", 500, "token")
    assert store.pending_count(db, 5) == 1
    link = store.Link(9, 500, 5, 50, ORIGIN_DISCORD, 0, "h", False)
    store.settle(db, claim.id, link, last_message_id=500)
    assert store.claims(db) == [] and store.links(db, 5) == [link]
    assert store.ticket(db, 5).last_message_id == 500  # type: ignore[union-attr]


def test_a_repeating_error_is_new_once(db: Database) -> None:
    store.enrol(db, 6, 60, 1, 2)
    assert store.failed(db, 6, "Redmine down") is True
    assert store.failed(db, 6, "Redmine down") is False
    assert store.failed(db, 6, "Discord down") is True
    store.synced(db, 6)
    state = store.ticket(db, 6)
    assert state is not None and state.last_error is None
    assert state.last_sync_at is not None and state.last_sync_at.tzinfo == dt.UTC


def test_moving_a_ticket_to_another_thread_starts_its_cursors_over(db: Database) -> None:
    store.enrol(db, 7, 70, 1, 2)
    store.set_ticket(db, 7, last_message_id=999, updated_on="2026-01-01T00:00:00Z")
    store.enrol(db, 7, 70, 1, 2)
    assert store.ticket(db, 7).last_message_id == 999  # type: ignore[union-attr]
    store.enrol(db, 7, 71, 1, 2)
    moved = store.ticket(db, 7)
    assert moved is not None and (moved.thread_id, moved.last_message_id) == (71, 0)
