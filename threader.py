"""threader: keeps a Redmine ticket's notes and its Discord thread in sync (a later release).

What exists today is its start-up check, because it is the one thing the threader must never
get wrong: every note it writes is posted as its author through `X-Redmine-Switch-User`,
and Redmine silently ignores that header for a non-admin key (the note would then carry the
key owner's name). So the threader refuses to run unless impersonation really works.

Exit codes: 0 the check passed, 2 configuration or impersonation problem.
"""

import sys

from netbot.capabilities import env_vars
from netbot.core.errors import UserError
from netbot.core.secrets import load_secrets
from netbot.tickets import TicketsConfig, build


def main() -> int:
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


if __name__ == "__main__":
    sys.exit(main())
