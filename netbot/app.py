"""`python -m netbot`: check everything, then run the bot until SIGTERM or SIGINT.

Start-up refuses to run (exit code 2) when the configuration or the environment is wrong,
and says everything that is wrong at once, so an operator fixes it in one go. It also
refuses a second process on one SQLite file (PostgreSQL is the store for several processes,
e.g. one per group of shards: NETBOT_SHARD_COUNT, NETBOT_SHARD_IDS).

An operator's mistake ends the process with one line (what, why, what to do) and an exit
code from the table below (documented in README.md, Troubleshooting), never a traceback;
`--debug` or NETBOT_LOG_LEVEL=DEBUG adds the traceback. A bug keeps its traceback (exit 1).
`python -m netbot check` and `python -m netbot invite-url` are the operator's other two
commands (netbot/checks.py; netbot/discord_bot/invite.py).

Background jobs (the runtime's supervisor) start once the bot is connected, with every cog
loaded, and stop before the connection closes, so no job posts to a closing bot.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from netbot import checks
from netbot.capabilities import env_vars, migration_dirs
from netbot.core import looplag
from netbot.core.config import CoreConfig
from netbot.core.db import (
    Database,
    DatabaseProblem,
    DatabaseUnreachable,
    DatabaseUrlInvalid,
    DriverMissing,
    database_url,
)
from netbot.core.leases import AlreadyRunning, ProcessLock
from netbot.core.logs import setup_logging
from netbot.core.runtime import Runtime
from netbot.core.secrets import EnvVar, Secrets, load_secrets
from netbot.core.web import create_app, start_http, stop_http
from netbot.discord_bot import (
    DEFAULT_RETRY_DELAYS,
    DiscordProblem,
    DiscordRefused,
    DiscordUnreachable,
    NetBot,
    application_id_from_token,
    create_bot,
    enabled_permissions,
    invite_url,
    permissions_value,
)

log = logging.getLogger("netbot")

# Exit codes (README.md, Troubleshooting). 2 and 3 need the operator; 4 may pass by itself,
# so a supervisor may restart on 4 (and 1) but should not on 2 or 3.
EXIT_OK = 0
EXIT_BUG = 1  # an unexpected error: the traceback is in the log
EXIT_CONFIG = 2  # configuration file, environment, DATABASE_URL, driver, Python, venv
EXIT_REFUSED = 3  # Discord refused the bot: token rejected, privileged intent off
EXIT_UNREACHABLE = 4  # Discord or the database did not answer
REQUIRED_FOR_BOT = ("DISCORD_TOKEN",)
# Start-up settings an operator rarely sets (read with the secrets, so `.env` works too).
RUN_ENV = (
    EnvVar(
        "NETBOT_LOG_LEVEL",
        "optional: DEBUG, INFO, WARNING or ERROR (overrides logging.level)",
        False,
    ),
    EnvVar(
        "NETBOT_DISCORD_RETRY_SECONDS",
        "optional: seconds between attempts to reach Discord at start-up, e.g. 1,2,4,8",
        False,
    ),
)
EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (DatabaseUrlInvalid, EXIT_CONFIG),
    (DriverMissing, EXIT_CONFIG),
    (DatabaseUnreachable, EXIT_UNREACHABLE),
    (DiscordRefused, EXIT_REFUSED),
    (DiscordUnreachable, EXIT_UNREACHABLE),
)


class StartUpFailed(Exception):
    """An operator's problem that ends the run: `line` says it, `code` is the exit code."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.line, self.code = line, code


def failure(exc: DatabaseProblem | DiscordProblem) -> StartUpFailed:
    code = next(code for kind, code in EXIT_CODES if isinstance(exc, kind))
    return StartUpFailed(str(exc), code)


def check_start_up(secrets: Secrets) -> tuple[CoreConfig | None, list[str]]:
    """Load the configuration and check the environment; return every problem as a line."""
    config, problems = checks.read_config(secrets.config_path)
    for name in secrets.missing(*REQUIRED_FOR_BOT):
        problems.append(
            f"environment variable {name} is not set; get it from: {secrets.hint(name)}"
        )
    try:
        _ = secrets.sharding
    except ValueError as exc:
        problems.append(str(exc))
    return config, problems


def report(problems: list[str], out: TextIO) -> None:
    print("netbot cannot start:", file=out)
    for line in problems:
        print(line if line.startswith("  ") else f"- {line}", file=out)
    print("Set variables in the environment or in a .env file (see .env.example).", file=out)


async def start_jobs_when_ready(bot: NetBot, runtime: Runtime) -> None:
    """Start the background jobs once the bot is connected (every cog is loaded by then)."""
    await bot.wait_until_ready()
    looplag.freeze_startup_heap()  # full garbage collections then stop the loop far less
    runtime.supervisor.start()
    log.info("background jobs started: %s", ", ".join(runtime.supervisor.jobs) or "none")


def retry_delays(secrets: Secrets) -> tuple[float, ...]:
    """NETBOT_DISCORD_RETRY_SECONDS (comma-separated seconds), else the default schedule."""
    raw = secrets.value("NETBOT_DISCORD_RETRY_SECONDS").strip()
    if not raw:
        return DEFAULT_RETRY_DELAYS
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        delays = (-1.0,)
    if any(delay < 0 for delay in delays):
        raise StartUpFailed(
            f"NETBOT_DISCORD_RETRY_SECONDS must be seconds separated by commas (e.g. 1,2,4), "
            f"not {raw!r}",
            EXIT_CONFIG,
        )
    return delays


async def serve(runtime: Runtime) -> int:
    """Run the bot and the side door until a signal; drain commands, then close.

    Raises StartUpFailed, after closing everything, when Discord refuses or cannot be
    reached: its line is then the last the process says."""
    bot = create_bot(runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    http_runner = None
    if runtime.config.http.enabled:
        app = create_app(runtime.health, runtime.metrics, runtime.database_probe)
        http_runner, port = await start_http(
            app, runtime.config.http.host, runtime.config.http.port
        )
        log.info("side door listening on %s:%d", runtime.config.http.host, port)

    token = runtime.secrets.discord_token.reveal()
    bot_task = asyncio.create_task(bot.run_gateway(token, retry_delays(runtime.secrets)))
    stop_task = asyncio.create_task(stop.wait())
    looplag.watch(runtime.supervisor, runtime.metrics)  # netbot_event_loop_lag_seconds
    jobs_task = asyncio.create_task(start_jobs_when_ready(bot, runtime))
    await asyncio.wait({bot_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    code, problem, drained = EXIT_OK, None, True
    error = bot_task.exception() if bot_task.done() else None
    if isinstance(error, DiscordProblem):
        problem = failure(error)
        problem.__cause__ = error
    elif error is not None:
        log.error("the Discord connection failed", exc_info=error)
        code = EXIT_BUG
    elif bot_task.done():
        log.error("the Discord connection ended without being asked to")
        code = EXIT_BUG
    else:
        log.info("shutting down: finishing running commands")
        drained = await bot.drain()
    jobs_task.cancel()
    await runtime.supervisor.stop()
    await bot.close()
    bot_task.cancel()
    stop_task.cancel()
    # Closing the connection can make py-cord's connect loop try a resume on the session
    # just closed; that ending is expected now, so it is collected here, not reported.
    await asyncio.gather(bot_task, stop_task, jobs_task, return_exceptions=True)
    if http_runner is not None:
        await stop_http(http_runner)
    runtime.close()
    if problem is not None:
        raise problem
    if code == EXIT_OK and drained:
        log.info("shut down cleanly")
    elif code == EXIT_OK:
        log.warning("shut down, interrupting the commands still running")
    return code


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m netbot",
        description="Run netbot; or check a deployment; or print the bot's invite link.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="log at DEBUG level, with tracebacks for failures"
    )
    commands = parser.add_subparsers(dest="command", metavar="{check,invite-url}")
    commands.add_parser(
        "check", help="validate configuration and secrets and reach each backend once"
    )
    invite = commands.add_parser(
        "invite-url", help="print the link that adds the bot with the permissions it needs"
    )
    invite.add_argument(
        "--client-id", type=int, help="the application id (default: read from DISCORD_TOKEN)"
    )
    return parser.parse_args(argv)


def print_invite_url(secrets: Secrets, client_id: int | None, out: TextIO) -> int:
    """Print the invite link for the cogs the configuration switches on; no login needed."""
    config, problems = check_start_up(secrets)
    if config is None:
        report([p for p in problems if "DISCORD_TOKEN" not in p], sys.stderr)
        return EXIT_CONFIG
    client_id = client_id or application_id_from_token(secrets.discord_token.reveal())
    if client_id is None:
        print(
            "netbot cannot build the invite link: pass --client-id (Developer Portal > your "
            "application > General Information > Application ID) or set DISCORD_TOKEN",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    names = enabled_permissions(config)
    print(invite_url(client_id, permissions_value(names)), file=out)
    print(f"permissions: {', '.join(names)}", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    secrets = load_secrets(env_vars=(*env_vars(), *RUN_ENV))
    if args.command == "check":
        return checks.main(secrets, sys.stdout)
    if args.command == "invite-url":
        return print_invite_url(secrets, args.client_id, sys.stdout)
    config, problems = check_start_up(secrets)
    if problems or config is None:
        report(problems, sys.stderr)
        return EXIT_CONFIG
    level = (
        "DEBUG"
        if args.debug
        else (secrets.value("NETBOT_LOG_LEVEL").upper() or config.logging.level)
    )
    setup_logging(level, secrets)
    try:
        return run(config, secrets)
    except StartUpFailed as exc:
        # The last line the process says; the traceback only for who asked for it.
        log.critical("%s (exit code %d)", exc.line, exc.code, exc_info=level == "DEBUG")
        return exc.code


def run(config: CoreConfig, secrets: Secrets) -> int:
    """Open the database (one process per SQLite file), then serve until stopped."""
    try:
        url = database_url(secrets.database_url.reveal(), config.storage.data_dir)
        lock = ProcessLock.for_url(url)
        if lock is not None:
            lock.acquire()
    except DatabaseProblem as exc:
        raise failure(exc) from exc
    except AlreadyRunning as exc:
        raise StartUpFailed(str(exc), EXIT_CONFIG) from exc
    try:
        try:
            database = Database.open(url, migration_dirs())
        except DatabaseProblem as exc:
            raise failure(exc) from exc
        runtime = Runtime(config=config, secrets=secrets, database=database)
        return asyncio.run(serve(runtime))
    finally:
        if lock is not None:
            lock.release()
