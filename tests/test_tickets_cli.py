"""tickets.py as a user runs it: a subprocess against the real, seeded Redmine.

Every command runs in a fresh process with only REDMINE_URL and REDMINE_TOKEN (the admin's
key) in its environment, from an empty working directory (no .env, no config file). Tickets
the tests change are created by the tests; the seeded ones are only read. Redmine's state is
checked with python-redmine and the admin key, never through the CLI under test.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redminelib import Redmine

from fakes.redmine_proxy import RedmineProxy
from tests.plugins.redmine_server import RedmineServer

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "tickets.py"
STATUS = {"New": 1, "In Progress": 2, "Resolved": 3, "Feedback": 4, "Closed": 5}


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)

    def refused(self, *words: str) -> None:
        """Exit 1 with exactly one stderr line naming what went wrong."""
        assert self.code == 1, (self.code, self.out, self.err)
        self.one_error_line(*words)

    def one_error_line(self, *words: str) -> None:
        lines = self.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tickets.py: "), self.err
        assert "Traceback" not in self.err
        for word in words:
            assert word.lower() in lines[0].lower(), (word, lines[0])


def run_cli(*args: object, cwd: Path, env: dict[str, str], timeout: float = 30) -> Run:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONUTF8": "1"}
    done = subprocess.run(
        [sys.executable, str(CLI), *map(str, args)],
        cwd=cwd, env=base | env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(redmine: RedmineServer, tmp_path: Path) -> Any:
    """tickets.py with the admin's key; `url=` points it elsewhere (a proxy)."""

    def run(*args: object, url: str | None = None, **env: str) -> Run:
        creds = {"REDMINE_URL": url or redmine.url, "REDMINE_TOKEN": redmine.admin_key}
        return run_cli(*args, cwd=tmp_path, env=creds | env)

    return run


@pytest.fixture
def api(redmine: RedmineServer) -> Redmine:
    return Redmine(redmine.url, key=redmine.admin_key, requests={"timeout": 30})


@pytest.fixture
def ticket(api: Redmine) -> Any:
    """Create a ticket in `ops` (as admin) and return its id."""

    def create(subject: str = "", **fields: Any) -> int:
        subject = subject or f"cli test {uuid.uuid4().hex[:8]}"
        return api.issue.create(project_id="ops", subject=subject, **fields).id

    return create


def unique() -> str:
    return "w" + uuid.uuid4().hex[:10]


# ---------------------------------------------------------------- usage and configuration
@pytest.mark.parametrize(
    "args, words",
    [
        (["--limit", "0"], ["--limit"]),
        (["--limit", "101"], ["--limit"]),
        (["--page", "x"], ["--page"]),
        (["--bogus"], ["--bogus"]),
        (["5", "frobnicate"], ["frobnicate", "assign"]),
        (["5", "assign"], ["assign USER"]),
        (["5", "progress", "now"], ["no arguments"]),
        (["5", "note"], ["note TEXT"]),
        (["new"], ["subject"]),
        (["5", "--team", "ops-team"], ["--team", "new"]),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    result = run_cli(*args, cwd=tmp_path, env={})  # parsed before Redmine is needed
    assert result.code == 2 and result.out == ""
    result.one_error_line(*words)


def test_help_shows_the_grammar_and_examples(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path, env={})
    assert result.code == 0 and result.err == ""
    for text in ("tickets.py N assign USER", "tickets.py new SUBJECT", "--as LOGIN", "examples:"):
        assert text in result.out


def test_missing_settings_name_the_variable_and_where_to_get_it(
    tmp_path: Path, redmine: RedmineServer
) -> None:
    nothing = run_cli("1", cwd=tmp_path, env={})
    assert nothing.code == 2
    nothing.one_error_line("REDMINE_URL", "REDMINE_TOKEN", "My account > API access key")

    no_token = run_cli("1", cwd=tmp_path, env={"REDMINE_URL": redmine.url})
    assert no_token.code == 2
    no_token.one_error_line("REDMINE_TOKEN")
    assert "REDMINE_URL" not in no_token.err


def test_settings_come_from_dotenv_and_a_wrong_key_is_not_printed(
    tmp_path: Path, redmine: RedmineServer
) -> None:
    (tmp_path / ".env").write_text(
        f"REDMINE_URL={redmine.url}\nREDMINE_TOKEN={redmine.admin_key}\n"
    )
    shown = run_cli(redmine.issue_id("Disk full on db-1"), cwd=tmp_path, env={})
    assert shown.code == 0 and "Disk full on db-1" in shown.out

    wrong = "f" * 40
    refused = run_cli("1", cwd=tmp_path, env={"REDMINE_TOKEN": wrong})  # env beats .env
    refused.refused("REDMINE_TOKEN")
    assert wrong not in refused.err + refused.out
    assert redmine.admin_key not in refused.err + refused.out


def test_project_comes_from_the_config_file_unless_given(tmp_path: Path, cli: Any) -> None:
    config = tmp_path / "config" / "netbot.yaml"
    config.parent.mkdir()
    example = (ROOT / "config" / "netbot.example.yaml").read_text()
    config.write_text(example.replace("  project: ops", "  project: no-such-project", 1))
    cli("bob").refused("Redmine has no project 'no-such-project'")  # the configured one
    assert cli("bob", "--project", "ops").code == 0

    broken = tmp_path / "broken.yaml"
    broken.write_text("tickets: {project: ops}\n")
    result = cli("bob", NETBOT_CONFIG=str(broken))
    assert result.code == 2
    result.one_error_line("configuration", "broken.yaml")


# ---------------------------------------------------------------- reading
def test_new_creates_and_show_displays(cli: Any, api: Redmine, redmine: RedmineServer) -> None:
    subject = f"Disk full on db-9 {unique()}"
    created = cli(
        "new", *subject.split(), "--description", "It is full.", "--tracker", "feature",
        "--priority", "High", "--team", "ops-team", "--json",
    ).json()  # fmt: skip
    assert (created["subject"], created["status"], created["tracker"]) == (
        subject,
        "New",
        "Feature",
    )
    assert (created["priority"], created["assignee"]) == ("High", "ops-team")
    issue = api.issue.get(created["id"])
    assert (
        issue.description == "It is full." and issue.assigned_to.id == redmine.info["group"]["id"]
    )

    text = cli(created["id"])
    assert text.code == 0
    assert text.out.startswith(f"#{created['id']} {subject}\n")
    assert "Priority: High" in text.out and "Assignee: ops-team" in text.out

    plain = f"plain {unique()}"
    as_text = cli("new", plain)
    assert as_text.code == 0 and as_text.out.startswith("Created:\n#")
    again = cli("new", plain)  # a retry after a lost answer: the same ticket, said so
    assert again.code == 0
    assert again.out.startswith("Already created a moment ago (not created twice):\n#")
    assert again.out.splitlines()[1] == as_text.out.splitlines()[1]


def test_no_arguments_lists_new_tickets_of_me_and_my_teams(cli: Any, ticket: Any) -> None:
    team_ticket = ticket(assigned_to_id=9)  # ops-team, Alice's team
    mine = cli("--as", "alice", "--json", "--limit", "100").json()
    assert mine["title"].endswith("(New)")
    assert team_ticket in [t["id"] for t in mine["tickets"]]
    assert {t["status"] for t in mine["tickets"]} == {"New"}

    table = cli("--as", "alice", "--limit", "100")
    assert table.code == 0
    assert any(line.startswith(f"{team_ticket} ") for line in table.out.splitlines())


def test_a_login_lists_that_users_tickets_and_a_team_its_tickets(
    cli: Any, ticket: Any, redmine: RedmineServer
) -> None:
    bobs = ticket(assigned_to_id=redmine.user_id("bob"))
    listed = cli("bob", "--json", "--limit", "100").json()
    assert listed["title"] == "bob's tickets (open)"
    assert bobs in [t["id"] for t in listed["tickets"]]
    assert {t["assignee"] for t in listed["tickets"]} == {"Bob Berg"}

    team = cli("ops-team", "--status", "all", "--json").json()
    assert team["title"] == "ops-team's tickets (all)"
    assert redmine.issue_id("VPN flapping") in [t["id"] for t in team["tickets"]]


def test_other_words_search(cli: Any, ticket: Any) -> None:
    word = unique()
    found = ticket(f"Printer on fire {word}")
    one = cli(word, "--json").json()  # one word, not a login or team
    assert one["title"] == f"Search: {word}" and [t["id"] for t in one["tickets"]] == [found]
    several = cli("printer", "fire", word, "--json").json()
    assert [t["id"] for t in several["tickets"]] == [found]
    quoted = cli(f"404 {word}")  # a search that starts with a number, quoted
    assert quoted.code == 0 and quoted.out.startswith(f"Search: 404 {word}")
    nothing = cli(unique())
    assert nothing.code == 0 and "no tickets" in nothing.out


def test_paging(cli: Any, ticket: Any, redmine: RedmineServer) -> None:
    word = unique()
    created = {ticket(f"paged {word} {n}") for n in range(3)}
    pages = [cli(word, "--page", n, "--limit", 1, "--json").json() for n in (1, 2, 3)]
    assert [(p["page"], p["pages"], p["total"]) for p in pages] == [(n, 3, 3) for n in (1, 2, 3)]
    assert {p["tickets"][0]["id"] for p in pages} == created

    for _ in range(2):
        ticket(assigned_to_id=redmine.user_id("bob"))
    second = cli("bob", "--status", "all", "--page", 2, "--limit", 1, "--json").json()
    assert (second["page"], len(second["tickets"])) == (2, 1)
    assert second["pages"] == second["total"] >= 2
    table = cli("bob", "--status", "all", "--page", 2, "--limit", 1)
    assert table.out.splitlines()[-1] == f"2-2 of {second['total']} (page 2 of {second['pages']})"


# ---------------------------------------------------------------- writing
def test_ticket_commands_change_the_ticket(
    cli: Any, ticket: Any, api: Redmine, redmine: RedmineServer
) -> None:
    n = ticket()
    alice, bob = redmine.user_id("alice"), redmine.user_id("bob")

    assigned = cli(n, "assign", "bob")
    assert assigned.code == 0, assigned.err
    assert assigned.out.strip().endswith("assignee: nobody -> Bob Berg")
    assert api.issue.get(n).assigned_to.id == bob

    progress = cli(n, "progress", "--as", "alice", "--json").json()
    assert progress["ticket"]["status"] == "In Progress"
    assert progress["changes"] == [
        "status: New -> In Progress",
        "assignee: Bob Berg -> Alice Anders",
    ]
    issue = api.issue.get(n)
    assert (issue.status.id, issue.assigned_to.id) == (STATUS["In Progress"], alice)

    assert cli(n, "collaborate", "--as", "bob").code == 0
    assert bob in [w.id for w in api.issue.get(n, include=["watchers"]).watchers]

    text = "Rebooted; -h was the fix"
    noted = cli("--as", "alice", n, "note", "--", *text.split())
    assert noted.code == 0 and "note added" in noted.out
    journal = list(api.issue.get(n, include=["journals"]).journals)[-1]
    assert (journal.notes, journal.user.id) == (text, alice)  # written as Alice

    for args in (["priority", "high"], ["tracker", "Support"], ["subject", "Renamed", "ticket"],
                 ["due", "2030-01-31"], ["status", "Feedback"]):  # fmt: skip
        done = cli(n, *args)
        assert done.code == 0, (args, done.err)
    issue = api.issue.get(n)
    assert (issue.priority.name, issue.tracker.name, issue.subject) == (
        "High",
        "Support",
        "Renamed ticket",
    )
    assert (str(issue.due_date), issue.status.id) == ("2030-01-31", STATUS["Feedback"])

    assert cli(n, "resolve").code == 0
    assert api.issue.get(n).status.id == STATUS["Resolved"]
    unassigned = cli(n, "unassign")
    assert unassigned.code == 0, unassigned.err
    issue = api.issue.get(n)
    assert issue.status.id == STATUS["New"] and getattr(issue, "assigned_to", None) is None


# ---------------------------------------------------------------- refusals
def test_unknown_ticket_and_unknown_user(cli: Any, ticket: Any, api: Redmine) -> None:
    cli(999999).refused("ticket 999999")
    n = ticket()
    cli(n, "assign", "nobody").refused("nobody")
    assert getattr(api.issue.get(n), "assigned_to", None) is None


def test_locked_user_and_non_member_are_refused(
    cli: Any, ticket: Any, api: Redmine, redmine: RedmineServer
) -> None:
    n = ticket()
    cli("--as", "dave", n, "note", "hello").refused("dave", "locked")
    cli("--as", "carol", redmine.issue_id("Disk full on db-1")).refused()
    cli("--as", "carol", n, "note", "hello").refused()
    assert [j for j in api.issue.get(n, include=["journals"]).journals] == []


def test_workflow_refusal_changes_nothing(
    cli: Any, ticket: Any, api: Redmine, redmine: RedmineServer
) -> None:
    n = ticket(assigned_to_id=redmine.user_id("alice"))
    api.issue.update(n, status_id=STATUS["Resolved"])
    before = api.issue.get(n, include=["journals"])

    cli("--as", "alice", n, "unassign").refused("workflow", "Resolved", "New")

    after = api.issue.get(n, include=["journals"])
    assert (after.status.id, after.assigned_to.id) == (STATUS["Resolved"], redmine.user_id("alice"))
    assert len(after.journals) == len(before.journals) and after.updated_on == before.updated_on


def test_closed_ticket_is_refused_and_a_bad_due_date_is_a_usage_error(
    cli: Any, ticket: Any, api: Redmine
) -> None:
    n = ticket()
    bad_due = cli(n, "due", "tomorrow")  # checked before Redmine is asked anything
    assert bad_due.code == 2 and bad_due.out == ""
    bad_due.one_error_line("not a date", "YYYY-MM-DD")
    assert getattr(api.issue.get(n), "due_date", None) is None
    api.issue.update(n, status_id=STATUS["Closed"])
    cli(n, "progress").refused("closed")
    assert api.issue.get(n).status.id == STATUS["Closed"]


# ---------------------------------------------------------------- Redmine down, failing, slow
def test_redmine_down_failing_or_slow_exits_1_with_a_clear_line(
    cli: Any, ticket: Any, redmine: RedmineServer
) -> None:
    n = ticket()
    with RedmineProxy.in_thread(redmine.url) as proxy:
        assert cli(n, url=proxy.url).code == 0  # through the proxy, all is well

        proxy.fail(500, times=1)
        cli(n, "note", "lost", url=proxy.url).refused("Redmine failed", "nothing was changed")

        proxy.delay(2.5, times=1)
        started = time.monotonic()
        cli("--timeout", "0.5", n, "note", "slow", url=proxy.url).refused(
            "did not answer within 0.5 s"
        )
        assert time.monotonic() - started < 2.4
        assert proxy.forwarded_writes() == []

        proxy.down()  # nothing listens at REDMINE_URL any more: a wrong URL, exit 2
        stopped = cli(n, url=proxy.url)
        assert stopped.code == 2
        stopped.one_error_line(f"REDMINE_URL {proxy.url!r}", "connection refused")


HEAVY_FOR_A_LIST = ("pydantic", "yaml", "sqlalchemy", "alembic", "aiohttp", "discord")


@pytest.mark.parametrize("with_config", [False, True])
def test_a_list_imports_neither_pydantic_nor_yaml(
    redmine: RedmineServer, tmp_path: Path, with_config: bool
) -> None:
    """Start-up speed: a list needs no configuration machinery when no config file exists,
    and never the bot's (database, migrations, HTTP server, Discord), even reading one."""
    if with_config:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "netbot.yaml").write_text(
            (ROOT / "config" / "netbot.example.yaml").read_text()
        )
    heavy = HEAVY_FOR_A_LIST[2:] if with_config else HEAVY_FOR_A_LIST
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import tickets; "
        "code = tickets.main(['--limit', '1', 'bob']); "
        f"print(code, *(name in sys.modules for name in {heavy!r}))"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "REDMINE_URL": redmine.url, "REDMINE_TOKEN": redmine.admin_key}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.stdout.splitlines()[-1] == "0" + " False" * len(heavy), done.stderr


def test_a_user_list_makes_two_requests(cli: Any, redmine: RedmineServer) -> None:
    """At parity with a plain python-redmine script: one request resolves the login (not the
    whole user list), one lists the tickets; the status, priority and tracker names (and
    whether a status is closed) come with each issue, so no list of them is fetched."""
    with RedmineProxy.in_thread(redmine.url) as proxy:
        listed = cli("--status", "all", "bob", url=proxy.url)
        assert listed.code == 0 and "bob's tickets (all)" in listed.out, listed.err
        paths = [r.path_qs.partition("?")[0] for r in proxy.requests]
    assert paths == ["/users.json", "/issues.json"], paths


# ---------------------------------------------------------------- a wrong REDMINE_URL, a wrong Python
@pytest.mark.parametrize(
    "url, shown, cause",
    [
        ("alice:s3cret@redmine.example.org/x", "'redmine.example.org/x'", "http:// or https://"),
        ("ftp://alice:s3cret@redmine.example.org/", "'ftp://redmine.example.org", "http://"),
        ("http:///redmine", "'http:///redmine'", "no host name"),
        ("http://redmine.example.org:99999/", "'http://redmine.example.org:99999", "port"),
        ("http://alice:s3cret@redmine.example.org/my redmine", "example.org/my redmine'", "space"),
    ],
)
def test_a_malformed_url_is_a_configuration_error(
    tmp_path: Path, url: str, shown: str, cause: str
) -> None:
    result = run_cli("1", cwd=tmp_path, env={"REDMINE_URL": url, "REDMINE_TOKEN": "k" * 40})
    assert result.code == 2 and result.out == ""
    result.one_error_line("REDMINE_URL", shown, cause)
    assert "s3cret" not in result.err and "alice" not in result.err


def closed_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_nothing_listening_at_the_url_is_a_configuration_error(tmp_path: Path) -> None:
    port = closed_port()
    url = f"http://alice:s3cret@127.0.0.1:{port}/redmine"
    result = run_cli("1", cwd=tmp_path, env={"REDMINE_URL": url, "REDMINE_TOKEN": "k" * 40})
    assert result.code == 2 and result.out == ""
    result.one_error_line(f"'http://127.0.0.1:{port}/redmine'", "connection refused")
    assert "s3cret" not in result.err


def test_a_name_that_does_not_resolve_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process (no DNS query may leave a test): the resolver's failure is the cause."""
    import tickets

    def no_such_name(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    assert tickets.unreachable("https://redmine.invalid/", 1.0) == (
        "cannot resolve the host name 'redmine.invalid' (Name or service not known)"
    )


def test_a_url_that_is_not_redmines_api_says_so(cli: Any, redmine: RedmineServer) -> None:
    """A wrong path answers 404 to every list: named as a REDMINE_URL problem, in English."""
    for args, what in (
        (["1", "assign", "bob"], "the user list"),
        (["1", "status", "New"], "the status lists"),
    ):
        result = cli(*args, url=f"{redmine.url}/not-redmine")
        result.refused(f"Redmine answered 'not found' for {what}", "check REDMINE_URL")


SYSTEM_PYTHON = Path("/usr/bin/python3")


def _lacks_the_packages(python: Path) -> bool:
    if not python.is_file():
        return False
    probe = subprocess.run([str(python), "-c", "import dotenv"], capture_output=True, check=False)
    return probe.returncode != 0


@pytest.mark.skipif(
    not _lacks_the_packages(SYSTEM_PYTHON), reason="no system Python without netbot's packages"
)
def test_outside_the_virtual_environment_one_line_says_what_to_do(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "REDMINE_URL": "http://127.0.0.1:9/",
           "REDMINE_TOKEN": "k" * 40}  # fmt: skip
    done = subprocess.run(
        [str(SYSTEM_PYTHON), str(CLI), "1"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    result = Run(done.returncode, done.stdout, done.stderr)
    result.one_error_line("missing package", ".venv/bin/python tickets.py", "pip install -r")


def test_an_old_python_is_told_in_one_line() -> None:
    import tickets

    assert tickets.python_problem((3, 11, 0)) is None
    assert tickets.python_problem((3, 13, 1)) is None
    line = tickets.python_problem((3, 9, 18))
    assert line is not None and "\n" not in line
    assert line.startswith("tickets.py: needs Python 3.11 or newer, this is Python 3.9.18; ")
    assert "python3.11 -m venv .venv" in line
    # The check runs before anything else, so the whole file must parse on old Pythons.
    ast.parse(CLI.read_text(encoding="utf-8"), feature_version=(3, 6))
