#!/usr/bin/env python3
"""tickets.py: netbot's Redmine tickets from the terminal.

A thin layer over `netbot.tickets.service.TicketService`, which the Discord bot uses too: this
file only parses the command line and prints results; every ticket rule lives in the service.
Exit codes: 0 done, 1 not found / refused / Redmine unavailable, 2 usage or configuration error.
Imports are lazy so `--help` and usage errors are instant and a list starts fast, and so that
run by a wrong Python (too old, or without the project's packages) it says what to do in one
line: the version check comes first, in syntax that Python 3.6 still parses.
"""

import sys

VENV_HINT = (
    "run it with the project's virtual environment: .venv/bin/python tickets.py ... "
    "(set up with: python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)"
)


def python_problem(version: "tuple[int, ...]") -> "str | None":
    """The line to print when `version` (sys.version_info) cannot run tickets.py, else None.

    Annotations are quoted so the check itself runs on the old Pythons it is for.
    """
    if tuple(version[:2]) >= (3, 11):
        return None
    found = ".".join(str(n) for n in version[:3])
    hint = VENV_HINT.replace("python3 -m venv", "python3.11 -m venv")  # python3 is this one
    return "tickets.py: needs Python 3.11 or newer, this is Python " + found + "; " + hint


if python_problem(sys.version_info[:3]):
    print(python_problem(sys.version_info[:3]), file=sys.stderr)
    sys.exit(2)

import argparse  # noqa: E402  (after the version check, on purpose)
import dataclasses  # noqa: E402
import datetime as dt  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from netbot.core.text import terminal_safe  # noqa: E402

# Import names of the third-party packages tickets.py needs, by the name pip installs them as.
PACKAGES = {"redminelib": "python-redmine", "dotenv": "python-dotenv", "yaml": "PyYAML",
            "pydantic": "pydantic", "requests": "requests", "urllib3": "urllib3"}  # fmt: skip

PROG = "tickets.py"
SIMPLE_VERBS = ("unassign", "progress", "resolve", "collaborate")
FIELD_VERBS = {"status": "status", "priority": "priority", "tracker": "tracker",
               "subject": "subject", "due": "due_date"}  # fmt: skip
VERBS = ("assign", *SIMPLE_VERBS, "note", *FIELD_VERBS)
CREATE_OPTIONS = ("description", "tracker", "priority", "team")
TICKET_NUMBER = re.compile(r"#?[0-9]+")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CLEAR_DUE = ("", "none", "clear")  # what the service reads as "no due date"
MAX_PAGE = 1_000_000  # a million pages of one ticket: beyond it a page number is a typo
MAX_TIMEOUT = 3600.0  # seconds; also keeps inf (and 1e999) away from the socket layer
# Record fields printed over several lines on purpose; every other text is kept to one line.
MULTILINE_FIELDS = frozenset({"text", "description"})  # a note's text, a ticket's description

EXAMPLES = """\
commands:
  tickets.py                      new tickets (status New) assigned to me or my teams
  tickets.py USER                 a user's open tickets (Redmine login; a team name: its tickets)
  tickets.py N                    show ticket N
  tickets.py WORDS...             search subjects and text (one unknown word, or several)
  tickets.py N assign USER        assign ticket N to a user or team
  tickets.py N unassign           back to the pool: unassigned, status New
  tickets.py N progress           assign to me, status In Progress
  tickets.py N resolve            status Resolved
  tickets.py N collaborate        watch ticket N
  tickets.py N note TEXT...       add a note
  tickets.py N status|priority|tracker|subject|due VALUE...
                                  change one field (due: YYYY-MM-DD, or none)
  tickets.py new SUBJECT... [--description TEXT] [--tracker T] [--priority P] [--team TEAM]

examples:
  tickets.py --as alice                       what is new for Alice
  tickets.py bob --status all --limit 100     all of Bob's tickets
  tickets.py ops-team                         the team's open tickets
  tickets.py disk full --page 2               search, second page
  tickets.py 12 assign bob
  tickets.py 12 note --as alice -- -h was the fix    (after --, words are never options)
  tickets.py 12 due 2030-01-31
  tickets.py new "Disk full on db-2" --team ops-team --priority High
  tickets.py --json 12 | jq .status
  tickets.py "404 errors"         quote a search that starts with a number

Reads REDMINE_URL and REDMINE_TOKEN (an administrator's API key, for --as) from the
environment or .env. Exit codes: 0 done, 1 not found / refused / Redmine unavailable,
2 usage or configuration error.
"""


class UsageError(Exception):
    """The command line is wrong (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, our exit code, no usage dump
        raise UsageError(message)


def _bounded_int(low: int, high: int) -> Any:
    """An argparse type: a whole number in [low, high], else a one-sentence usage error."""

    def parse(text: str) -> int:
        try:
            value: int | None = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}, got {text!r}"
            )
        return value

    return parse


def _timeout(text: str) -> float:
    """An argparse type: seconds above 0, at most MAX_TIMEOUT (so never inf or nan)."""
    try:
        value: float | None = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value <= MAX_TIMEOUT:  # the comparison is False for nan too
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_TIMEOUT:g}, got {text!r}"
        )
    return value


def _parser() -> _Parser:
    p = _Parser(
        prog=PROG,
        description="Redmine tickets from the terminal (netbot).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [options] [USER | N | WORDS... | N COMMAND [ARGS...] | new SUBJECT...]",
    )
    p.add_argument("words", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--as", dest="actor", metavar="LOGIN", help="act as this Redmine user")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--page", type=_bounded_int(1, MAX_PAGE), default=1, metavar="N", help="page (from 1)"
    )
    p.add_argument("--limit", type=_bounded_int(1, 100), default=25, metavar="N",
                   help="tickets per page (1-100, default 25)")  # fmt: skip
    p.add_argument("--status", metavar="STATUS",
                   help="lists: open, closed, all or a status name (default: New for my "
                        "tickets, open for a user's)")  # fmt: skip
    p.add_argument("--project", metavar="ID",
                   help="Redmine project identifier (default: tickets.project in the config "
                        "file, else ops)")  # fmt: skip
    p.add_argument("--timeout", type=_timeout, default=10.0, metavar="SECONDS",
                   help="per-request Redmine timeout (default 10)")  # fmt: skip
    new = p.add_argument_group("options of 'new'")
    new.add_argument("--description", metavar="TEXT")
    new.add_argument("--tracker", metavar="T")
    new.add_argument("--priority", metavar="P")
    new.add_argument("--team", metavar="TEAM", help="assign the new ticket to this team")
    return p


@dataclass
class Command:
    """What the positional words ask for."""

    action: str  # mine | who | search | show | new | one of VERBS
    ticket: int | None = None
    args: list[str] = field(default_factory=list)


def parse_words(words: list[str]) -> Command:
    """The positional grammar; raises UsageError."""
    if not words:
        return Command("mine")
    first = words[0]
    if first == "new":
        subject = " ".join(words[1:]).strip()
        if not subject:
            raise UsageError("'new' needs a subject: tickets.py new SUBJECT...")
        return Command("new", args=[subject])
    if TICKET_NUMBER.fullmatch(first):
        ticket, rest = int(first.lstrip("#")), words[1:]
        if not rest:
            return Command("show", ticket)
        verb, args = rest[0].lower(), rest[1:]
        if verb not in VERBS:
            raise UsageError(
                f"unknown command {rest[0]!r} for ticket {ticket}; use one of "
                f"{', '.join(VERBS)} (to search for words starting with a number, quote them)"
            )
        if verb == "assign" and len(args) != 1:
            raise UsageError(f"usage: tickets.py {ticket} assign USER")
        if verb in SIMPLE_VERBS and args:
            raise UsageError(f"'{verb}' takes no arguments: tickets.py {ticket} {verb}")
        if verb == "note" or verb in FIELD_VERBS:
            if not args:
                raise UsageError(
                    f"usage: tickets.py {ticket} {verb} {'TEXT' if verb == 'note' else 'VALUE'}..."
                )
            args = [" ".join(args)]
        if verb == "due":
            _check_due(args[0])
        return Command(verb, ticket, args)
    if len(words) == 1:
        return Command("who", args=[first])
    return Command("search", args=[" ".join(words)])


def _check_due(value: str) -> None:
    """A due date must be a real YYYY-MM-DD date (or none): a typo is a usage error, not a write."""
    value = value.strip()
    if value.lower() in CLEAR_DUE:
        return
    if ISO_DATE.fullmatch(value):  # fromisoformat alone also takes 20270131, 2027-W05...
        try:
            dt.date.fromisoformat(value)
        except ValueError:  # 2027-02-30, 2027-13-01
            pass
        else:
            return
    raise UsageError(f"{value!r} is not a date; use YYYY-MM-DD, or 'none' to clear it")


def _project(opts: argparse.Namespace, config_path: str) -> str:
    if opts.project:
        return opts.project
    from pathlib import Path

    if not Path(config_path).is_file():
        return "ops"
    from netbot.capabilities import load_config  # pydantic: only when a config exists
    from netbot.core.config import ConfigError
    from netbot.tickets import TicketsConfig

    try:
        return load_config(config_path).section("tickets", TicketsConfig).project
    except ConfigError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise UsageError(f"configuration {exc.path}: {problems}") from None


def execute(command: Command, opts: argparse.Namespace, service: Any) -> Any:
    """Run the command through the service; returns a record (or a TicketPage)."""
    actor, paging = opts.actor, {"page": opts.page, "page_size": opts.limit}
    action, ticket, args = command.action, command.ticket, command.args
    if action == "mine":
        return service.list_tickets(actor, status=opts.status or "New", **paging)
    if action == "who":
        who = service.catalog.find_person(args[0])
        if who is None:  # not a login or team: a one-word search
            return service.search(actor, args[0], **paging)
        kind = "team" if who.is_group else "user"
        return service.list_tickets(
            actor, **{kind: who.login}, status=opts.status or "open", **paging
        )
    if action == "search":
        return service.search(actor, args[0], **paging)
    if action == "show":
        return service.show(actor, ticket)
    if action == "new":
        return service.create_once(
            actor, args[0], opts.description or "",
            tracker=opts.tracker, priority=opts.priority, team=opts.team,
        )  # fmt: skip
    if action == "assign":
        return service.assign(actor, ticket, args[0])
    if action == "note":
        return service.note(actor, ticket, args[0])
    if action in FIELD_VERBS:
        return service.set_field(actor, ticket, FIELD_VERBS[action], args[0])
    return getattr(service, action)(actor, ticket)  # unassign, progress, resolve, collaborate


def for_terminal(record: Any, keep_newlines: bool = False) -> Any:
    """A copy of a record (or any value in one) with every text made terminal-safe.

    Subjects, names and notes are written by whoever can write to Redmine; printed raw, their
    escape sequences would drive the operator's terminal. Only MULTILINE_FIELDS keep their
    line breaks, so no other text can start a line that looks like the CLI's own.
    """
    if isinstance(record, str):
        return terminal_safe(record, keep_newlines)
    if isinstance(record, list):
        return [for_terminal(item) for item in record]
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.replace(
            record,
            **{
                f.name: for_terminal(getattr(record, f.name), f.name in MULTILINE_FIELDS)
                for f in dataclasses.fields(record)
            },
        )
    return record


def render(result: Any, as_json: bool) -> str:
    """The text to print: JSON (exact text, control characters as JSON escapes) or a table."""
    from netbot.tickets import Change, Created, TicketPage, change_text, detail_text, table, to_json

    heading = ""
    if isinstance(result, Created):
        heading = (
            "Created:\n" if result.new else "Already created a moment ago (not created twice):\n"
        )
        result = result.ticket

    if as_json:
        import json

        if isinstance(result, TicketPage):
            data: Any = {"title": result.title, "page": result.page, "pages": result.pages,
                         "total": result.total, "tickets": [to_json(t) for t in result.tickets]}  # fmt: skip
        else:
            data = to_json(result)
        # json.dumps escapes C0 controls only; C1, DEL and BiDi controls become \uXXXX escapes
        # here, so the JSON still decodes to the exact text and is safe on a terminal too.
        return terminal_safe(json.dumps(data, indent=2, ensure_ascii=False), keep_newlines=True)
    result = for_terminal(result)

    if isinstance(result, TicketPage):
        return table(result)
    if isinstance(result, Change):
        return change_text(result)
    return heading + detail_text(result)


@dataclass(frozen=True)
class CliSettings:
    """The settings `netbot.tickets.build` needs, from the command line (no public URL: links
    printed here show REDMINE_URL without its credentials)."""

    project: str
    request_timeout_seconds: float
    public_url: str | None = None


def _fail(message: str, code: int) -> int:
    """Print the error as one terminal-safe line (it may quote Redmine's or the user's text)."""
    print(f"{PROG}: {' '.join(terminal_safe(message).split())}", file=sys.stderr)
    return code


def shown_url(url: str) -> str:
    """REDMINE_URL as it may be printed: without `user:password@`, even when it is malformed
    (no scheme, say), so an error about the URL never shows its credentials."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}"


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a Redmine address (checked before any request), or None."""
    if any(c.isspace() for c in url):
        return "it contains a space"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return "it must start with http:// or https://"
    try:
        parts.port  # noqa: B018  (raises ValueError for a port that is no number or too big)
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if not parts.hostname:
        return "it has no host name"
    return None


def unreachable(url: str, timeout: float) -> str | None:
    """Why nothing can be reached at the (well-formed) `url`, or None when a connection opens.

    Asked only after Redmine was reported unavailable, so a working command pays nothing. A
    name that does not resolve, or a port where nothing listens, is a wrong REDMINE_URL; a
    timeout is not decided here (Redmine may just be slow), the original error stands.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve the host name {host!r} ({exc.strerror})"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        return None
    except ConnectionRefusedError:
        return f"connection refused: nothing listens on port {port} of {host}"
    except OSError as exc:
        where = addresses[0][4][0] if addresses else host
        return f"cannot connect to {where} port {port} ({exc.strerror or exc})"


def url_error(url: str, cause: str) -> int:
    """The configuration error for a wrong REDMINE_URL (exit 2)."""
    return _fail(f"REDMINE_URL {shown_url(url)!r} is wrong: {cause}; fix it in the environment "
                 "or .env", 2)  # fmt: skip


def missing_package(exc: ImportError) -> str | None:
    """The one line for a third-party package that is not installed (tickets.py run outside
    the virtual environment), or None when the import error is something else (a bug)."""
    top = (exc.name or "").partition(".")[0]
    if top not in PACKAGES:
        return None
    return f"{PROG}: missing package {PACKAGES[top]} (module {top}); {VENV_HINT}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        opts = parser.parse_intermixed_args(argv)
        command = parse_words(opts.words)
        given = [f"--{o}" for o in CREATE_OPTIONS if getattr(opts, o) is not None]
        if given and command.action != "new":
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{', '.join(given)} only {verb} to 'tickets.py new SUBJECT'")
    except UsageError as exc:
        return _fail(f"{exc} (see tickets.py --help)", 2)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)

    from netbot.core.errors import UserError
    from netbot.core.secrets import load_secrets
    from netbot.tickets import REDMINE_ENV

    secrets = load_secrets(env_vars=REDMINE_ENV)
    missing = secrets.missing("REDMINE_URL", "REDMINE_TOKEN")
    if missing:
        hints = "; ".join(
            f"{name} is not set (get it from: {secrets.hint(name)})" for name in missing
        )
        return _fail(
            f"{hints}; set {'them' if len(missing) > 1 else 'it'} in the environment or .env", 2
        )
    url = secrets.value("REDMINE_URL")
    problem = url_problem(url)
    if problem:
        return url_error(url, problem)
    try:
        project = _project(opts, secrets.config_path)
    except UsageError as exc:
        return _fail(str(exc), 2)

    from netbot.core.errors import BackendUnavailable
    from netbot.redmine import OutcomeUnknown
    from netbot.tickets import build

    settings = CliSettings(project, opts.timeout)
    service = build(url, secrets.secret("REDMINE_TOKEN").reveal(), settings).service
    try:
        result = execute(command, opts, service)
        print(render(result, opts.json))
    except BackendUnavailable as exc:
        # Never for a write whose answer was lost: that message says to check the ticket.
        cause = None if isinstance(exc, OutcomeUnknown) else unreachable(url, opts.timeout)
        return url_error(url, cause) if cause else _fail(exc.message, 1)
    except UserError as exc:
        return _fail(exc.message, 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or an unforeseen failure: still one line, no traceback
        return _fail(f"unexpected error ({type(exc).__name__}): {exc}", 1)
    return 0


def run() -> int:
    """main(), with a package missing from this Python said in one line (exit 2)."""
    try:
        return main()
    except ImportError as exc:
        line = missing_package(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
