"""tickets.py must not let Redmine text drive the operator's terminal, and must refuse absurd input.

Subjects, notes and names come from whoever can write to Redmine. Printed raw, an escape
sequence in them could recolour or clear the screen, retitle the window, write the clipboard
(OSC 52), overwrite what the operator just read (bare CR, backspace) or reorder a line (BiDi
overrides). Human output shows such characters as visible `\\uXXXX` escapes; `--json` keeps the
exact text (as JSON escapes). Numbers and dates the CLI cannot use are usage errors (exit 2)
before Redmine is asked anything. Same harness as test_tickets_cli: a subprocess against the
real, seeded Redmine.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from redminelib import Redmine

from tests import test_tickets_cli as harness
from tests.test_tickets_cli import run_cli, unique

api, cli, ticket = harness.api, harness.cli, harness.ticket  # the same fixtures, shared

ESC, BEL = "\x1b", "\x07"
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def hostile(word: str) -> str:
    """A subject carrying every kind of terminal control the CLI must neutralise."""
    return (
        f"Disk {ESC}[31mRED{ESC}[0m {ESC}]0;pwned title{BEL} "
        f"{ESC}]52;c;cm0gLXJmIH4K{BEL} \x9b2J C1 real\rFAKE back\x08\x08 "
        f"\u202eevil\u202c tab\there {word}"
    )


def assert_terminal_safe(text: str) -> None:
    """No control character but newline, no C1, no BiDi override reaches the terminal."""
    bad = [
        f"U+{ord(c):04X}"
        for c in text
        if (unicodedata.category(c) == "Cc" and c != "\n") or c in BIDI or c in "\u2028\u2029"
    ]
    assert bad == [], (bad, text)


# ---------------------------------------------------------------- item 4: terminal escapes
def test_hostile_subject_and_note_are_shown_harmless_and_json_stays_exact(
    cli: Any, ticket: Any, api: Redmine
) -> None:
    word = unique()
    subject = hostile(word)
    note = f"first line {ESC}[2J\r\nsecond \u2066line\u2069 {ESC}]0;x{BEL} end"
    n = ticket(subject)
    api.issue.update(n, notes=note)
    stored = api.issue.get(n, include=["journals"])
    assert stored.subject == subject  # Redmine keeps the text as sent: the attack is real
    stored_note = list(stored.journals)[-1].notes

    shown = cli(n)
    assert shown.code == 0, shown.err
    assert_terminal_safe(shown.out)
    lines = shown.out.splitlines()
    assert lines[0].startswith(f"#{n} Disk ") and lines[0].endswith(f" tab here {word}")
    for visible in ("RED", "pwned title", "C1 real", "FAKE back", "evil"):
        assert visible in lines[0], (visible, lines[0])
    assert "\\u001b[31mRED" in lines[0]  # shown, as a visible escape, not obeyed
    assert any(line.endswith("first line \\u001b[2J") for line in lines), lines  # CRLF: one break
    assert any(line.startswith("second \\u2066line\\u2069") for line in lines), lines

    listed = cli(word)  # one unknown word: a search, printed as a table
    assert listed.code == 0, listed.err
    assert_terminal_safe(listed.out)
    assert any(line.startswith(f"{n} ") and "RED" in line for line in listed.out.splitlines())

    changed = cli(n, "note", "ok")  # a change prints the subject too
    assert changed.code == 0, changed.err
    assert_terminal_safe(changed.out)
    assert "note added" in changed.out

    as_json = cli(n, "--json")
    assert_terminal_safe(as_json.out)  # C1 and BiDi become JSON escapes as well
    data = as_json.json()
    assert data["subject"] == subject
    assert stored_note in [note_["text"] for note_ in data["notes"]]

    page = cli(word, "--json")
    assert_terminal_safe(page.out)
    assert [t["subject"] for t in page.json()["tickets"]] == [subject]


def test_a_subject_given_on_the_command_line_is_echoed_harmless(cli: Any, api: Redmine) -> None:
    subject = hostile(unique())
    created = cli("new", subject)
    assert created.code == 0, created.err
    assert_terminal_safe(created.out)
    number = int(created.out.splitlines()[1].split()[0].lstrip("#"))
    assert api.issue.get(number).subject == subject


def test_error_lines_are_harmless(tmp_path: Path) -> None:
    result = run_cli(f"--x{ESC}]52;c;cm0gLXJmIH4K{BEL}\u202e\x9b", cwd=tmp_path, env={})
    assert result.code == 2
    assert_terminal_safe(result.err)
    result.one_error_line("unrecognized", "--x\\u001b]52;c;cm0gLXJmIH4K\\u0007\\u202e\\u009b")


# ---------------------------------------------------------------- item 15: absurd values
@pytest.mark.parametrize(
    "args, words",
    [
        (["--timeout", "inf"], ["--timeout", "'inf'"]),
        (["--timeout", "1e999"], ["--timeout", "'1e999'"]),
        (["--timeout", "nan"], ["--timeout", "'nan'"]),
        (["--timeout", "0"], ["--timeout", "'0'"]),
        (["--timeout", "-1"], ["--timeout", "'-1'"]),
        (["--timeout", "86400"], ["--timeout", "'86400'"]),
        (["--page", "0"], ["--page", "'0'"]),
        (["--page", "-3"], ["--page", "'-3'"]),
        (["--page", str(10**12)], ["--page", str(10**12)]),
        (["--page", "two"], ["--page", "'two'"]),
        (["--page", "1.5"], ["--page", "'1.5'"]),
        (["--limit", "0"], ["--limit", "from 1 to 100"]),
        (["--limit", "-1"], ["--limit", "from 1 to 100"]),
        (["--limit", "101"], ["--limit", "from 1 to 100"]),
    ],
)
def test_absurd_numbers_are_usage_errors(cli: Any, args: list[str], words: list[str]) -> None:
    result = cli("bob", *args)  # with working settings: the check does not hide behind them
    assert result.code == 2 and result.out == "", (result.code, result.out, result.err)
    result.one_error_line(*words)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--limit", "0", "expected a whole number from 1 to 100, got '0'"),
        ("--page", "0", "expected a whole number from 1 to 1000000, got '0'"),
        ("--timeout", "inf", "expected a number of seconds above 0 and at most 3600, got 'inf'"),
    ],
)
def test_number_errors_read_as_sentences(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = run_cli(option, value, cwd=tmp_path, env={})
    assert result.err == f"tickets.py: argument {option}: {message} (see tickets.py --help)\n"


@pytest.mark.parametrize("value", ["2027-02-30", "2027-13-01", "tomorrow", "20270131", "2027-1-5"])
def test_a_malformed_due_date_is_a_usage_error(
    cli: Any, ticket: Any, api: Redmine, value: str
) -> None:
    n = ticket()
    result = cli(n, "due", value)
    assert result.code == 2 and result.out == "", (result.code, result.out, result.err)
    result.one_error_line(repr(value), "not a date", "YYYY-MM-DD", "none")
    assert getattr(api.issue.get(n), "due_date", None) is None


def test_due_date_still_accepts_a_date_and_none(cli: Any, ticket: Any, api: Redmine) -> None:
    n = ticket()
    assert cli(n, "due", "2027-02-28").code == 0
    assert str(api.issue.get(n).due_date) == "2027-02-28"
    assert cli(n, "due", "none").code == 0
    assert getattr(api.issue.get(n), "due_date", None) is None


@pytest.mark.parametrize(
    "args, line",
    [
        (["5", "--team", "ops-team"], "--team only applies to 'tickets.py new SUBJECT'"),
        (
            ["5", "--team", "ops-team", "--tracker", "Bug"],
            "--tracker, --team only apply to 'tickets.py new SUBJECT'",
        ),
    ],
)
def test_create_options_elsewhere_read_correctly(
    tmp_path: Path, args: list[str], line: str
) -> None:
    result = run_cli(*args, cwd=tmp_path, env={})
    assert result.code == 2
    assert result.err == f"tickets.py: {line} (see tickets.py --help)\n"


def test_every_control_character_is_neutralised_in_text_and_exact_in_json() -> None:
    """All of C0, DEL, C1, the BiDi controls and the separators, through render() directly."""
    import datetime as dt

    import tickets
    from netbot.tickets.records import TicketPage, TicketSummary

    nasty = (
        "".join(map(chr, range(0xA0))) + "".join(sorted(BIDI)) + "\u061c\u200e\u200f\u2028\u2029"
    )
    when = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    row = TicketSummary(7, nasty + "visible", "New", "Normal", "Bug", nasty, when)
    page = TicketPage([row], page=1, page_size=25, total=1, title="t")

    text = tickets.render(page, as_json=False)
    assert_terminal_safe(text)
    assert len(text.splitlines()) == 4  # title, header, one row, footer: no text broke a line

    as_json = tickets.render(page, as_json=True)
    assert_terminal_safe(as_json)
    decoded = json.loads(as_json)["tickets"][0]
    assert (decoded["subject"], decoded["assignee"]) == (nasty + "visible", nasty)
