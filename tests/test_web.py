"""The HTTP side door, served for real on a loopback port and called with a real client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from netbot.core.health import DatabaseProbe, Health
from netbot.core.metrics import Metrics
from netbot.core.web import create_app, start_http, stop_http


@dataclass
class Server:
    base_url: str
    health: Health
    metrics: Metrics
    db: dict[str, bool]
    http: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, aiohttp.ClientResponse, bytes]:
        async with self.http.get(self.base_url + path) as response:
            return response.status, response, await response.read()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    health = Health()
    health.gateway_up()
    metrics = Metrics()
    db = {"reachable": True}
    runner, port = await start_http(
        create_app(health, metrics, DatabaseProbe(lambda: db["reachable"])), "127.0.0.1", 0
    )
    assert port > 0
    async with aiohttp.ClientSession() as http:
        yield Server(f"http://127.0.0.1:{port}", health, metrics, db, http)
    await stop_http(runner)


async def test_healthy_is_200(server: Server) -> None:
    server.health.success("redmine")
    status, response, _ = await server.get("/healthz")
    body = await response.json()
    assert status == 200
    assert body["status"] == "ok"
    assert body["gateway"]["connected"] is True
    assert body["database"] == {"reachable": True}
    assert body["backends"]["redmine"]["failing"] is False
    assert body["backends"]["redmine"]["last_success"] is not None


async def test_gateway_down_is_503(server: Server) -> None:
    server.health.gateway_down()
    status, response, _ = await server.get("/healthz")
    body = await response.json()
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["gateway"]["connected"] is False


async def test_database_unreachable_is_503(server: Server) -> None:
    server.db["reachable"] = False
    status, response, _ = await server.get("/healthz")
    body = await response.json()
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["database"] == {"reachable": False}


async def test_backend_failure_shows_but_stays_healthy(server: Server) -> None:
    server.health.failure("kontur", "HTTP 502 from feed")
    status, response, _ = await server.get("/healthz")
    body = await response.json()
    assert status == 200
    kontur = body["backends"]["kontur"]
    assert kontur["failing"] is True
    assert kontur["consecutive_failures"] == 1
    assert kontur["last_error"] == "HTTP 502 from feed"
    assert kontur["last_failure"] is not None
    assert kontur["last_success"] is None


async def test_body_carries_no_secrets_and_no_essays(server: Server) -> None:
    server.health.failure(
        "redmine",
        "GET https://bot:hunter2@redmine.example.org/issues.json?key=abc123secret failed",
    )
    server.health.failure("kontur", "x" * 5000)
    _, _, raw = await server.get("/healthz")
    text = raw.decode()
    assert "hunter2" not in text
    assert "abc123secret" not in text
    assert "redmine.example.org" in text
    assert len(text) < 2000


async def test_metrics_text(server: Server) -> None:
    server.metrics.command("ticket", "ok", 0.25)
    server.metrics.command("ticket", "ok", 0.5)
    server.metrics.command("ticket", "refused", 0.01)
    server.metrics.error("TimeoutError")
    server.metrics.set_queue_depth("slack", 3)
    server.health.failure("kontur", "down")
    server.health.success("redmine")
    status, response, raw = await server.get("/metrics")
    text = raw.decode()
    assert status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'netbot_commands_total{command="ticket",outcome="ok"} 2.0' in text
    assert 'netbot_commands_total{command="ticket",outcome="refused"} 1.0' in text
    assert 'netbot_command_seconds_count{command="ticket"} 3.0' in text
    assert 'netbot_errors_total{kind="TimeoutError"} 1.0' in text
    assert 'netbot_queue_depth{queue="slack"} 3.0' in text
    assert 'netbot_backend_up{backend="kontur"} 0.0' in text
    assert 'netbot_backend_up{backend="redmine"} 1.0' in text


async def test_slow_database_ping_does_not_block_the_loop(server: Server) -> None:
    def slow_ping() -> bool:
        time.sleep(0.5)
        return True

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        assert await DatabaseProbe(slow_ping).reachable() is True
    finally:
        ticker.cancel()
    assert ticks >= 10


async def test_hung_database_is_503() -> None:
    async def hung() -> bool:
        await asyncio.sleep(10)
        return True

    health = Health()
    health.gateway_up()
    app = create_app(health, Metrics(), DatabaseProbe(hung, timeout=0.1))
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 503
            assert (await response.json())["database"] == {"reachable": False}
    finally:
        await stop_http(runner)


@pytest.mark.parametrize(
    "ping",
    [
        lambda: True,
        lambda: asyncio.sleep(0, result=True),
    ],
    ids=["sync", "returns-awaitable"],
)
async def test_ping_kinds(ping: Callable[[], object]) -> None:
    assert await DatabaseProbe(ping).reachable() is True  # type: ignore[arg-type]


async def test_async_and_raising_pings() -> None:
    async def async_ping() -> bool:
        return True

    def broken() -> bool:
        raise OSError("connection refused")

    assert await DatabaseProbe(async_ping).reachable() is True
    assert await DatabaseProbe(broken).reachable() is False


async def test_port_in_use_fails_cleanly(server: Server) -> None:
    port = int(server.base_url.rsplit(":", 1)[1])
    app = create_app(Health(), Metrics(), DatabaseProbe(lambda: True))
    with pytest.raises(OSError):
        await start_http(app, "127.0.0.1", port)
