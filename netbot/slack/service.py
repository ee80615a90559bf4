"""The one way to build the Slack bridge on a runtime, and the mirror hook others receive."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp
from prometheus_client import Counter, Histogram

from netbot.core.metrics import Metrics
from netbot.core.runtime import Runtime
from netbot.slack.api import WebApi
from netbot.slack.config import SlackConfig
from netbot.slack.drainer import BACKEND, Drainer
from netbot.slack.outbox import Outbox
from netbot.slack.target import SlackTarget, missing_scopes, required_scopes, slack_client

log = logging.getLogger(__name__)

DRAIN_JOB = "slack.drain"
TOKEN = "SLACK_BOT_TOKEN"
# One run of the drain job lasts this long; the job's lease (two periods, on a shared
# PostgreSQL) outlasts a run and its last call (timeout x retries) comfortably.
DRAIN_PERIOD = 30.0
QUEUE = "slack_outbox"  # its netbot_queue_depth label


def scopes_for(config: SlackConfig) -> frozenset[str]:
    """The bot token scopes `config` needs (checked at start-up and by `netbot check`)."""
    return required_scopes(
        customize=config.username is not None, channels=config.incident_channels.enabled
    )


class BridgeMetrics:
    """The bridge's figures in the runtime's registry: the queue depth (the shared
    `netbot_queue_depth{queue="slack_outbox"}`), the delivery delay, the failures."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.delay = Histogram(
            "netbot_slack_delivery_seconds",
            "Time from a mirror's outbox row to its delivery to Slack.",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600),
            registry=metrics.registry,
        )
        self.failures = Counter(
            "netbot_slack_failures_total",
            "Slack deliveries that failed: retry (tried again later) or failed (given up).",
            ["outcome"],
            registry=metrics.registry,
        )

    def observe(self, event: str, delay: float | None, depth: int | None) -> None:
        if event == "delivered" and delay is not None:
            self.delay.observe(max(delay, 0.0))
        elif event in ("retry", "failed"):
            self.failures.labels(outcome=event).inc()
        elif event == "depth" and depth is not None:
            self.metrics.set_queue_depth(QUEUE, depth)


@dataclass
class Bridge:
    """The running bridge: its drainer (the `slack.drain` job) and the Web API it uses."""

    config: SlackConfig
    drainer: Drainer
    api: WebApi
    runtime: Runtime
    checked: asyncio.Event = field(default_factory=asyncio.Event)  # the start-up check ran
    missing: set[str] = field(default_factory=set)  # the scopes it found missing

    async def check_scopes(self) -> set[str]:
        """The scopes the configuration needs that the token lacks; reported (log line and
        /healthz) at start-up, before any post fails for them."""
        try:
            return await self._check_scopes()
        finally:
            self.checked.set()

    async def _check_scopes(self) -> set[str]:
        try:
            missing = await missing_scopes(self.api.client, scopes_for(self.config))
        except Exception as exc:  # Slack unreachable or the token refused: say so now
            self.runtime.health.failure(BACKEND, f"start-up check failed: {exc}")
            log.error("slack: cannot check the token's scopes: %s", exc)
            return set()
        if missing:
            line = f"the Slack token lacks the scopes {', '.join(sorted(missing))}"
            self.runtime.health.failure(BACKEND, line)
            log.error("slack: %s; add them to the app (README: Slack bridge) and reinstall it",
                      line)  # fmt: skip
        self.missing = missing
        return missing

    async def close(self) -> None:
        self.drainer.close()
        if self.api.client.session is not None:
            await self.api.client.session.close()


def build(runtime: Runtime) -> Bridge:
    """The bridge on `runtime`: its drainer declared as the supervisor job `slack.drain`
    (each run checks the token's scopes first, once). Whoever builds it closes it."""
    config = runtime.config.section("slack", SlackConfig)
    client = slack_client(
        runtime.secrets.secret(TOKEN).reveal(), base_url=config.base_url,
        timeout=config.retry.request_timeout_seconds, max_retries=config.retry.client_retries,
    )  # fmt: skip
    api = WebApi(SlackTarget(client, "", username=config.username))
    figures = BridgeMetrics(runtime.metrics)
    drainer = Drainer(
        database=runtime.database, api=api, config=config, clock=runtime.clock,
        health=runtime.health,
        blocking=lambda call, *args: runtime.workers.run("database", call, *args),
        observe=figures.observe, period=DRAIN_PERIOD,
    )  # fmt: skip
    bridge = Bridge(config, drainer, api, runtime)

    async def drain() -> None:
        # slack_sdk opens an HTTP session per call unless given one: one for every call
        # (connections reused), made on the loop, closed with the bridge.
        if client.session is None:
            timeout = aiohttp.ClientTimeout(total=config.retry.request_timeout_seconds)
            client.session = aiohttp.ClientSession(timeout=timeout)
        if not bridge.checked.is_set():
            await bridge.check_scopes()
        await drainer.run()

    runtime.supervisor.every(DRAIN_JOB, DRAIN_PERIOD, drain)
    return bridge


def mirror(runtime: Runtime) -> Outbox | None:
    """The outbox hook for alerts and incidents, or None when the bridge is off (switched
    off, or SLACK_BOT_TOKEN unset): rows nobody would deliver are never written."""
    if not runtime.config.switched_on("slack") or runtime.secrets.missing(TOKEN):
        return None
    return Outbox(runtime.config.section("slack", SlackConfig), runtime.clock)
