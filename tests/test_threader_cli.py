"""threader.py as operators run it: --once (cron), --every (the compose service), --health,
--help, and its exit codes, against the real Redmine and the fake Discord."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from fakes.discord import FakeDiscord
from netbot import identity
from netbot.capabilities import migration_dirs
from netbot.core.db import Database
from netbot.redmine import RedmineGateway
from tests.plugins.redmine_server import RedmineServer
from tests.threader_kit import TOKEN

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(
    tmp_path: Path, fake: FakeDiscord, redmine: RedmineServer, **threader: object
) -> dict[str, str]:
    config = tmp_path / "netbot.yaml"
    config.write_text(json.dumps({"guilds": [int(fake.guild["id"])],
                                  "storage": {"data_dir": str(tmp_path)},
                                  "threader": {"http_port": 0, **threader}}))  # fmt: skip
    return {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
        "REDMINE_URL": redmine.url, "REDMINE_TOKEN": redmine.admin_key,
        "DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE_URL": f"http://127.0.0.1:{fake.port}/api/v{{API_VERSION}}",
        "NETBOT_CONFIG": str(config), "DATABASE_URL": f"sqlite:///{tmp_path / 'netbot.sqlite3'}",
    }  # fmt: skip


async def threader(env: dict[str, str], *args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "threader.py"), *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


def test_help_documents_the_modes_and_exit_codes(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run([sys.executable, str(ROOT / "threader.py"), "--help"], cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0
    for words in ("--once", "--every", "--health", "0 ok; 1 a backend is unavailable; 2"):
        assert words in done.stdout


@pytest.mark.redmine
async def test_once_syncs_and_exit_codes_say_what_failed(
    tmp_path: Path, redmine: RedmineServer
) -> None:
    async with FakeDiscord(token=TOKEN) as fake:
        env = environment(tmp_path, fake, redmine)
        admin = RedmineGateway(redmine.url, redmine.admin_key)
        answer = admin.rest("post", "/issues.json", what="new", body={"issue": {
            "project_id": redmine.info["project"]["id"], "subject": "cli once"}})  # fmt: skip
        ticket = int(answer["issue"]["id"])
        thread = fake.add_thread(fake.channel, f"#{ticket}")
        field = redmine.info["custom_fields"]["discord-thread"]
        admin.rest("put", f"/issues/{ticket}.json", what="field", body={"issue": {
            "custom_fields": [{"id": field, "value": thread["id"]}], "notes": "from redmine"}})  # fmt: skip
        database = Database.open(env["DATABASE_URL"], migration_dirs())
        identity.set_link(database, int(fake.user["id"]), "alice", 1)
        database.close()
        fake.user_message(thread, fake.user, "from discord")
        try:
            code, out, err = await threader(env, "--once", cwd=tmp_path)
            assert code == 0, err
            assert "1 posted to Discord, 1 noted in Redmine" in out
            notes = admin.rest("get", f"/issues/{ticket}.json", params={"include": "journals"},
                               what="issue")["issue"]["journals"]  # fmt: skip
            assert sum("from discord" in (j["notes"] or "") for j in notes) == 1

            code, out, _ = await threader(env, "--once", cwd=tmp_path)
            assert code == 0 and "0 posted to Discord, 0 noted in Redmine" in out

            down = {**env, "DISCORD_API_BASE_URL": f"http://127.0.0.1:{free_port()}/api/v10"}
            code, _, err = await threader(down, "--once", cwd=tmp_path)
            assert code == 1 and "Discord" in err

            redmine_down = {**env, "REDMINE_URL": f"http://127.0.0.1:{free_port()}"}
            code, _, err = await threader(redmine_down, "--once", cwd=tmp_path)
            assert code == 1 and "Redmine is unreachable" in err

            no_token = {k: v for k, v in env.items() if k != "DISCORD_TOKEN"}
            code, _, err = await threader(no_token, "--once", cwd=tmp_path)
            assert code == 2 and "DISCORD_TOKEN is not set" in err

            code, _, err = await threader(
                {**env, "REDMINE_TOKEN": redmine.key("alice")}, "--once", cwd=tmp_path
            )
            assert code == 2 and "administrator" in err
        finally:
            admin.rest("put", f"/issues/{ticket}.json", what="field",
                       body={"issue": {"custom_fields": [{"id": field, "value": ""}]}})  # fmt: skip


@pytest.mark.redmine
async def test_every_serves_health_and_stops_on_sigterm(
    tmp_path: Path, redmine: RedmineServer
) -> None:
    async with FakeDiscord(token=TOKEN) as fake:
        port = free_port()
        env = environment(tmp_path, fake, redmine, http_port=port)
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "threader.py"), "--every", "200ms", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await fake.wait_until(
                lambda: fake.hits["GET /guilds/{guild_id}/threads/active"] >= 2, "two cycles", 60
            )

            def healthz() -> tuple[int, dict[str, object]]:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=5
                ) as answer:
                    return answer.status, json.loads(answer.read())

            status, body = await asyncio.to_thread(healthz)
            assert status == 200 and body["status"] == "ok"
            metrics = await asyncio.to_thread(
                lambda: (
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
                    .read()
                    .decode()
                )
            )
            assert "netbot_threader_last_cycle_timestamp_seconds" in metrics
            assert "netbot_threader_backlog" in metrics
            code, _, _ = await threader(env, "--health", cwd=tmp_path)
            assert code == 0
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
        assert process.returncode == 0
        code, _, _ = await threader(env, "--health", cwd=tmp_path)
        assert code == 1
