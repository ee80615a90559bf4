"""threader: keeps each enrolled Redmine ticket and its Discord thread in sync, both ways.

Each Discord message becomes a note written as its author (X-Redmine-Switch-User, linked by
Discord user id), each new journal a message in the thread posted through a channel webhook
under the Redmine author's name; edits, deletes, attachments, private notes, closing and
reopening are carried over, exactly once through crashes (netbot/threader/sync.py). REST
only: no gateway connection. It shares the bot's configuration file and database.

    python threader.py               the start-up check only: the Redmine key must be an
                                     administrator's and impersonation must take effect
    python threader.py --once        the check, then one sync cycle (cron)
    python threader.py --every 30s   the check, then a cycle every 30 s until SIGTERM (the
                                     compose service), with /healthz and /metrics on
                                     threader.http_host:http_port (default 127.0.0.1:8081;
                                     NETBOT_THREADER_HTTP_PORT overrides the port). It never
                                     exits on a configuration problem: it says what is
                                     wrong, stays unhealthy and checks again every 5 minutes
                                     (a restart policy cannot loop); a failing cycle is
                                     retried at the next period.
    python threader.py --health      the service's health check: exit 0 when its /healthz
                                     answers 200, else 1
    --recheck (with --once)          also re-read every enrolled open ticket and thread for
                                     edits and deletes that move no cursor

Exit codes: 0 ok (also when another threader held the lock: it prints BUSY's line); 1 a
backend (Redmine, Discord, the database) is unavailable; 2 the configuration or the
environment is wrong, or Redmine refuses impersonation.

Environment (or .env): REDMINE_URL, REDMINE_TOKEN (an administrator's API key),
DISCORD_TOKEN, DISCORD_API_BASE_URL (optional, a Discord-compatible API), DATABASE_URL
(optional: the bot's; default the SQLite file in the configuration's storage.data_dir),
NETBOT_CONFIG (the bot's YAML file, default config/netbot.yaml; its `threader:` section).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
import threading
import urllib.request
from typing import Any

from netbot.capabilities import env_vars, load_config, migration_dirs
from netbot.core.config import ConfigError, CoreConfig
from netbot.core.db import Database, DatabaseProblem, DatabaseUnreachable, database_url
from netbot.core.errors import BackendUnavailable, UserError
from netbot.core.logs import setup_logging
from netbot.core.secrets import EnvVar, Secrets, load_secrets
from netbot.redmine import RedmineGateway
from netbot.threader import ThreaderConfig

EXIT_OK, EXIT_BACKEND, EXIT_CONFIG = 0, 1, 2
RETRY_SECONDS = 300
BUSY = "threader: another threader is running a cycle; nothing done"
# Where the side door listens, set per deployment (overrides threader.http_port).
PORT_ENV = EnvVar(
    "NETBOT_THREADER_HTTP_PORT", "optional: the threader's /healthz port (default 8081)", False
)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}

log = logging.getLogger("netbot.threader")


class Failed(Exception):
    """The run ends: `line` says why, `code` is the exit code."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.line, self.code = line, code


def http_port(secrets: Secrets, settings: ThreaderConfig) -> int:
    """The side door's port: NETBOT_THREADER_HTTP_PORT when it is a number, else the setting."""
    port = secrets.value(PORT_ENV.name).strip()
    return int(port) if port.isdigit() else settings.http_port


def seconds(text: str) -> float:
    """`30s`, `5m`, `1h`, `250ms` or plain seconds, for --every."""
    match = DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30s, 5m, 1h)")
    return float(match.group(1)) * UNITS[match.group(2)]


def check_impersonation(secrets: Secrets) -> str:
    """The start-up check: the key owner's login; Failed (2) unless the key is an
    administrator's and a switched user really is who Redmine answers as."""
    missing = secrets.missing("REDMINE_URL", "REDMINE_TOKEN")
    if missing:
        raise Failed(
            "; ".join(f"{name} is not set; get it from: {secrets.hint(name)}" for name in missing),
            EXIT_CONFIG,
        )
    gateway = RedmineGateway(secrets.value("REDMINE_URL"), secrets.secret("REDMINE_TOKEN").reveal())
    try:
        owner = gateway.check_impersonation()
        users = gateway.rest("get", "/users.json", params={"status": "1", "limit": "25"},
                             what="the user list")  # fmt: skip
        other = next((u["login"] for u in users.get("users", []) if u["login"] != owner), None)
        if other is not None:
            seen = gateway.rest(
                "get", "/users/current.json", as_login=other, what="the current user"
            )
            if seen["user"]["login"] != other:
                raise UserError(
                    f"Redmine ignored X-Redmine-Switch-User (asked for {other!r}, answered as "
                    f"{seen['user']['login']!r}): impersonation does not take effect"
                )
    except UserError as exc:
        # Redmine down or slow: 1; a refused key (REDMINE_TOKEN) or a refusal to switch: 2.
        down = isinstance(exc, BackendUnavailable) and "REDMINE_TOKEN" not in exc.message
        raise Failed(exc.message, EXIT_BACKEND if down else EXIT_CONFIG) from None
    return str(owner)


def configuration(secrets: Secrets) -> CoreConfig:
    missing = secrets.missing("DISCORD_TOKEN")
    if missing:
        raise Failed(
            f"DISCORD_TOKEN is not set; get it from: {secrets.hint('DISCORD_TOKEN')}", EXIT_CONFIG
        )
    try:
        return load_config(secrets.config_path)
    except ConfigError as exc:
        raise Failed(str(exc), EXIT_CONFIG) from None
    except OSError as exc:
        raise Failed(
            f"configuration file {secrets.config_path} cannot be read ({exc.strerror})", EXIT_CONFIG
        ) from None


def open_database(config: CoreConfig, secrets: Secrets) -> Database:
    try:
        url = database_url(secrets.database_url.reveal(), config.storage.data_dir)
        return Database.open(url, migration_dirs())
    except DatabaseUnreachable as exc:
        raise Failed(str(exc), EXIT_BACKEND) from None
    except DatabaseProblem as exc:
        raise Failed(str(exc), EXIT_CONFIG) from None


async def once(threader: Any, recheck: bool) -> int:
    from netbot.threader import BackendDown, SetupProblem

    try:
        report = await threader.cycle(recheck=recheck)
    except SetupProblem as exc:
        raise Failed(str(exc), EXIT_CONFIG) from None
    except BackendDown as exc:
        raise Failed(str(exc), EXIT_BACKEND) from None
    print(f"threader: {report.line()}" if report.ran else BUSY)
    return EXIT_OK


async def serve(threader: Any, period: float, port: int, host: str, database: Database) -> None:
    """Cycles every `period` until SIGTERM/SIGINT, the side door up on host:port (0: off).
    A cycle that fails (a backend down, the thread field missing) is reported on /healthz
    and in the log, and tried again at the next period: the service never exits for it."""
    from netbot.core.health import DatabaseProbe
    from netbot.core.web import create_app, start_http, stop_http
    from netbot.threader import SideDoor, run_every

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    door = SideDoor.create()
    probe = DatabaseProbe(database.ping)
    runner = None
    if port:
        runner, bound = await start_http(create_app(door.health, door.metrics, probe), host, port)
        log.info("threader: /healthz and /metrics on %s:%d", host, bound)
    last_error: list[str] = [""]
    cycled: list[bool] = []

    async def on_cycle(report: Any, error: BaseException | None) -> None:
        door.record(report, error)
        if error is not None:
            if str(error) != last_error[0]:  # an outage is logged once, not every period
                log.warning("threader: cycle failed: %s", error)
            last_error[0] = str(error)
            return
        last_error[0] = ""
        if not report.ran:
            return
        log.info("threader: %s", report.line())  # one line per cycle: what it did and cost
        if not cycled:
            cycled.append(True)
            log.info("threader: first cycle done")

    try:
        await run_every(threader, period, stop, on_cycle)
    finally:
        if runner is not None:
            await stop_http(runner)
        probe.close()


async def run(
    config: CoreConfig, secrets: Secrets, database: Database, args: argparse.Namespace
) -> int:
    from netbot.threader import build

    threader = build(config, secrets, database)
    try:
        if args.once:
            return await once(threader, args.recheck)
        settings = config.section("threader", ThreaderConfig)
        await serve(threader, args.every, http_port(secrets, settings), settings.http_host,
                    database)  # fmt: skip
        return EXIT_OK
    finally:
        await threader.discord.close()
        threader.locks.close()


def prepare(secrets: Secrets) -> tuple[CoreConfig, Database]:
    """The start-up check, the configuration and the database; Failed says what is wrong."""
    check_impersonation(secrets)
    config = configuration(secrets)
    setup_logging(config.logging.level, secrets)
    return config, open_database(config, secrets)


def serve_when_ready(secrets: Secrets, args: argparse.Namespace) -> int:
    """`--every`: prepare (again every RETRY_SECONDS until it works, so a restart policy
    cannot loop on a threader that is not configured yet: unhealthy meanwhile), then serve."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    while not stopping.is_set():
        try:
            config, database = prepare(secrets)
        except Failed as exc:
            print(f"threader: {exc.line}", file=sys.stderr)
            print(f"threader: not ready, waiting; checking again in {RETRY_SECONDS} s",
                  file=sys.stderr)  # fmt: skip
            stopping.wait(RETRY_SECONDS)
            continue
        print("threader: ready", file=sys.stderr)
        try:
            return asyncio.run(run(config, secrets, database, args))
        finally:
            database.close()
    return EXIT_OK


def health(secrets: Secrets) -> int:
    """Exit 0 when the serving threader's /healthz answers 200."""
    try:
        settings = load_config(secrets.config_path).section("threader", ThreaderConfig)
    except (ConfigError, OSError):
        settings = ThreaderConfig()
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    port = http_port(secrets, settings)
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as answer:
            return EXIT_OK if answer.status == 200 else EXIT_BACKEND
    except OSError:
        return EXIT_BACKEND


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="threader.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 ok; 1 a backend is unavailable; 2 configuration, environment "
               "or impersonation refused.",
    )  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one sync cycle, then exit (cron)")
    mode.add_argument("--every", type=seconds, metavar="DURATION",
                      help="a cycle every DURATION (30s, 5m) until SIGTERM (a service)")  # fmt: skip
    mode.add_argument("--health", action="store_true", help="exit 0 when a service is healthy")
    parser.add_argument("--recheck", action="store_true",
                        help="with --once: also look for edits and deletes everywhere")  # fmt: skip
    args = parser.parse_args(argv)
    secrets = load_secrets(env_vars=(*env_vars(), PORT_ENV))
    if args.health:
        return health(secrets)
    if args.every:
        return serve_when_ready(secrets, args)
    try:
        if not args.once:
            owner = check_impersonation(secrets)
            print(f"threader: Redmine impersonation works (key owner {owner})")
            return EXIT_OK
        config, database = prepare(secrets)
        try:
            return asyncio.run(run(config, secrets, database, args))
        finally:
            database.close()
    except Failed as exc:
        print(f"threader: {exc.line}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
