"""`python -m netbot` as operators run it: a real process, the fake Discord, the side door."""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import yaml

from fakes.discord import FakeDiscord

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def read_until(process: asyncio.subprocess.Process, text: str) -> bytes:
    """The process's stderr up to and including the first line containing `text`."""
    assert process.stderr is not None
    seen = b""
    while text.encode() not in seen:
        line = await process.stderr.readline()
        if not line:
            raise AssertionError(f"netbot ended before logging {text!r}: {seen.decode()}")
        seen += line
    return seen


async def test_netbot_connects_serves_healthz_and_stops_cleanly_on_sigterm(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    port = free_port()
    config = {
        "guilds": [int(fake_discord.guild["id"])],
        "http": {"enabled": True, "host": "127.0.0.1", "port": port},
        "storage": {"data_dir": str(tmp_path / "data")},
    }
    (tmp_path / "netbot.yaml").write_text(yaml.safe_dump(config))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "NETBOT_CONFIG": str(tmp_path / "netbot.yaml"),
        "DISCORD_TOKEN": "fake-token-for-the-fake-discord",
        "DISCORD_API_BASE_URL": fake_discord.api_base_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "netbot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake_discord.wait_until(
            lambda: bool(fake_discord.requests_to("PUT", "/applications/")),
            "the bot to connect and sync its commands",
            within=30,
        )
        reply = await (await fake_discord.slash("netbot status")).message(within=10)
        assert "Gateway: connected" in reply.embeds[0]["description"]

        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as health,
        ):
            body = await health.json()
            assert health.status == 200, body
        assert body["gateway"]["connected"] is True
        assert body["database"]["reachable"] is True
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as metrics,
        ):
            text = await metrics.text()
        assert 'netbot_commands_total{command="netbot status",outcome="ok"} 1.0' in text
        assert 'netbot_queue_depth{queue="commands_in_flight"} 0.0' in text

        # Background jobs start once the bot is ready (connected, guilds cached, cogs loaded).
        started = await asyncio.wait_for(read_until(process, "background jobs started"), 30)
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 30)
        stderr = started + rest
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "shut down cleanly" in log
    assert "Traceback" not in log and "never retrieved" not in log, log
    assert "fake-token-for-the-fake-discord" not in log
    assert (tmp_path / "data" / "netbot.sqlite3").is_file()
