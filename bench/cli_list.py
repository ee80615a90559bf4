"""Benchmark: wall time of `tickets.py --limit 100 --status all USER`, start-up included.

Run from the project root: `python bench/cli_list.py`. Redmine comes from REDMINE_URL +
REDMINE_TOKEN (an administrator's key) in the environment; otherwise, as root with
../shared/tools/redmine beside the project, it starts one on 127.0.0.1:3995. Only a loopback
Redmine is used: the bench creates tickets. It makes sure USER (BENCH_USER, default bob) has
at least 100 tickets in project `ops`, then times N=20 runs and prints numbers (no asserts).
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
REDMINE_UP = ROOT.parent / "shared" / "tools" / "redmine" / "redmine-up.sh"
PORT = "3995"
PROJECT = "ops"
USER = os.environ.get("BENCH_USER", "bob")
RUNS = 20
WANTED = 100


def redmine() -> tuple[str, str]:
    url, key = os.environ.get("REDMINE_URL"), os.environ.get("REDMINE_TOKEN")
    if url and key:
        return url.rstrip("/"), key
    if not REDMINE_UP.is_file() or os.geteuid() != 0:
        sys.exit(
            "cli_list: set REDMINE_URL and REDMINE_TOKEN (an admin's API key) of a Redmine on "
            f"127.0.0.1, or run as root with {REDMINE_UP} present to start one on port {PORT}"
        )
    print(f"starting Redmine on 127.0.0.1:{PORT} ...", flush=True)
    done = subprocess.run(["bash", str(REDMINE_UP), PORT], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cli_list: redmine-up.sh failed ({done.returncode}):\n{done.stderr[-2000:]}")
    values = dict(
        item.split("=", 1) for item in shlex.split(done.stdout.replace("\n", " ")) if "=" in item
    )
    return values["REDMINE_URL"].rstrip("/"), values["REDMINE_ADMIN_API_KEY"]


def ensure_tickets(url: str, key: str) -> None:
    from redminelib import Redmine

    api = Redmine(url, key=key, requests={"timeout": 30})
    user = next((u for u in api.user.filter(status=1) if u.login == USER), None)
    if user is None:
        sys.exit(f"cli_list: Redmine has no active user {USER!r} (set BENCH_USER)")
    found = api.issue.filter(project_id=PROJECT, assigned_to_id=user.id, status_id="*", limit=1)
    len(found)  # evaluates the set, which fills total_count
    have = found.total_count
    for n in range(have, WANTED):
        api.issue.create(
            project_id=PROJECT, subject=f"bench ticket {n + 1}", assigned_to_id=user.id
        )
    if have < WANTED:
        print(f"created {WANTED - have} tickets for {USER}")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    return (time.perf_counter() - start) * 1000, done


def main() -> None:
    url, key = redmine()
    if urlparse(url).hostname not in ("127.0.0.1", "localhost"):
        sys.exit(f"cli_list: refusing {url}: the bench creates tickets, use a Redmine on 127.0.0.1")
    ensure_tickets(url, key)
    env = dict(os.environ, REDMINE_URL=url, REDMINE_TOKEN=key)
    cli = [sys.executable, str(ROOT / "tickets.py"), "--limit", "100", "--status", "all", USER]

    times, rows = [], set()
    for _ in range(RUNS):
        ms, done = timed(cli, env)
        if done.returncode != 0:
            sys.exit(f"cli_list: tickets.py failed ({done.returncode}): {done.stderr.strip()}")
        times.append(ms)
        rows.add(len(done.stdout.splitlines()) - 3)  # minus title, header and footer
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(f"command: {shlex.join(['tickets.py', *cli[2:]])}  ({RUNS} runs)")
    print(f"wall ms: median {statistics.median(times):.0f}  p95 {p95:.0f}  max {times[-1]:.0f}")
    print(f"rows listed: {', '.join(map(str, sorted(rows)))}")

    py = [sys.executable, "-c"]
    imports = {
        "python -c pass": "pass",
        "import tickets": "import tickets",
        "import tickets + what a list imports": "import tickets, netbot.core.secrets, "
        "netbot.capabilities, netbot.redmine, netbot.tickets, netbot.tickets.service",
    }
    for label, code in imports.items():
        samples = sorted(timed([*py, code], env)[0] for _ in range(5))
        print(f"{label}: median {samples[2]:.0f} ms")
    done = subprocess.run(
        [*py[:1], "-X", "importtime", *py[1:], imports["import tickets + what a list imports"]],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    fields = [
        line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")
    ]
    top = [f for f in fields[1:] if not f[2].startswith("  ")]  # one space: a top-level import
    total = sum(int(f[1]) for f in top)
    print(f"-X importtime, sum of top-level cumulative: {total / 1000:.0f} ms")


if __name__ == "__main__":
    main()
