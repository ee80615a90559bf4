"""Scale: what the bot costs at 1,000, 10,000 and 100,000 open tickets.

    python bench/scale.py [--counts 1000,10000,100000] [--only catalog] [--calls N]
    NETBOT_BENCH_COUNTS=200,2000 python bench/scale.py       # small, e.g. for a CI smoke

Sections (`--only` picks some; each is a function of the parsed arguments in `SECTIONS`,
which is where another section, e.g. the alert rules' figures, is added):

- `catalog`: for each count, a fake Redmine 5 (fakes/redmine_api.py, full issues of about
  1.5 KB of JSON each) serves the tickets from a thread of this process, and a separate
  bot-like process (this script with `--child`) imports what the bot imports (`netbot.app`:
  py-cord, SQLAlchemy, python-redmine, the capabilities), fills the catalog with a full
  refresh, and reports from /proc/self/status its RSS (the whole process: interpreter,
  libraries and the catalog; VmRSS) before and after, and its peak (VmHWM). Then
  autocomplete latency (p50/p99/max of `match_tickets` over a mix of what people type),
  and an incremental refresh after 1% of the tickets changed (half renamed, half closed).
- `cli`: `tickets.py --limit 100 --status all bob` against the plain python-redmine script
  bench/plain_list.py on the same real Redmine, interleaved (`--runs` each), as a ratio of
  medians (target: at most 1.05x), with 10 and with 2,000 active Redmine users: two Redmines
  from `scripts/redmine/up.sh`, on `--redmine-port` and the port after it, made to hold
  that many users (created through the admin API the first time) and 100 tickets of bob's
  (BENCH_USER); `--cli` times another checkout's tickets.py (a before figure).
- `alerts`: the alert rules' scale figures (bench/alerts_rules.py's `scale`).

Prints numbers and the targets they are held to; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cli_list import USER as CLI_LOGIN
from bench.cli_list import ensure_tickets
from bench.timing import percentile, timed
from fakes.redmine_api import CLOSED, HOSTS, PROBLEMS, SITES, FakeRedmineApi, serve_in_thread

DEFAULT_COUNTS = (1_000, 10_000, 100_000)
RSS_TARGETS_MB = {10_000: 120, 100_000: 200}  # at most, with that many tickets cached
P99_TARGET_MS = 5.0  # autocomplete at 100,000 tickets
ROOT = Path(__file__).resolve().parents[1]
CLI_USERS = (10, 2_000)  # active Redmine users, one Redmine each
CLI_RATIO_TARGET = 1.05  # tickets.py's median over the plain script's, at most


# ---------------------------------------------------------------------------------- child
def child(url: str, count: int, calls: int) -> None:
    """The bot-like process: fill a catalog from the fake Redmine, report as JSON lines."""
    import netbot.app  # noqa: F401 -- what the bot has loaded, for a bot-like baseline
    from netbot.redmine import RedmineGateway
    from netbot.tickets.catalog import Catalog

    def say(**figures: object) -> None:
        print(json.dumps(figures), flush=True)

    catalog = Catalog(RedmineGateway(url, "bench-key", timeout=60), "ops")
    before = memory()
    started = time.perf_counter()
    catalog.refresh_tickets()
    say(stage="full", seconds=time.perf_counter() - started, before=before, **memory())

    rng = random.Random(count)
    queries = typed_mix(rng, count, calls)
    for typed, first in queries[:200]:  # warm-up
        catalog.match_tickets(typed, first)
    samples = [timed(catalog.match_tickets, typed, first) for typed, first in queries]
    say(stage="autocomplete", samples=samples)

    sys.stdin.readline()  # the parent has changed some tickets
    started = time.perf_counter()
    catalog.refresh_tickets()
    say(stage="incremental", seconds=time.perf_counter() - started, **memory())


def memory() -> dict[str, float]:
    """This process's resident memory now and at its peak, in MB (/proc/self/status)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def typed_mix(rng: random.Random, count: int, calls: int) -> list[tuple[str, int | None]]:
    """What people type: nothing, id prefixes (some with #), one to three words of subjects,
    misses; a third from inside a ticket's thread."""
    words = sorted({w.lower() for p in PROBLEMS for w in p.split() if "{" not in w})
    words += [h.lower() for h in HOSTS] + SITES + [f"{rng.choice(HOSTS)}-{n}" for n in (1, 12, 33)]
    queries: list[tuple[str, int | None]] = []
    for _ in range(calls):
        kind = rng.random()
        if kind < 0.1:
            typed = ""
        elif kind < 0.45:
            typed = str(rng.randint(1, count))[: rng.randint(1, 6)]
            typed = f"#{typed}" if rng.random() < 0.3 else typed
        elif kind < 0.9:
            typed = " ".join(rng.sample(words, rng.randint(1, 3)))
        else:
            typed = rng.choice(["zzzq", "nothing like this", "lapt0p"])
        first = rng.randint(1, count) if rng.random() < 0.33 else None
        queries.append((typed, first))
    return queries


# ---------------------------------------------------------------------------------- catalog
def catalog_section(args: argparse.Namespace) -> None:
    print("== catalog: RSS, autocomplete, refreshes (a bot-like child process) ==")
    print(
        "RSS = the child's whole process (python, netbot.app's imports, the catalog); "
        "'base' = before the catalog was filled; peak = VmHWM."
    )
    header = (
        f"{'tickets':>8} {'base MB':>8} {'RSS MB':>7} {'peak MB':>8} {'full s':>7} {'reqs':>5} "
        f"{'incr s':>7} {'reqs':>5} {'changed':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    print(header)
    verdicts = []
    for count in args.counts:
        row = measure(count, args.calls)
        print(
            f"{count:>8} {row['base']:>8.1f} {row['rss']:>7.1f} {row['peak']:>8.1f} "
            f"{row['full_s']:>7.2f} {row['full_reqs']:>5} {row['incr_s']:>7.2f} "
            f"{row['incr_reqs']:>5} {row['changed']:>7} {row['p50']:>7.3f} {row['p99']:>7.3f} "
            f"{row['max']:>7.3f}"
        )
        if count in RSS_TARGETS_MB:
            verdicts.append(target(f"RSS at {count:,}", row["rss"], RSS_TARGETS_MB[count], "MB"))
        if count == 100_000:
            verdicts.append(target("autocomplete p99 at 100,000", row["p99"], P99_TARGET_MS, "ms"))
    for line in verdicts:
        print(line)


def target(what: str, value: float, limit: float, unit: str, places: int = 2) -> str:
    verdict = "met" if value <= limit else "NOT met"
    return f"target {what}: {value:.{places}f} {unit} (at most {limit:g} {unit}): {verdict}"


def measure(count: int, calls: int) -> dict[str, float]:
    """One count: serve it, run the child, change 1% of the tickets between its refreshes."""
    fake = FakeRedmineApi(count)
    with serve_in_thread(fake):
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", fake.base_url, str(count), str(calls)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None
        full = json.loads(process.stdout.readline())
        full_reqs = len(fake.requests_to("issues"))
        samples = json.loads(process.stdout.readline())["samples"]
        changed = max(2, count // 100)
        for ticket_id in random.Random(count).sample(sorted(fake.tickets), changed):
            if ticket_id % 2:
                fake.update(ticket_id, subject=f"renamed {ticket_id}")
            else:
                fake.update(ticket_id, status_id=CLOSED)
        process.stdin.write("go\n")
        process.stdin.flush()
        incremental = json.loads(process.stdout.readline())
        process.wait(60)
        incr_reqs = len(fake.requests_to("issues")) - full_reqs
    return {
        "base": full["before"]["VmRSS"], "rss": full["VmRSS"], "peak": incremental["VmHWM"],
        "full_s": full["seconds"], "full_reqs": full_reqs,
        "incr_s": incremental["seconds"], "incr_reqs": incr_reqs, "changed": changed,
        "p50": percentile(samples, 50), "p99": percentile(samples, 99), "max": max(samples),
    }  # fmt: skip


# ---------------------------------------------------------------------------------- cli
def cli_section(args: argparse.Namespace) -> None:
    print("== cli: tickets.py list vs a plain python-redmine script (bench/plain_list.py) ==")
    for offset, users in enumerate(CLI_USERS):
        url, key = redmine_up(args.redmine_port + offset)
        active = ensure_users(url, key, users)
        ensure_tickets(url, key)
        cli, plain = compare_cli(url, key, args.runs, args.cli)
        ratio = statistics.median(cli) / statistics.median(plain)
        print(
            f"{active:>6} users ({url}): tickets.py median {statistics.median(cli):6.0f} ms "
            f"(min {min(cli):.0f}), plain median {statistics.median(plain):6.0f} ms "
            f"(min {min(plain):.0f}); {args.runs} runs each, interleaved"
        )
        print(target(f"tickets.py / plain with {users:,} users", ratio, CLI_RATIO_TARGET, "x", 3))


def redmine_up(port: int) -> tuple[str, str]:
    """The project's test Redmine on `port` (started if need be): its URL and the admin key."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "redmine" / "up.sh"), str(port)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"scale: scripts/redmine/up.sh {port} failed: {done.stderr.strip()[-2000:]}")
    values = dict(item.split("=", 1) for item in shlex.split(done.stdout) if "=" in item)
    info = json.loads(Path(values["REDMINE_INFO_JSON"]).read_text())
    return values["REDMINE_URL"].rstrip("/"), info["users"]["admin"]["api_key"]


def ensure_users(url: str, key: str, wanted: int) -> int:
    """Make Redmine hold at least `wanted` active users (bench-NNNNN, created through the
    admin API, kept for the next run); returns how many there are."""
    from redminelib import Redmine

    api = Redmine(url, key=key, requests={"timeout": 60})
    found = api.user.filter(status=1, limit=1)
    len(found)  # evaluates the set, which fills total_count
    have: int = found.total_count
    if have < wanted:
        print(f"creating {wanted - have} Redmine users on {url} (once) ...", flush=True)
    for n in range(have, wanted):
        login = f"bench-{n:05d}"
        api.user.create(login=login, firstname="Bench", lastname=f"User {n}",
                        mail=f"{login}@example.test", password="bench-password-1")  # fmt: skip
    return max(have, wanted)


def compare_cli(url: str, key: str, runs: int, cli: Path) -> tuple[list[float], list[float]]:
    """Wall milliseconds of `runs` tickets.py lists and `runs` plain-script lists, alternating
    which goes first in each round so that drift in Redmine's speed hits both alike."""
    env = dict(os.environ, REDMINE_URL=url, REDMINE_TOKEN=key)
    commands = {
        "cli": [sys.executable, str(cli), "--limit", "100", "--status", "all",
                CLI_LOGIN],
        "plain": [sys.executable, str(ROOT / "bench" / "plain_list.py"), url, key, CLI_LOGIN],
    }  # fmt: skip
    times: dict[str, list[float]] = {"cli": [], "plain": []}
    for name in commands:  # warm-up: Redmine's caches, the page cache
        wall_ms(commands[name], env)
    for n in range(runs):
        for name in sorted(commands, reverse=bool(n % 2)):
            times[name].append(wall_ms(commands[name], env))
    return times["cli"], times["plain"]


def wall_ms(command: list[str], env: dict[str, str]) -> float:
    """Milliseconds one run of `command` takes, start-up included; exits if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        sys.exit(f"scale: {shlex.join(command[1:2])} failed ({done.returncode}): {done.stderr}")
    return elapsed


# ---------------------------------------------------------------------------------- alerts
def alerts_section(args: argparse.Namespace) -> None:
    print("== alerts: rules.poll by page size and notifications stored, replay ==")
    from bench import alerts_rules

    alerts_rules.scale(random.Random(args.seed))


# ---------------------------------------------------------------------------------- main
SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "catalog": catalog_section,
    "cli": cli_section,
    "alerts": alerts_section,
    # more sections here: name -> function of the parsed arguments
}


def counts_from(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, count, calls = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        child(url, count, calls)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--counts",
        type=counts_from,
        default=counts_from(os.environ.get("NETBOT_BENCH_COUNTS", "")) or DEFAULT_COUNTS,
        help="ticket counts, comma-separated (default: $NETBOT_BENCH_COUNTS or 1000,10000,100000)",
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    parser.add_argument("--calls", type=int, default=2000, help="autocomplete calls per count")
    parser.add_argument("--runs", type=int, default=20, help="cli: runs of each command")
    parser.add_argument("--redmine-port", type=int, default=3995,
                        help="cli: the 10-user Redmine's port; the 2,000-user one's is the next")  # fmt: skip
    parser.add_argument("--cli", type=Path, default=ROOT / "tickets.py",
                        help="cli: the tickets.py to time (another checkout's, for a before)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="alerts: the random seed")
    args = parser.parse_args()
    for name in args.only.split(","):
        if name not in SECTIONS:
            parser.error(f"unknown section {name!r}; known: {', '.join(SECTIONS)}")
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
