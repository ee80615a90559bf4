"""`python -m netbot` as an operator meets it on the first run: each mistake ends with one
line (what, why, what to do) and a documented exit code, never a traceback (unless
`--debug`); and the operator's tools, `check` and `invite-url`. Real processes throughout."""

from __future__ import annotations

import ast
import asyncio
import base64
import os
import runpy
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import discord
import pytest
import yaml

from fakes.discord import FakeDiscord
from fakes.kontur import FakeKontur
from fakes.netbox import FakeNetBox
from fakes.slack import FakeSlack
from netbot.capabilities import CAPABILITIES
from tests.plugins.redmine_server import RedmineServer

ROOT = Path(__file__).resolve().parents[1]
APP_ID = 123456789012345678
# A token shaped like Discord's: its first segment is the bot's id in base64.
TOKEN = base64.b64encode(str(APP_ID).encode()).decode().rstrip("=") + ".GxYz12.secret-part"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(tmp_path: Path, **overrides: Any) -> Path:
    config: dict[str, Any] = {
        "guilds": [1],
        "storage": {"data_dir": str(tmp_path / "data")},
        "cogs": {capability.name: False for capability in CAPABILITIES},
    }
    # A test names the cogs it switches on; every other one stays off.
    config["cogs"].update(overrides.pop("cogs", {}))
    config.update(overrides)
    path = tmp_path / "netbot.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "NETBOT_CONFIG": str(tmp_path / "netbot.yaml"),
        "DISCORD_TOKEN": TOKEN,
        **env,
    }


async def netbot(
    tmp_path: Path,
    *args: str,
    python: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    **more_env: str,
) -> Any:
    """Run `python -m netbot ARGS` to its end: (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, *python, "-m", "netbot", *args, cwd=tmp_path,
        env=environment(tmp_path, **(env or {}), **more_env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, out.decode(), err.decode()


def last_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert lines, "netbot said nothing"
    return lines[-1]


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "never retrieved" not in stderr, stderr
    assert "shut down cleanly" not in stderr, stderr


# -- Discord ----------------------------------------------------------------------------------


async def test_a_privileged_intent_switched_off_names_the_portal_toggle(tmp_path: Path) -> None:
    write_config(tmp_path)
    async with FakeDiscord(privileged_intents=()) as fake:
        code, _, err = await netbot(tmp_path, DISCORD_API_BASE_URL=fake.api_base_url)
    assert code == 3, err
    line = last_line(err)
    assert "gateway close 4014" in line and "Server Members Intent" in line, line
    assert "Privileged Gateway Intents" in line and line.endswith("(exit code 3)"), line
    assert_no_traceback(err)


async def test_a_rejected_token_says_where_to_get_a_new_one(tmp_path: Path) -> None:
    write_config(tmp_path)
    async with FakeDiscord(token="the-real-token") as fake:
        code, _, err = await netbot(tmp_path, DISCORD_API_BASE_URL=fake.api_base_url)
    assert code == 3, err
    line = last_line(err)
    assert "Discord rejected DISCORD_TOKEN (HTTP 401)" in line and "Reset Token" in line, line
    assert TOKEN not in err
    assert_no_traceback(err)


async def test_unreachable_discord_is_retried_with_one_line_per_attempt(tmp_path: Path) -> None:
    write_config(tmp_path)
    base = f"http://127.0.0.1:{closed_port()}/api/v{{API_VERSION}}"
    code, _, err = await netbot(
        tmp_path, DISCORD_API_BASE_URL=base, NETBOT_DISCORD_RETRY_SECONDS="0.05,0.1"
    )
    assert code == 4, err
    attempts = [line for line in err.splitlines() if "Discord unreachable at" in line]
    assert len(attempts) == 2, err
    assert "attempt 1 of 3" in attempts[0] and "retrying in 0.05s" in attempts[0]
    assert "attempt 2 of 3" in attempts[1] and "retrying in 0.1s" in attempts[1]
    line = last_line(err)
    assert "Discord is unreachable at" in line and "after 3 attempts" in line, line
    assert "DISCORD_API_BASE_URL" in line and line.endswith("(exit code 4)"), line
    assert_no_traceback(err)


async def test_a_bot_in_none_of_its_guilds_says_so_and_stops_cleanly(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    write_config(tmp_path, guilds=[424242])
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "netbot", cwd=tmp_path,
        env=environment(tmp_path, DISCORD_API_BASE_URL=fake_discord.api_base_url),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    seen = ""
    try:
        while "configured guilds" not in seen:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line, f"netbot ended first: {seen}"
            seen += line.decode()
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = seen + rest.decode()
    assert "not in any of the configured guilds (424242); it serves no one" in log, log
    assert "python -m netbot invite-url" in log
    assert process.returncode == 0, log
    assert last_line(log).endswith("shut down cleanly"), log
    assert "Traceback" not in log and "never retrieved" not in log, log


# -- database, configuration, Python ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code", "expected"),
    [
        ("not a url", 2, "DATABASE_URL is not a database URL"),
        ("nosuchdb://host/x", 2, "DATABASE_URL names a database SQLAlchemy does not know"),
        ("mysql+pymysql://netbot@127.0.0.1/x", 2, "install it: .venv/bin/pip install 'PyMySQL'"),
        ("postgresql+psycopg://netbot@127.0.0.1:{port}/x", 4, "database at 127.0.0.1:{port} is unreachable"),
    ],
    ids=["malformed", "unknown-dialect", "driver-missing", "unreachable"],
)  # fmt: skip
async def test_database_problems_end_with_one_line(
    tmp_path: Path, url: str, code: int, expected: str
) -> None:
    write_config(tmp_path)
    port = str(closed_port())
    returned, _, err = await netbot(tmp_path, DATABASE_URL=url.format(port=port))
    assert returned == code, err
    assert expected.format(port=port) in last_line(err), err
    assert last_line(err).endswith(f"(exit code {code})"), err
    assert_no_traceback(err)


async def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    write_config(tmp_path)
    code, _, err = await netbot(tmp_path, "--debug", DATABASE_URL="not a url")
    assert code == 2
    assert "Traceback" in err and "DATABASE_URL is not a database URL" in err


async def test_a_missing_configuration_file_is_one_problem_with_exit_2(tmp_path: Path) -> None:
    code, _, err = await netbot(tmp_path, NETBOT_CONFIG=str(tmp_path / "absent.yaml"))
    assert code == 2
    assert "absent.yaml has 1 problem(s)" in err and "the file does not exist" in err, err
    assert_no_traceback(err)


async def test_an_unreadable_configuration_file_is_one_problem_with_exit_2(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-directory.yaml").mkdir()
    code, _, err = await netbot(tmp_path, NETBOT_CONFIG=str(tmp_path / "a-directory.yaml"))
    assert code == 2
    assert "a-directory.yaml cannot be read (Is a directory)" in err, err
    assert_no_traceback(err)


async def test_without_the_dependencies_one_line_says_to_use_the_venv(tmp_path: Path) -> None:
    write_config(tmp_path)
    # -S: no site-packages, as with a system Python outside the virtual environment.
    code, _, err = await netbot(tmp_path, python=("-S",))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "is not installed for" in err and ".venv/bin/pip install -r requirements.txt" in err


def test_an_older_python_is_told_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    with pytest.raises(SystemExit) as ended:
        runpy.run_module("netbot", run_name="__main__")
    assert ended.value.code == 2
    assert "needs Python 3.11 or newer, and this is 3.9" in capsys.readouterr().err


def test_the_entry_point_parses_with_older_pythons() -> None:
    source = (ROOT / "netbot" / "__main__.py").read_text()
    ast.parse(source, feature_version=(3, 6))


# -- invite-url --------------------------------------------------------------------------------


async def test_invite_url_asks_for_exactly_the_enabled_cogs_permissions(tmp_path: Path) -> None:
    write_config(tmp_path, cogs={"tickets": False, "alerts": True})
    code, out, _ = await netbot(tmp_path, "invite-url")
    assert code == 0
    core_and_alerts = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
    assert out.strip() == (
        f"https://discord.com/oauth2/authorize?client_id={APP_ID}"
        f"&scope=bot+applications.commands&permissions={core_and_alerts.value}"
    )

    write_config(tmp_path, cogs={"tickets": True, "alerts": True})
    code, out, _ = await netbot(tmp_path, "invite-url", "--client-id", "42")
    assert code == 0
    with_tickets = discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True, create_public_threads=True,
        send_messages_in_threads=True, manage_threads=True,
    )  # fmt: skip
    assert out.strip().endswith(
        f"client_id=42&scope=bot+applications.commands&permissions={with_tickets.value}"
    )


# -- check -------------------------------------------------------------------------------------


async def test_check_reaches_every_configured_backend_once(
    fake_discord: FakeDiscord, redmine: RedmineServer, tmp_path: Path
) -> None:
    async with FakeKontur(password="kontur-pass") as kontur:
        config = {"api_url": kontur.api_url, "token_url": kontur.token_url}
        write_config(tmp_path, cogs={"tickets": True, "alerts": True}, alerts=config)
        env = {
            "DISCORD_API_BASE_URL": fake_discord.api_base_url,
            "REDMINE_URL": redmine.url,
            "REDMINE_TOKEN": redmine.admin_key,
            "KONTUR_USERNAME": "netbot",
            "KONTUR_PASSWORD": "kontur-pass",
        }
        code, out, err = await netbot(tmp_path, "check", env=env)
        assert code == 0, out + err
        lines = out.splitlines()
        assert [line.split(":")[0] for line in lines] == [
            "ok   configuration", "ok   environment", "ok   discord",
            "ok   database", "ok   redmine", "ok   kontur",
        ], out  # fmt: skip
        assert "token valid: bot netbot" in lines[2]
        assert "migration head(s) to apply at start" in lines[3]
        assert "key of administrator admin; impersonation works (admin)" in lines[4]
        assert "feeds readable: kontur-public" in lines[5]
        # Only REST: no gateway session was opened.
        assert not fake_discord.requests_to("GET", "/gateway")

        env.update(REDMINE_TOKEN=redmine.key("alice"), KONTUR_PASSWORD="wrong")
        code, out, _ = await netbot(tmp_path, "check", env=env)
    assert code == 1, out
    failed = {line.split(":")[0] for line in out.splitlines() if line.startswith("FAIL")}
    assert failed == {"FAIL redmine", "FAIL kontur"}, out
    assert "REDMINE_TOKEN must belong to a Redmine administrator" in out
    assert redmine.key("alice") not in out and "kontur-pass" not in out


async def test_check_reads_netbox_and_slack_with_their_tokens(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with FakeNetBox() as netbox, FakeSlack(scopes={"chat:write"}) as slack:
        write_config(
            tmp_path, cogs={"netbox": True, "slack": True}, netbox={"url": netbox.url},
            slack={"base_url": slack.base_url, "incident_channels": {"enabled": True}},
        )  # fmt: skip
        env = {
            "DISCORD_API_BASE_URL": fake_discord.api_base_url,
            "NETBOX_TOKEN": "wrong-netbox-token-0123",
            "SLACK_BOT_TOKEN": slack.token,
        }
        code, out, err = await netbot(tmp_path, "check", env=env)
        assert code == 1, out + err
        lines = dict(line.split(":", 1) for line in out.splitlines())
        assert "refused netbot's token (NETBOX_TOKEN, HTTP 403)" in lines["FAIL netbox"], out
        assert (
            lines["FAIL slack"]
            .strip()
            .startswith(
                "the token lacks the scopes channels:history, channels:manage, channels:read"
            )
        ), out
        assert "wrong-netbox-token-0123" not in out + err and slack.token not in out + err

        slack.scopes = frozenset({"chat:write", "channels:history"})
        write_config(
            tmp_path, cogs={"netbox": True, "slack": True}, netbox={"url": netbox.url},
            slack={"base_url": slack.base_url},
        )  # fmt: skip
        env["NETBOX_TOKEN"] = netbox.token
        code, out, err = await netbot(tmp_path, "check", env=env)
    assert code == 0, out + err
    sites = len(netbox.dataset.rows("dcim/sites"))
    assert {line.split(":")[0] for line in out.splitlines()[-2:]} == {"ok   netbox", "ok   slack"}
    assert f"NetBox {netbox.version}; the token reads {sites} sites" in out
    assert "token valid; scopes needed: channels:history, chat:write" in out


async def test_check_names_a_rejected_token_and_missing_variables(tmp_path: Path) -> None:
    write_config(tmp_path, cogs={"tickets": True, "alerts": False})
    async with FakeDiscord(token="the-real-token") as fake:
        code, out, _ = await netbot(tmp_path, "check", DISCORD_API_BASE_URL=fake.api_base_url)
    assert code == 2, out
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert "REDMINE_URL is not set" in lines["FAIL environment"], out
    assert "Discord rejected DISCORD_TOKEN (HTTP 401)" in lines["FAIL discord"], out
    assert "ok   database" in lines


def test_every_declared_permission_is_a_discord_permission() -> None:
    from netbot.discord_bot import permissions_value
    from netbot.discord_bot.bot import COGS

    for cog in COGS:
        assert permissions_value(cog.discord_permissions) > 0, cog.name
    with pytest.raises(ValueError, match="unknown Discord permission"):
        permissions_value(["send_mesages"])


async def test_invite_url_without_a_readable_token_asks_for_the_client_id(
    tmp_path: Path,
) -> None:
    write_config(tmp_path)
    code, out, err = await netbot(tmp_path, "invite-url", DISCORD_TOKEN="not-base64-digits")
    assert code == 2 and not out
    assert "pass --client-id" in last_line(err), err
