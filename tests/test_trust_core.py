"""Issue 7 ("Trust"), bot core: defence in depth, replies that always fit, a side door that
neither starves nor spams.

Through the real py-cord client against the fake Discord where the defect shows in Discord;
the side door is served for real on a loopback port.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import discord
import pytest
from discord.ext import commands
from sqlalchemy import event

from cogs.core import REFRESH_ID, StatusView
from fakes.discord import FakeDiscord, run_bot
from netbot.capabilities import parse_config
from netbot.core.db import Database
from netbot.core.errors import UserError
from netbot.core.health import DatabaseProbe, short_error
from netbot.core.logs import RedactSecrets
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secrets
from netbot.core.web import create_app, start_http, stop_http
from netbot.discord_bot import NOT_ALLOWED, create_bot


@pytest.fixture
def runtime(tmp_path: Path, fake_discord: FakeDiscord) -> Iterator[Runtime]:
    config = parse_config({"guilds": [int(fake_discord.guild["id"])], "cogs": {"tickets": False}})
    secrets = Secrets(discord_api_base_url=fake_discord.api_base_url)
    database = Database.open(f"sqlite:///{tmp_path / 'netbot.sqlite3'}")
    runtime = Runtime(config=config, secrets=secrets, database=database)
    yield runtime
    runtime.close()


# ---------------------------------------------------------------- item 5: components


class PickerView(discord.ui.View):
    """A test-only persistent select menu that records who got through to it."""

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.chosen: list[str] = []

    @discord.ui.select(
        custom_id="test:pick",
        options=[discord.SelectOption(label="a"), discord.SelectOption(label="b")],
    )
    async def pick(self, select: discord.ui.Select, interaction: discord.Interaction) -> None:
        self.chosen.extend(select.values)
        await interaction.response.send_message("picked", ephemeral=True)


async def test_components_from_a_guild_off_the_allow_list_are_refused(
    fake_discord: FakeDiscord, runtime: Runtime
) -> None:
    stranger = fake_discord.add_guild("elsewhere")
    channel = fake_discord.add_channel(stranger, "general")
    fake_discord.add_member(stranger, fake_discord.user)
    bot = create_bot(runtime)
    picker = PickerView()
    bot.add_view(picker)
    async with run_bot(bot, fake_discord):
        # A status message (and a picker) that ended up in a guild netbot does not serve, as
        # one would after the guild was taken off the allow-list.
        target = bot.get_channel(int(channel["id"]))
        await target.send(embed=discord.Embed(title="netbot status"), view=StatusView(bot))
        await target.send("pick one", view=picker)
        status_message, picker_message = fake_discord.messages_in(channel)
        runtime.health.failure("redmine", "HTTP 503 from Redmine")

        click = await fake_discord.click(status_message, REFRESH_ID)
        answer = await click.message()
        assert answer.ephemeral
        assert answer.content == NOT_ALLOWED
        assert "redmine" not in str(fake_discord.messages_in(channel)[0].embeds)

        choice = await fake_discord.select(picker_message, "test:pick", ["a"])
        answer = await choice.message()
        assert answer.ephemeral and answer.content == NOT_ALLOWED
        assert picker.chosen == []

        # The allowed guild still works through the same central check.
        allowed = await (await fake_discord.slash("netbot status")).message()
        edited = await (await fake_discord.click(allowed, REFRESH_ID)).response()
        assert "redmine: failing" in edited["data"]["embeds"][0]["description"]


# ---------------------------------------------------------------- item 5: header secrets


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("sending headers Authorization: Bearer xyz", "xyz"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA== rejected", "dXNlcjpwYXNzd29yZA=="),
        ("X-Redmine-API-Key: abc refused by proxy", "abc"),
        ("request headers {'X-Redmine-API-Key': 'abc123', 'Accept': '*/*'}", "abc123"),
        ('headers: {"X-Api-Key": "k3y-v4lue"}', "k3y-v4lue"),
        ("NetBox said 403 for Authorization: Token 0123abcdef", "0123abcdef"),
        ("slack refused xoxb-1111-2222-AbCdEfGh", "xoxb-1111-2222-AbCdEfGh"),
        ("GET https://bot:hunter2@redmine.example.org/issues.json failed", "hunter2"),
        ("GET https://redmine.example.org/issues.json?key=abc123secret failed", "abc123secret"),
    ],
)
def test_header_style_secrets_are_masked_in_log_lines(
    line: str, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("test.redact.headers")
    logger.addFilter(RedactSecrets([]))  # none of these values is a configured secret
    try:
        with caplog.at_level(logging.INFO, logger="test.redact.headers"):
            logger.info("%s", line)
            try:
                raise RuntimeError(line)
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.filters.clear()
    assert secret not in caplog.text
    assert caplog.records[0].getMessage() != line  # something was masked
    assert "Accept" in caplog.text or "Accept" not in line  # the rest of the line stays


def test_health_errors_mask_header_secrets_too() -> None:
    assert short_error("401 with Authorization: Bearer s3cr3t-t0ken") == (
        "401 with Authorization: Bearer ***"
    )
    assert "xoxb-1-2-abc" not in short_error("slack: invalid_auth for xoxb-1-2-abc")


# ---------------------------------------------------------------- item 13: reply limits


def make_loud() -> commands.Cog:
    class Loud(commands.Cog):
        @discord.slash_command(description="answers at length")
        async def loud(self, ctx: discord.ApplicationContext) -> None:
            embed = discord.Embed(title="t" * 400, description="d" * 5000)
            embed.add_field(name="n" * 300, value="v" * 2000)
            embed.set_footer(text="f" * 3000)
            await ctx.respond("c" * 5000, embed=embed, ephemeral=True)

        @discord.slash_command(description="refuses at length")
        async def refuse(self, ctx: discord.ApplicationContext) -> None:
            raise UserError("Nope: " + "r" * 3000)

    return Loud()


async def test_help_with_a_huge_argument_still_answers(
    fake_discord: FakeDiscord, runtime: Runtime
) -> None:
    async with run_bot(create_bot(runtime), fake_discord):
        typed = "x" * 3000
        message = await (await fake_discord.slash("netbot help", {"command": typed})).message()
    assert message.ephemeral
    assert message.content.startswith("There is no command /xxx")
    assert len(message.content) <= 2000
    assert "/netbot status" in message.content  # the useful part is not cut away


async def test_every_final_reply_fits_discord_limits(
    fake_discord: FakeDiscord, runtime: Runtime
) -> None:
    bot = create_bot(runtime)
    bot.add_cog(make_loud())
    async with run_bot(bot, fake_discord, fail_on_command_error=False):
        loud = await (await fake_discord.slash("loud")).message()
        refusal = await (await fake_discord.slash("refuse")).message()

    assert 0 < len(loud.content) <= 2000
    embed = loud.embeds[0]
    assert len(embed["title"]) <= 256
    assert len(embed["description"]) <= 4096
    assert len(embed["fields"][0]["name"]) <= 256
    assert len(embed["fields"][0]["value"]) <= 1024
    assert len(embed["footer"]["text"]) <= 2048
    total = (
        len(embed["title"])
        + len(embed["description"])
        + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
        + len(embed["footer"]["text"])
    )
    assert total <= 6000

    assert refusal.ephemeral
    assert len(refusal.content) <= 2000
    assert refusal.content.startswith("Nope: rrr")
    assert "(error id " in refusal.content  # the id survives the cut


# ---------------------------------------------------------------- item 14: slow database


async def test_slow_database_costs_one_health_ping_and_starves_no_other_backend(
    runtime: Runtime,
) -> None:
    gate = threading.Event()
    pings: list[str] = []  # the thread each statement ran on

    @event.listens_for(runtime.database.engine, "before_cursor_execute")
    def slow(*_args: object) -> None:
        pings.append(threading.current_thread().name)
        gate.wait(10)

    runtime.health.gateway_up()
    runtime.database_probe.timeout = 0.5
    app = create_app(runtime.health, runtime.metrics, runtime.database_probe)
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        # Commands pile up on the slow database too...
        stuck = [
            asyncio.ensure_future(runtime.workers.run("database", runtime.database.ping))
            for _ in range(40)
        ]
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:

            async def healthz() -> int:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    return response.status

            statuses = await asyncio.gather(*(healthz() for _ in range(50)))
            # ...yet a call to another backend gets a thread at once.
            assert await asyncio.wait_for(runtime.workers.run("redmine", lambda: "ok"), 2) == "ok"
        elapsed = time.monotonic() - started
        assert statuses == [503] * 50
        assert elapsed < runtime.database_probe.timeout + 2
        assert len([name for name in pings if name.startswith("netbot-db-probe")]) == 1
        # The commands' database calls are bounded by their own pool: one per thread.
        assert len(pings) <= 1 + runtime.workers.threads_per_backend
    finally:
        gate.set()
        await asyncio.gather(*stuck)
        await stop_http(runner)


async def test_concurrent_health_questions_share_one_ping() -> None:
    calls = 0

    def counting_ping() -> bool:
        nonlocal calls
        calls += 1
        return True

    probe = DatabaseProbe(counting_ping, timeout=1.0, fresh_seconds=60)
    try:
        answers = await asyncio.gather(*(probe.reachable() for _ in range(20)))
        assert answers == [True] * 20
        assert await probe.reachable() is True
        assert calls == 1
    finally:
        probe.close()


# ---------------------------------------------------------------- item 15: malformed HTTP


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
        b"GET /healthz HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    ],
    ids=["garbage-line", "bad-header", "bad-version", "tls-bytes", "bad-length"],
)
async def test_malformed_requests_log_one_line_not_a_traceback(
    raw: bytes, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(runtime.health, runtime.metrics, runtime.database_probe)
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)  # the server closes the door
            writer.close()
            await writer.wait_closed()
    finally:
        await stop_http(runner)
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
    lines = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    record = lines[0]
    assert record.exc_info is None and record.exc_text is None
    assert "\n" not in record.getMessage()
    assert "127.0.0.1" in record.getMessage()
