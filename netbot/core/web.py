"""The HTTP side door: /healthz for orchestrators and uptime checks, /metrics for Prometheus.

It runs on the bot's own event loop, so nothing here may block: the database health comes
from a `DatabaseProbe`, which pings on a thread of its own, one ping at a time, shares the
answer and gives up after a timeout. Malformed requests (scanners, TLS spoken to a plain
port, broken clients) cost one log line each.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

from netbot.core.health import DatabaseProbe, Health, short_error
from netbot.core.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

HEALTH_KEY = web.AppKey("health", Health)
METRICS_KEY = web.AppKey("metrics", Metrics)
DB_PROBE_KEY = web.AppKey("db_probe", DatabaseProbe)


class OneLineBadRequests(logging.LoggerAdapter):
    """aiohttp's server logger, logging a malformed request as one line, not a traceback.

    Anyone can send bytes to an open port; the parser's traceback tells an operator nothing
    and a scanner would fill the log with them. Errors in netbot's own handlers keep theirs.
    """

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if isinstance(error, HttpProcessingError):
            kwargs["exc_info"] = None
            msg, args = f"{msg}: %s", (*args, short_error(f"{type(error).__name__}: {error}"))
            level = min(level, logging.WARNING)
        super().log(level, msg, *args, **kwargs)


def create_app(health: Health, metrics: Metrics, database: DatabaseProbe) -> web.Application:
    """The side-door application; `database` answers whether the database is reachable."""
    app = web.Application()
    app[HEALTH_KEY] = health
    app[METRICS_KEY] = metrics
    app[DB_PROBE_KEY] = database
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app


async def start_http(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port and return the runner and the bound port (useful with port 0)."""
    # No access log: Prometheus and uptime checks would fill it with the same two lines.
    runner = web.AppRunner(app, access_log=None, logger=OneLineBadRequests(server_logger))
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


async def _healthz(request: web.Request) -> web.Response:
    reachable = await request.app[DB_PROBE_KEY].reachable()
    body = request.app[HEALTH_KEY].snapshot(database_reachable=reachable)
    return web.json_response(body, status=200 if body["status"] == "ok" else 503)


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    # netbot_backend_up mirrors Health, so a backend's state is recorded in one place only.
    for name, status in request.app[HEALTH_KEY].backends.items():
        metrics.set_backend_up(name, not status.failing)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})
