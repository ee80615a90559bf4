"""Autocomplete latency: Catalog.match_tickets and match_people over a large, synthetic project.

    python bench/autocomplete.py [--calls N] [--seed S]

No network: the catalog is filled in memory with 10,000 open tickets (ids 1..10000), 2,000
users and 50 teams, then each function answers a realistic mix of what people type (empty,
id prefixes of 1-4 digits, one to three words, misses). Prints p50/p95/p99/max per function
and the overall p99 against the 20 ms target (Discord gives autocomplete 3 s, shared by the
whole round trip). Prints numbers only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import percentile, timed
from netbot.redmine import RedmineGateway
from netbot.tickets.catalog import Catalog, TicketRow
from netbot.tickets.records import Person

TICKETS, USERS, TEAMS = 10_000, 2_000, 50
TARGET_P99_MS = 20.0

HOSTS = ["db", "web", "mail", "vpn", "fw", "lb", "ns", "k8s-node", "backup", "ci-runner", "nas"]
SITES = ["ams", "fra", "lon", "par", "nyc", "sfo", "sin", "office", "dc2", "lab"]
PROBLEMS = [
    "disk full on {h}", "{h} unreachable from {s}", "high CPU on {h}", "certificate expiring on {h}",
    "rotate TLS certificates for {h}", "{h} flapping at {s}", "backup job failed on {h}",
    "upgrade {h} to the next LTS", "printer jammed at {s}", "new laptop for {p}",
    "{p} cannot log in to {h}", "VPN drops for {p} at {s}", "add DNS record for {h}",
    "memory leak in {h} service", "replace failed drive in {h}", "open firewall port for {h}",
    "slow queries on {h}", "access request: {p} needs {h}", "decommission old {h} in {s}",
    "monitoring alert storm from {h}", "{h} kernel panic after patch", "wifi outage at {s}",
]  # fmt: skip
FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter",
         "Yusuf", "Zoë", "Björn", "Chen", "Priya", "Mateo", "Aisha", "Kenji", "Lena", "Omar"]  # fmt: skip
LAST = ["Anders", "Berg", "Smith", "Nguyen", "Garcia", "Müller", "Rossi", "Kowalski", "Silva",
        "Johansson", "Kim", "Patel", "Dubois", "Novak", "Tanaka", "Okafor", "Haddad", "Larsen"]  # fmt: skip
TEAM_WORDS = ["ops", "network", "db", "security", "helpdesk", "platform", "storage", "sre",
              "infra", "desktop"]  # fmt: skip


class NoRedmine(RedmineGateway):
    def api(self, as_login=None):  # type: ignore[no-untyped-def]
        raise AssertionError("the benchmark must not reach Redmine")


def build(rng: random.Random) -> tuple[Catalog, list[str], list[str]]:
    """A filled catalog, plus vocabularies to draw queries from."""
    people = [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(USERS)]
    catalog = Catalog(NoRedmine("http://127.0.0.1:9", "none"), "ops")
    subjects = []
    for _ in range(TICKETS):
        first, last = rng.choice(people)
        subject = rng.choice(PROBLEMS).format(
            h=f"{rng.choice(HOSTS)}-{rng.randint(1, 40)}", s=rng.choice(SITES), p=f"{first} {last}"
        )
        if rng.random() < 0.1:
            extra = rng.choice(["urgent", "again", "since Monday", f"see #{rng.randint(1, 9999)}"])
            subject += f" ({extra})"
        subjects.append(subject[0].upper() + subject[1:])
    catalog.load_tickets(TicketRow(i, subjects[i - 1]) for i in range(1, TICKETS + 1))
    users = {}
    for n, (first, last) in enumerate(people, start=100):
        login = f"{first[0]}{last}{n}".lower()
        users[login] = Person(n, login, f"{first} {last}")
    groups = {}
    for n in range(TEAMS):
        name = f"{TEAM_WORDS[n % len(TEAM_WORDS)]}-team-{n // len(TEAM_WORDS) + 1}"
        groups[name] = Person(10_000 + n, name, name, is_group=True)
    catalog._users, catalog._groups = users, groups
    words = sorted({w for s in subjects for w in s.lower().split() if len(w) > 2})
    return catalog, words, list(users)


def ticket_queries(rng: random.Random, words: list[str], n: int) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for _ in range(n):
        kind = rng.random()
        first = rng.randint(1, TICKETS) if rng.random() < 0.3 else None  # typed in a thread
        if kind < 0.10:
            typed = ""
        elif kind < 0.40:  # id prefixes, 1 to 4 digits, sometimes with '#'
            digits = str(rng.randint(1, TICKETS))[: rng.randint(1, 4)]
            typed = ("#" if rng.random() < 0.3 else "") + digits
        elif kind < 0.85:  # 1-3 words, sometimes a partial last word (still typing)
            picked = rng.sample(words, rng.randint(1, 3))
            if rng.random() < 0.5:
                picked[-1] = picked[-1][: max(2, len(picked[-1]) // 2)]
            typed = " ".join(w.upper() if rng.random() < 0.1 else w for w in picked)
        else:  # misses: nothing matches, so every ticket is examined
            typed = rng.choice(["kubernetes quota", "zzz", "printer dc9 xylophone", "#99999", "qq"])
        out.append((typed, first))
    return out


def people_queries(rng: random.Random, logins: list[str], n: int) -> list[str]:
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.10:
            out.append("")
        elif kind < 0.45:
            login = rng.choice(logins)
            out.append(("@" if rng.random() < 0.2 else "") + login[: rng.randint(1, 6)])
        elif kind < 0.75:
            out.append(rng.choice(FIRST + LAST)[: rng.randint(2, 8)].lower())
        elif kind < 0.90:
            out.append(rng.choice(TEAM_WORDS)[: rng.randint(2, 5)])
        else:
            out.append(rng.choice(["xyzzy", "no-such-person", "qq", "zebra-team"]))
    return out


def report(name: str, samples: list[float]) -> None:
    print(
        f"{name:<14} n={len(samples):>5}  p50={percentile(samples, 50):7.3f}  "
        f"p95={percentile(samples, 95):7.3f}  p99={percentile(samples, 99):7.3f}  "
        f"max={max(samples):7.3f}  mean={statistics.fmean(samples):7.3f}  (ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per function (>= 2000)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    started = time.perf_counter()
    catalog, words, logins = build(rng)
    print(
        f"catalog: {TICKETS} open tickets, {USERS} users, {TEAMS} teams "
        f"(built in {time.perf_counter() - started:.2f} s); {args.calls} calls per function"
    )
    tq = ticket_queries(rng, words, args.calls)
    pq = people_queries(rng, logins, args.calls)
    for typed, first in tq[:200]:  # warm-up
        catalog.match_tickets(typed, first)
    for typed in pq[:200]:
        catalog.match_people(typed)

    tickets = [timed(catalog.match_tickets, t, f) for t, f in tq]
    people = [timed(catalog.match_people, t) for t in pq]
    report("match_tickets", tickets)
    report("match_people", people)

    # the slowest kinds of query, to see what drives the tail
    worst = sorted(zip(tickets, tq, strict=True), key=lambda pair: pair[0], reverse=True)[:3]
    print("slowest match_tickets:", ", ".join(f"{q!r} {ms:.2f} ms" for ms, (q, _) in worst))
    overall = percentile(tickets + people, 99)
    verdict = "within" if overall < TARGET_P99_MS else "OVER"
    print(f"overall p99 = {overall:.3f} ms ({verdict} the {TARGET_P99_MS:g} ms target)")


if __name__ == "__main__":
    main()
