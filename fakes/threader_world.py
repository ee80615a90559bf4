"""A world for the threader: the real Redmine, the fake Discord, the threader as a process.

The crash test (tests/test_threader_crash.py) and the bench (bench/threader.py) share it:

- the REAL Redmine (``scripts/redmine/up.sh``), seen by the threader through
  :class:`~fakes.redmine_proxy.RedmineProxy`, which counts its requests and tells us the
  instant Redmine has done a write (before the threader hears of it);
- the fake Discord in this process (one guild, a ``tickets`` channel, one thread per
  enrolled ticket); people write there through ``user_message``/``user_edit``/``user_delete``;
- ``threader.py`` as a subprocess on a SQLite file (or PostgreSQL), SIGKILLed at chosen
  points: right after the fake Discord answered its Nth write, right after Redmine did its
  Nth write, or at its Nth request of any kind.

Every text written on either side carries a unique token (``dsc-000012``, ``rdm-000034``),
so :meth:`ThreaderWorld.compare` checks the outcome without knowing the threader's markers:
each live Discord message is in exactly one Redmine note, each Redmine note in exactly one
Discord message, and nothing is echoed back to where it came from.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redminelib import Redmine

from fakes.discord import FakeDiscord, FakeMessage
from fakes.redmine_proxy import WRITES, LoggedRequest, RedmineProxy

PROJECT_ROOT = Path(__file__).resolve().parents[1]
THREADER = PROJECT_ROOT / "threader.py"
DISCORD_TOKEN = "threader-world-token"
REDMINE_WRITERS = ("admin", "alice", "bob")  # seeded users who may add notes to project ops
TOKEN_RE = re.compile(r"\b(?:dsc|rdm)-\d{6}(?:e\d+)?\b")
# What `threader.py --once` prints when another (or a killed) threader holds the cycle lock.
LOCKED_OUT = "another threader is running a cycle"
KILL_KINDS = ("discord-write", "redmine-write", "any-request")


@dataclass(frozen=True)
class Kill:
    """Where to SIGKILL the threader: after the ``n``th event of ``kind`` in one run."""

    kind: str
    n: int

    @classmethod
    def random(cls, rng: random.Random) -> Kill:
        kind = rng.choice(KILL_KINDS)
        # The first few requests are the start-up check's: most kills should land later.
        return cls(kind, rng.randint(3, 20) if kind == "any-request" else rng.randint(1, 3))


@dataclass
class Run:
    """One threader process: exit code, whether we killed it, and what it cost."""

    returncode: int
    killed: bool
    discord: Counter[str]
    redmine: Counter[str]
    output: str
    seconds: float = 0.0

    @property
    def discord_requests(self) -> int:
        return sum(self.discord.values())

    @property
    def redmine_requests(self) -> int:
        return sum(self.redmine.values())

    @property
    def writes(self) -> int:
        """Writes on either side (a quiet run has none)."""
        discord = sum(n for key, n in self.discord.items() if key.split()[0] in WRITES)
        return discord + sum(n for key, n in self.redmine.items() if key.split()[0] in WRITES)


@dataclass
class Verdict:
    """What :meth:`ThreaderWorld.compare` found; ``ok`` is zero duplicates and losses."""

    discord_messages: int = 0
    redmine_notes: int = 0
    duplicates: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    echoes: list[str] = field(default_factory=list)
    stale_edits: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.losses or self.echoes)

    def summary(self) -> str:
        return (
            f"{self.discord_messages} Discord messages, {self.redmine_notes} Redmine notes: "
            f"{len(self.duplicates)} duplicates, {len(self.losses)} losses, "
            f"{len(self.echoes)} echoes, {len(self.stale_edits)} edits not carried over"
        )


@dataclass
class Said:
    """A person's Discord message and the token its current text carries."""

    ticket: int
    message: FakeMessage
    token: str
    first_token: str
    deleted: bool = False


def route_of(entry: LoggedRequest) -> str:
    """``"PUT /issues/:id.json"``: a Redmine request counted by its shape."""
    path = re.sub(r"/\d+", "/:id", entry.path_qs.split("?", 1)[0])
    return f"{entry.method} {path}"


class ThreaderWorld:
    """See the module. Use ``async with ThreaderWorld(url, info, workdir) as world:``."""

    def __init__(
        self,
        redmine_url: str,
        info: dict[str, Any],
        workdir: Path,
        *,
        database_url: str | None = None,
        seed: int = 11,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.redmine_url, self.info, self.workdir = redmine_url.rstrip("/"), info, workdir
        self.database_url = database_url or f"sqlite:///{workdir / 'threader.sqlite3'}"
        self.rng = random.Random(seed)
        self.config_overrides = config or {}
        self.fake = FakeDiscord(token=DISCORD_TOKEN, default_timeout=30.0)
        self.proxy = RedmineProxy(self.redmine_url)
        self.threads: dict[int, dict[str, Any]] = {}  # ticket id -> thread
        self.people: list[dict[str, Any]] = []
        self.said: list[Said] = []
        self.noted: dict[str, int] = {}  # token -> ticket id
        self._tokens = itertools.count(1)
        self._clients: dict[str, Redmine] = {}
        self.runs: list[Run] = []

    async def __aenter__(self) -> ThreaderWorld:
        await self.fake.__aenter__()
        await self.proxy.start()
        self.channel = self.fake.add_channel(self.fake.guild, "tickets")
        self.people = [self.fake.user] + [
            self.fake.add_member(self.fake.guild, self.fake.add_user(name))
            for name in ("bob-on-discord", "erin")
        ]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "netbot.yaml"
        self.config_path.write_text(self._config_yaml(), encoding="utf-8")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.proxy.stop()
        await self.fake.__aexit__(*exc)

    # -- set-up -------------------------------------------------------------------------------

    def _config_yaml(self, **overrides: Any) -> str:
        """The bot's configuration for the threader: no periodic recheck (a run re-reads
        every open ticket for edits and deletes only when given ``--recheck``), claims
        settle after 0.5 s so a restart does not wait."""
        settings: dict[str, Any] = {
            "recheck_every_cycles": 0,
            "claim_settle_seconds": 0.5,
            "http_port": 0,
            "request_timeout_seconds": 10,
            **self.config_overrides,
            **overrides,
        }
        lines = ["guilds:", f"  - {self.fake.guild['id']}", "storage:"]
        lines += [f"  data_dir: {self.workdir}", "tickets:", "  project: ops", "threader:"]
        lines += [f"  {key}: {value}" for key, value in settings.items()]
        lines += [f"  default_channel: {self.channel['id']}"]
        return "\n".join(lines) + "\n"

    def redmine(self, login: str = "admin") -> Redmine:
        """python-redmine straight to Redmine (not through the proxy) as ``login``."""
        if login not in self._clients:
            key = self.info["users"][login]["api_key"]
            self._clients[login] = Redmine(self.redmine_url, key=key, requests={"timeout": 30})
        return self._clients[login]

    async def new_tickets(self, count: int, subject: str = "threader") -> list[int]:
        """Create ``count`` tickets in the seed's project (admin, straight to Redmine)."""

        def create() -> list[int]:
            project = self.info["project"]["id"]
            return [
                self.redmine().issue.create(project_id=project, subject=f"{subject} {n}").id
                for n in range(count)
            ]

        return await asyncio.to_thread(create)

    async def enrol(self, tickets: Iterable[int]) -> None:
        """Open a thread for each ticket and name it in the ticket's ``discord-thread`` field
        (one of the enrolment paths of issue 11)."""
        field_id = self.info["custom_fields"]["discord-thread"]
        for ticket in tickets:
            self.threads[ticket] = self.fake.add_thread(self.channel, f"#{ticket}")

        def name_threads() -> None:
            for ticket, thread in self.threads.items():
                self.redmine().issue.update(
                    ticket, custom_fields=[{"id": field_id, "value": thread["id"]}]
                )

        await asyncio.to_thread(name_threads)

    # -- traffic --------------------------------------------------------------------------------

    def _token(self, prefix: str) -> str:
        return f"{prefix}-{next(self._tokens):06d}"

    async def note(self, ticket: int, login: str, text: str = "") -> str:
        """``login`` adds a note in Redmine; returns its token."""
        token = self._token("rdm")
        notes = f"{token} {text}".strip()
        await asyncio.to_thread(lambda: self.redmine(login).issue.update(ticket, notes=notes))
        self.noted[token] = ticket
        return token

    def say(
        self,
        ticket: int,
        person: dict[str, Any],
        text: str = "",
        *,
        attachments: Iterable[tuple[str, bytes, str]] = (),
    ) -> Said:
        """``person`` writes in the ticket's thread."""
        token = self._token("dsc")
        message = self.fake.user_message(
            self.threads[ticket], person, f"{token} {text}".strip(), attachments=list(attachments)
        )
        said = Said(ticket, message, token, token)
        self.said.append(said)
        return said

    def edit(self, said: Said, text: str = "") -> None:
        edits = said.token.count("e") + 1
        said.token = f"{said.first_token}e{edits}"
        self.fake.user_edit(said.message, f"{said.token} {text}".strip())

    def delete(self, said: Said) -> None:
        self.fake.user_delete(said.message)
        said.deleted = True

    async def random_traffic(self, notes: int, messages: int, *, edits: float = 0.2,
                             deletes: float = 0.1) -> None:  # fmt: skip
        """Some notes and messages on random tickets, and maybe an edit and a delete."""
        tickets = list(self.threads)
        for _ in range(messages):
            self.say(self.rng.choice(tickets), self.rng.choice(self.people), "from discord")
        for _ in range(notes):
            await self.note(self.rng.choice(tickets), self.rng.choice(REDMINE_WRITERS))
        live = [s for s in self.said if not s.deleted]
        if live and self.rng.random() < edits:
            self.edit(self.rng.choice(live), "edited")
        if live and self.rng.random() < deletes:
            self.delete(self.rng.choice(live))

    # -- the threader ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The threader's environment: the proxy as Redmine, the fake as Discord."""
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "TMPDIR", "SYSTEMROOT")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            REDMINE_URL=self.proxy.url,
            REDMINE_TOKEN=self.info["users"]["admin"]["api_key"],
            DISCORD_TOKEN=DISCORD_TOKEN,
            DISCORD_API_BASE_URL=f"http://127.0.0.1:{self.fake.port}/api/v{{API_VERSION}}",
            DISCORD_GUILD_ID=self.fake.guild["id"],
            NETBOT_CONFIG=str(self.config_path),
            DATABASE_URL=self.database_url,
            NETBOT_DATA_DIR=str(self.workdir),
            PYTHONUNBUFFERED="1",
        )
        return env

    async def run(
        self,
        *args: str,
        kill: Kill | None = None,
        during: Callable[[], Any] | None = None,
        within: float = 120.0,
    ) -> Run:
        """Run ``threader.py args`` (default ``--once``) to its end or to ``kill``;
        ``during`` runs once the process has started (concurrent traffic)."""
        self.fake.reset_hits()
        redmine: Counter[str] = Counter()
        events = {"discord-write": 0, "redmine-write": 0, "any-request": 0}
        process: asyncio.subprocess.Process | None = None
        killed = False

        def event(kind: str) -> None:
            nonlocal killed
            events[kind] += 1
            due = kill is not None and kill.kind == kind and events[kind] == kill.n
            if due and process is not None and process.returncode is None:
                os.kill(process.pid, signal.SIGKILL)  # now: before the answer leaves
                killed = True

        def on_discord(method: str, template: str, status: int) -> None:
            if method in WRITES and status < 300:
                event("discord-write")
            event("any-request")

        def on_redmine(entry: LoggedRequest) -> None:
            redmine[route_of(entry)] += 1
            landed = entry.outcome == "forwarded" and (entry.status or 999) < 300
            if entry.method in WRITES and landed:
                event("redmine-write")
            event("any-request")

        removers = [self.fake.on_answer(on_discord), self.proxy.on_request(on_redmine)]
        started = time.perf_counter()
        log_path = self.workdir / f"run-{len(self.runs):04d}.log"
        try:
            with log_path.open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(THREADER),
                    *(args or ("--once",)),
                    env=self.env(),
                    cwd=PROJECT_ROOT,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
                if during is not None:
                    result = during()
                    if asyncio.iscoroutine(result):
                        await result
                try:
                    returncode = await asyncio.wait_for(process.wait(), within)
                except TimeoutError:
                    process.kill()
                    await process.wait()
                    raise AssertionError(
                        f"threader {args} ran over {within} s:\n{self._tail(log_path)}"
                    ) from None
        finally:
            for remove in removers:
                remove()
        run = Run(
            returncode,
            killed,
            self.fake.reset_hits(),
            redmine,
            self._tail(log_path),
            time.perf_counter() - started,
        )
        self.runs.append(run)
        if not killed and returncode != 0:
            raise AssertionError(f"threader {args} exited {returncode}:\n{run.output}")
        return run

    async def cycles(
        self,
        count: int,
        period: float,
        after_cycle: Callable[[int], Any] | None = None,
        within: float = 300.0,
    ) -> list[tuple[Counter[str], Counter[str]]]:
        """Run ``threader.py --every PERIOD`` for ``count`` cycles; the Discord and Redmine
        requests of each, counted on the wire between its "cycle:" log lines.
        ``after_cycle(i)`` runs after cycle i (e.g. to change tickets before the next)."""
        redmine: Counter[str] = Counter()

        def on_redmine(entry: LoggedRequest) -> None:
            redmine[route_of(entry)] += 1

        remove = self.proxy.on_request(on_redmine)
        self.fake.reset_hits()
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(THREADER), "--every", f"{period}s", env=self.env(),
            cwd=PROJECT_ROOT, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert process.stdout is not None
        found: list[tuple[Counter[str], Counter[str]]] = []
        output: list[str] = []
        try:
            async with asyncio.timeout(within):
                while len(found) < count:
                    line = (await process.stdout.readline()).decode(errors="replace")
                    if not line:
                        raise AssertionError("threader --every ended:\n" + "".join(output[-30:]))
                    output.append(line)
                    if "cycle failed" in line:
                        raise AssertionError("".join(output[-30:]))
                    if "threader: cycle:" in line:
                        found.append((self.fake.reset_hits(), redmine.copy()))
                        redmine.clear()
                        if after_cycle is not None:
                            result = after_cycle(len(found))
                            if asyncio.iscoroutine(result):
                                await result
                        redmine.clear()  # what after_cycle did itself is not counted
                        self.fake.reset_hits()
        finally:
            remove()
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await process.communicate()
        return found

    @staticmethod
    def _tail(path: Path, lines: int = 40) -> str:
        text = path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    async def crash_run(
        self, kills: int, *, recheck: float = 0.3, storms: float = 0.2
    ) -> Counter[str]:
        """``--once`` runs SIGKILLed at random points until ``kills`` kills, amid traffic both
        ways (one note and one message during each run), with ``--recheck`` in a share of
        the runs and a 429 storm (global, then on webhook executes) now and then. Returns
        the kills by kind plus ``runs``."""
        done: Counter[str] = Counter()
        while sum(n for kind, n in done.items() if kind != "runs") < kills:
            if self.rng.random() < storms:
                self.fake.rate_limit(None, times=2, retry_after=0.05, global_=True)
                self.fake.rate_limit(
                    "/webhooks/{webhook_id}/{webhook_token}", times=2, retry_after=0.05
                )
            kill = Kill.random(self.rng)
            args = ("--once", "--recheck") if self.rng.random() < recheck else ("--once",)
            run = await self.run(
                *args, kill=kill, during=lambda: self.random_traffic(notes=1, messages=1)
            )
            done["runs"] += 1
            if run.killed:
                done[kill.kind] += 1
            if done["runs"] > 4 * kills + 10:
                raise AssertionError(f"the kill points are hardly ever reached: {done}")
        return done

    async def settle(self, max_runs: int = 6, within: float = 120.0) -> Run:
        """Run ``--once --recheck`` until a run writes nothing (everything is across, edits
        and deletes included); that run."""
        for _ in range(max_runs):
            run = await self.run("--once", "--recheck", within=within)
            if LOCKED_OUT in run.output:
                raise AssertionError(f"the threader stayed locked out after a kill:\n{run.output}")
            if run.writes == 0:
                return run
        raise AssertionError(f"still writing after {max_runs} runs: {self.runs[-1].discord}")

    # -- the verdict ----------------------------------------------------------------------------

    async def journal_texts(self) -> dict[int, list[str]]:
        """Every note of every enrolled ticket, straight from Redmine."""

        def read() -> dict[int, list[str]]:
            return {
                ticket: [
                    str(getattr(journal, "notes", "") or "")
                    for journal in self.redmine().issue.get(ticket, include=["journals"]).journals
                ]
                for ticket in self.threads
            }

        return await asyncio.to_thread(read)

    async def compare(self) -> Verdict:
        """Zero duplicates, zero losses, nothing echoed (see the module)."""
        notes = await self.journal_texts()
        verdict = Verdict()
        in_redmine: dict[int, Counter[str]] = {
            ticket: Counter(t for text in texts for t in set(TOKEN_RE.findall(text)))
            for ticket, texts in notes.items()
        }
        in_discord: dict[int, Counter[str]] = {}
        for ticket, thread in self.threads.items():
            posted = self.fake.webhook_messages(thread)
            in_discord[ticket] = Counter(
                t for m in posted for t in set(TOKEN_RE.findall(m.content))
            )
        for said in self.said:
            seen = in_redmine[said.ticket]
            verdict.discord_messages += 1
            if said.deleted:
                if seen[said.token] > 1 or seen[said.first_token] > 1:
                    verdict.duplicates.append(f"{said.token} (deleted) in #{said.ticket}")
                continue
            if seen[said.token] > 1:
                verdict.duplicates.append(f"{said.token} x{seen[said.token]} in #{said.ticket}")
            elif seen[said.token] == 0:
                if said.token != said.first_token and seen[said.first_token] == 1:
                    verdict.stale_edits.append(f"{said.token} in #{said.ticket}")
                else:
                    verdict.losses.append(f"{said.token} in #{said.ticket}")
            if said.token != said.first_token and seen[said.first_token] > 1:
                verdict.duplicates.append(f"{said.first_token} (edited) in #{said.ticket}")
        for token, ticket in self.noted.items():
            verdict.redmine_notes += 1
            count = in_discord[ticket][token]
            if count > 1:
                verdict.duplicates.append(f"{token} x{count} in thread of #{ticket}")
            elif count == 0:
                verdict.losses.append(f"{token} of #{ticket} not in Discord")
        for ticket in self.threads:
            verdict.echoes += [
                f"{t} echoed into Redmine #{ticket}"
                for t in in_redmine[ticket]
                if t.startswith("rdm-") and in_redmine[ticket][t] > 1
            ]
            verdict.echoes += [
                f"{t} echoed into thread of #{ticket}"
                for t in in_discord[ticket]
                if t.startswith("dsc-")
            ]
        return verdict
