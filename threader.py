"""threader: keeps a Redmine ticket's notes and its Discord thread in sync (a later release).

What exists today is its start-up check, because it is the one thing the threader must never
get wrong: every note it writes is posted as its author through `X-Redmine-Switch-User`,
and Redmine silently ignores that header for a non-admin key (the note would then carry the
key owner's name). So the threader refuses to run unless impersonation really works.

Exit codes: 0 the check passed, 2 configuration or impersonation problem.
"""

from __future__ import annotations

import sys

from redminelib import Redmine
from redminelib.exceptions import BaseRedmineError

from netbot.secrets import HOW_TO_GET, load_secrets


def main() -> int:
    secrets = load_secrets()
    missing = secrets.missing("REDMINE_URL", "REDMINE_TOKEN")
    if missing:
        for name in missing:
            print(f"threader: {name} is not set; get it from: {HOW_TO_GET[name]}", file=sys.stderr)
        return 2
    key = secrets.redmine_token.reveal()
    api = Redmine(secrets.redmine_url, key=key, requests={"timeout": 10})
    try:
        me = api.user.get("current")
    except BaseRedmineError as exc:
        print(f"threader: cannot reach Redmine at {secrets.redmine_url}: {exc}", file=sys.stderr)
        return 2
    if not getattr(me, "admin", False):
        print(
            "threader: REDMINE_TOKEN must belong to a Redmine administrator, or Redmine ignores "
            "X-Redmine-Switch-User and every note would be posted under the key owner's name",
            file=sys.stderr,
        )
        return 2
    print(f"threader: Redmine impersonation works (key owner {me.login}); sync is not built yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
