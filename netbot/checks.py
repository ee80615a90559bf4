"""`python -m netbot check`: is this deployment ready? One line per check, no gateway login.

It validates the configuration and the secrets, then reaches each configured backend once,
the way the bot will (the database and its migration state, Discord's REST API with the
token, Redmine with impersonation, Kontur's sign-in and feeds, NetBox with the token, Slack's
token and its scopes), and changes nothing: an
operator runs it after editing `.env` or the YAML file, before (re)starting the bot.
Exit code: 0 all ok; 1 a backend failed; 2 the configuration or the environment is wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

import aiohttp

from netbot import alerts, netbox, slack, tickets
from netbot.capabilities import CAPABILITIES, load_config, migration_dirs
from netbot.core.config import ConfigError, CoreConfig
from netbot.core.db import DatabaseProblem, database_url, unapplied_heads
from netbot.core.errors import UserError
from netbot.core.secrets import Secrets
from netbot.redmine import RedmineGateway

EXIT_OK, EXIT_BACKEND, EXIT_CONFIG = 0, 1, 2
DISCORD_API_VERSION = 10
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Check:
    """One check's outcome: `config` problems are the operator's to fix before anything runs."""

    name: str
    ok: bool
    detail: str
    config: bool = False

    @property
    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def read_config(path: str) -> tuple[CoreConfig | None, list[str]]:
    """The configuration at `path`, or None and its problems, one line each (the first says
    which file; the others, indented, each key's problem)."""
    try:
        return load_config(path), []
    except ConfigError as exc:
        head = f"configuration file {exc.path} has {len(exc.problems)} problem(s):"
        return None, [head, *(f"  - {problem}" for problem in exc.problems)]
    except OSError as exc:
        return None, [
            f"configuration file {path} cannot be read ({exc.strerror}): make it a readable "
            "YAML file (copy config/netbot.example.yaml) or point NETBOT_CONFIG at one"
        ]


def check_configuration(secrets: Secrets) -> tuple[CoreConfig | None, list[Check]]:
    """The YAML file and every variable an enabled part needs."""
    results: list[Check] = []
    config, problems = read_config(secrets.config_path)
    if config is None:
        detail = " ".join(line.strip() for line in problems)
        results.append(Check("configuration", False, detail, True))
    else:
        on = [
            name for name in ("core", *(c.name for c in CAPABILITIES)) if config.switched_on(name)
        ]
        results.append(
            Check(
                "configuration",
                True,
                f"{secrets.config_path}: {len(config.guilds)} guild(s), cogs on: {', '.join(on)}",
            )
        )
    needed = ["DISCORD_TOKEN"]
    for capability in CAPABILITIES:
        if config is not None and config.switched_on(capability.name):
            needed.extend(capability.requires)
    missing = secrets.missing(*needed)
    detail = "; ".join(f"{name} is not set (get it from: {secrets.hint(name)})" for name in missing)
    try:
        _ = secrets.sharding
    except ValueError as exc:
        detail = "; ".join(filter(None, (detail, str(exc))))
    results.append(Check("environment", not detail, detail or "every variable needed is set", True))
    return config, results


def check_database(secrets: Secrets, config: CoreConfig) -> Check:
    """Connect once and compare the schema with the newest migrations (applied at start)."""
    try:
        url = database_url(secrets.database_url.reveal(), config.storage.data_dir)
        behind = unapplied_heads(url, migration_dirs())
    except DatabaseProblem as exc:
        return Check("database", False, str(exc))
    state = f"{len(behind)} migration head(s) to apply at start" if behind else "schema up to date"
    return Check("database", True, f"reachable; {state}")


async def check_discord(secrets: Secrets) -> Check:
    """The token through REST `GET /users/@me`: valid, and whose it is (no gateway login)."""
    base = secrets.discord_api_base_url.format(API_VERSION=DISCORD_API_VERSION)
    headers = {"Authorization": f"Bot {secrets.discord_token.reveal()}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as http,
            http.get(f"{base}/users/@me", headers=headers) as answer,
        ):
            body = await answer.json(content_type=None) if answer.status == 200 else {}
            status = answer.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Check("discord", False, f"unreachable at {base} ({type(exc).__name__}: {exc})")
    if status == 401:
        return Check(
            "discord",
            False,
            "Discord rejected DISCORD_TOKEN (HTTP 401): copy a new one from the Developer "
            "Portal > your application > Bot > Reset Token",
        )
    if status != 200:
        return Check("discord", False, f"{base}/users/@me answered HTTP {status}")
    return Check("discord", True, f"token valid: bot {body.get('username')} (id {body.get('id')})")


def check_redmine(secrets: Secrets, config: CoreConfig) -> Check:
    """The key is an administrator's, and a request impersonating its owner goes through."""
    settings = config.section("tickets", tickets.TicketsConfig)
    url = secrets.value("REDMINE_URL")
    gateway: RedmineGateway = tickets.build(
        url, secrets.secret("REDMINE_TOKEN").reveal(), settings
    ).gateway
    try:
        login = gateway.check_impersonation()
        seen = gateway.call(
            lambda: gateway.api(as_login=login).user.get("current"),
            what="the current user, impersonated",
        )
    except UserError as exc:
        return Check("redmine", False, f"{url}: {exc.message}")
    return Check(
        "redmine", True, f"{url}: key of administrator {login}; impersonation works ({seen.login})"
    )


async def check_kontur(secrets: Secrets, config: CoreConfig) -> Check:
    """Sign in to Kontur and read each configured feed once."""
    settings = config.section("alerts", alerts.AlertsConfig)
    username = secrets.value("KONTUR_USERNAME")
    async with alerts.KonturClient(
        api_url=settings.api_url,
        token_url=settings.token_url,
        username=username,
        password=secrets.secret("KONTUR_PASSWORD"),
        client_id=settings.client_id,
        retries=1,
    ) as client:
        try:
            for feed in settings.feeds:
                await client.latest_update(feed)
        except alerts.KonturError as exc:
            return Check("kontur", False, str(exc))
    return Check(
        "kontur", True, f"signed in as {username}; feeds readable: {', '.join(settings.feeds)}"
    )


def check_netbox(secrets: Secrets, config: CoreConfig) -> Check:
    """NetBox's version, and one read with the token (what the index refresh needs)."""
    settings = config.section("netbox", netbox.NetboxConfig)
    if settings.url is None:
        return Check("netbox", False, "netbox.url is not set in the configuration", True)
    client = netbox.client_for(settings, secrets.secret(netbox.TOKEN_ENV))
    try:
        version = client.detect_version()
        sites = client.count("dcim/sites")
    except UserError as exc:
        return Check("netbox", False, f"{settings.url}: {exc.message}")
    finally:
        client.close()
    return Check("netbox", True, f"{settings.url}: NetBox {version}; the token reads {sites} sites")


async def check_slack(secrets: Secrets, config: CoreConfig) -> Check:
    """The token (`auth.test`) and the scopes this configuration needs."""
    settings = config.section("slack", slack.SlackConfig)
    client = slack.slack_client(
        secrets.secret(slack.TOKEN).reveal(), base_url=settings.base_url,
        timeout=TIMEOUT_SECONDS, max_retries=0,
    )  # fmt: skip
    needed = slack.scopes_for(settings)
    try:
        missing = await slack.missing_scopes(client, needed)
    except (slack.SlackRejected, slack.SlackUnavailable) as exc:
        return Check("slack", False, exc.message)
    finally:
        if client.session is not None:
            await client.session.close()
    if missing:
        return Check(
            "slack", False,
            f"the token lacks the scopes {', '.join(sorted(missing))}: add them to the app "
            "(README: Slack bridge) and reinstall it",
        )  # fmt: skip
    return Check("slack", True, f"token valid; scopes needed: {', '.join(sorted(needed))}")


async def run_checks(secrets: Secrets) -> list[Check]:
    """Every check that applies, in order; a backend whose configuration is wrong is skipped."""
    config, results = check_configuration(secrets)
    if secrets.discord_token:
        results.append(await check_discord(secrets))
    if config is None:
        return results
    results.append(await asyncio.to_thread(check_database, secrets, config))
    backends: dict[str, Callable[[], Awaitable[Check]]] = {
        "tickets": lambda: asyncio.to_thread(check_redmine, secrets, config),
        "alerts": lambda: check_kontur(secrets, config),
        "netbox": lambda: asyncio.to_thread(check_netbox, secrets, config),
        "slack": lambda: check_slack(secrets, config),
    }
    for capability in CAPABILITIES:
        probe = backends.get(capability.name)
        if probe is None or not config.switched_on(capability.name):
            continue
        if secrets.missing(*capability.requires):
            continue  # already a FAIL line under "environment"
        results.append(await probe())
    return results


def main(secrets: Secrets, out: TextIO) -> int:
    """Print one line per check; the exit code says what kind of problem there is, if any."""
    results = asyncio.run(run_checks(secrets))
    for result in results:
        print(result.line, file=out)
    if any(not r.ok and r.config for r in results):
        return EXIT_CONFIG
    return EXIT_OK if all(r.ok for r in results) else EXIT_BACKEND
