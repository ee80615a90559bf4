"""`python -m netbot`: check everything, then run the bot until SIGTERM or SIGINT.

Start-up refuses to run (exit code 2) when the configuration or the environment is wrong,
and says everything that is wrong at once, so an operator fixes it in one go. It also
refuses a second process on one SQLite file (PostgreSQL is the store for several processes,
e.g. one per group of shards: NETBOT_SHARD_COUNT, NETBOT_SHARD_IDS).

Background jobs (the runtime's supervisor) start once the bot is connected, with every cog
loaded, and stop before the connection closes, so no job posts to a closing bot.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TextIO

from netbot.capabilities import env_vars, load_config, migration_dirs
from netbot.core.config import ConfigError, CoreConfig
from netbot.core.db import Database, database_url
from netbot.core.leases import AlreadyRunning, ProcessLock
from netbot.core.logs import setup_logging
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets, load_secrets
from netbot.core.web import create_app, start_http, stop_http
from netbot.discord_bot import NetBot, create_bot

log = logging.getLogger("netbot")

EXIT_OK = 0
EXIT_CONFIG = 2
REQUIRED_FOR_BOT = ("DISCORD_TOKEN",)


def check_start_up(secrets: Secrets) -> tuple[CoreConfig | None, list[str]]:
    """Load the configuration and check the environment; return every problem as a line."""
    problems: list[str] = []
    config = None
    try:
        config = load_config(secrets.config_path)
    except ConfigError as exc:
        problems.append(f"configuration file {exc.path} has {len(exc.problems)} problem(s):")
        problems.extend(f"  - {p}" for p in exc.problems)
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
    runtime.supervisor.start()
    log.info("background jobs started: %s", ", ".join(runtime.supervisor.jobs) or "none")


async def serve(runtime: Runtime) -> int:
    """Run the bot and the side door until a signal; drain commands, then close."""
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

    bot_task = asyncio.create_task(bot.start(runtime.secrets.discord_token.reveal()))
    stop_task = asyncio.create_task(stop.wait())
    jobs_task = asyncio.create_task(start_jobs_when_ready(bot, runtime))
    await asyncio.wait({bot_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    code = EXIT_OK
    if bot_task.done() and bot_task.exception() is not None:
        log.error("the Discord connection failed", exc_info=bot_task.exception())
        code = 1
    else:
        log.info("shutting down: finishing running commands")
        await bot.drain()
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
    log.info("shut down cleanly")
    return code


def main() -> int:
    secrets = load_secrets(env_vars=env_vars())
    config, problems = check_start_up(secrets)
    if problems or config is None:
        report(problems, sys.stderr)
        return EXIT_CONFIG
    setup_logging(config.logging.level, secrets)
    url = database_url(secrets.database_url.reveal(), config.storage.data_dir)
    lock = ProcessLock.for_url(url)
    if lock is not None:
        try:
            lock.acquire()
        except AlreadyRunning as exc:
            print(f"netbot cannot start: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    try:
        runtime = Runtime(
            config=config, secrets=secrets, database=Database.open(url, migration_dirs())
        )
        return asyncio.run(serve(runtime))
    finally:
        if lock is not None:
            lock.release()
