"""threader: keeps a Redmine ticket's notes and its Discord thread in sync (a later release).

What exists today is its start-up check, because it is the one thing the threader must never
get wrong: every note it writes is posted as its author through `X-Redmine-Switch-User`,
and Redmine silently ignores that header for a non-admin key (the note would then carry the
key owner's name). So the threader refuses to run unless impersonation really works.

    python threader.py           the check once. Exit codes: 0 it passed, 2 configuration or
                                 impersonation problem.
    python threader.py --serve   the service (compose): the check, then it stays up until
                                 SIGTERM. A failed check is reported and retried every
                                 RETRY_SECONDS instead of exiting, so a restart policy cannot
                                 loop on a threader that is not configured yet.
    python threader.py --health  the service's health check: exit 0 once a serving threader's
                                 check has passed (READY_FILE exists), else 1.
"""

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from netbot.capabilities import env_vars
from netbot.core.errors import UserError
from netbot.core.secrets import load_secrets
from netbot.tickets import TicketsConfig, build

RETRY_SECONDS = 300
# In the temporary folder: the application's files are read-only to the runtime user, and
# the data volume is shared with the bot.
READY_FILE = Path(tempfile.gettempdir()) / "netbot-threader.ready"


def check() -> int:
    """The impersonation check: 0 when it works, 2 (and why, on stderr) when not."""
    secrets = load_secrets(env_vars=env_vars())
    missing = secrets.missing("REDMINE_URL", "REDMINE_TOKEN")
    for name in missing:
        print(f"threader: {name} is not set; get it from: {secrets.hint(name)}", file=sys.stderr)
    if missing:
        return 2
    # The configuration's defaults: the threader reads no configuration file yet.
    tickets = build(
        secrets.value("REDMINE_URL"), secrets.secret("REDMINE_TOKEN").reveal(), TicketsConfig()
    )
    try:
        owner = tickets.gateway.check_impersonation()
    except UserError as exc:
        print(f"threader: {exc.message}", file=sys.stderr)
        return 2
    print(f"threader: Redmine impersonation works (key owner {owner}); sync is not built yet")
    return 0


def serve() -> int:
    """Check (again every RETRY_SECONDS until it passes), then stay up until SIGTERM/SIGINT."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    READY_FILE.unlink(missing_ok=True)
    try:
        while not stopping.is_set():
            if check() == 0:
                READY_FILE.touch()
                print("threader: ready; waiting for SIGTERM", file=sys.stderr)
                stopping.wait()
            else:
                print(
                    f"threader: not ready, waiting; checking again in {RETRY_SECONDS} s",
                    file=sys.stderr,
                )
                stopping.wait(RETRY_SECONDS)
    finally:
        READY_FILE.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serve", action="store_true", help="run as a service (see module doc)")
    mode.add_argument("--health", action="store_true", help="exit 0 when a service is ready")
    args = parser.parse_args(argv)
    if args.health:
        return 0 if READY_FILE.is_file() else 1
    return serve() if args.serve else check()


if __name__ == "__main__":
    sys.exit(main())
