"""A bare process that runs the Slack drainer and nothing else, for the crash test and the
bench: `python -m tests.slack_drain_process DATABASE_URL SLACK_BASE_URL SLACK_TOKEN`.

It builds the bridge as the bot does (`netbot.slack.build` on a `Runtime`, the real clock,
the supervisor), says "ready" on stdout, and drains until killed: the test SIGKILLs it at
random points and starts another on the same database.
"""

from __future__ import annotations

import asyncio
import sys

from netbot.capabilities import env_vars, migration_dirs, parse_config
from netbot.core.db import Database
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets
from netbot.slack import build


async def main(database_url: str, base_url: str, token: str) -> None:
    database = Database.open(database_url, migration_dirs())
    config = parse_config({
        "guilds": [1],
        "cogs": {"tickets": False, "alerts": False},
        "slack": {"base_url": base_url, "pace_seconds": 0, "poll_seconds": 0.2,
                  "retry": {"client_retries": 0, "first_seconds": 0.05, "max_seconds": 0.5,
                            "request_timeout_seconds": 5}},
    })  # fmt: skip
    secrets = Secrets.from_mapping({"SLACK_BOT_TOKEN": token}, env_vars())
    runtime = Runtime(config=config, secrets=secrets, database=database)
    if runtime.supervisor.leases is not None:
        # On PostgreSQL the job runs under a lease, which a killed process keeps for two
        # periods (in production another process takes over when it runs out). Here every
        # process is the same drainer restarted: it goes on under the same name at once.
        runtime.supervisor.leases.holder = "slack-crash-test-drainer"
    build(runtime)
    runtime.supervisor.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
