"""The HTTP side door: /healthz for orchestrators and uptime checks, /metrics for Prometheus.

It runs on the bot's own event loop, so nothing here may block: the database ping goes to a
worker thread and is given up on after a timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from netbot.health import Health
from netbot.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

DbPing = Callable[[], bool | Awaitable[bool]]

DB_PING_TIMEOUT_SECONDS = 5.0

HEALTH_KEY = web.AppKey("health", Health)
METRICS_KEY = web.AppKey("metrics", Metrics)
DB_PING_KEY: web.AppKey[DbPing] = web.AppKey("db_ping")
DB_PING_TIMEOUT_KEY = web.AppKey("db_ping_timeout", float)


def create_app(
    health: Health,
    metrics: Metrics,
    db_ping: DbPing,
    db_ping_timeout: float = DB_PING_TIMEOUT_SECONDS,
) -> web.Application:
    """The side-door application.

    `db_ping` may be a plain (blocking) or an async callable; a ping slower than
    `db_ping_timeout` seconds counts as an unreachable database.
    """
    app = web.Application()
    app[HEALTH_KEY] = health
    app[METRICS_KEY] = metrics
    app[DB_PING_KEY] = db_ping
    app[DB_PING_TIMEOUT_KEY] = db_ping_timeout
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app


async def start_http(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port and return the runner and the bound port (useful with port 0)."""
    # No access log: Prometheus and uptime checks would fill it with the same two lines.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port: int = runner.addresses[0][1]
    log.info("HTTP side door listening on %s:%d", host, bound_port)
    return runner, bound_port


async def stop_http(runner: web.AppRunner) -> None:
    """Stop serving and close open connections."""
    await runner.cleanup()


async def database_reachable(db_ping: DbPing) -> bool:
    """Run `db_ping` without blocking the loop; an error counts as unreachable."""
    try:
        if inspect.iscoroutinefunction(db_ping):
            result = await db_ping()
        else:
            result = await asyncio.to_thread(db_ping)
            if inspect.isawaitable(result):
                result = await result
    except Exception as error:
        log.warning("database ping failed: %s", type(error).__name__)
        return False
    return bool(result)


async def _healthz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(request.app[DB_PING_TIMEOUT_KEY]):
            reachable = await database_reachable(request.app[DB_PING_KEY])
    except TimeoutError:
        log.warning("database ping timed out")
        reachable = False
    body = request.app[HEALTH_KEY].snapshot(database_reachable=reachable)
    return web.json_response(body, status=200 if body["status"] == "ok" else 503)


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    # netbot_backend_up mirrors Health, so a backend's state is recorded in one place only.
    for name, status in request.app[HEALTH_KEY].backends.items():
        metrics.set_backend_up(name, not status.failing)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})
