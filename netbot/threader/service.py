"""Wiring the threader from the bot's configuration, secrets and database, and what its side
door reports (/healthz, /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from netbot.core.config import CoreConfig
from netbot.core.db import Database
from netbot.core.health import Health
from netbot.core.metrics import Metrics
from netbot.core.secrets import Secrets
from netbot.threader.config import ThreaderConfig
from netbot.threader.discord_rest import DiscordRest
from netbot.threader.lock import SyncLocks
from netbot.threader.redmine import RedmineSide
from netbot.threader.sync import CycleReport, Threader


def build(config: CoreConfig, secrets: Secrets, database: Database) -> Threader:
    """The threader over the bot's Redmine (REDMINE_URL, REDMINE_TOKEN), Discord
    (DISCORD_TOKEN, DISCORD_API_BASE_URL) and database."""
    from netbot.redmine import RedmineGateway

    settings = config.section("threader", ThreaderConfig)
    tickets_public_url = getattr(getattr(config, "tickets", None), "public_url", None)
    gateway = RedmineGateway(
        secrets.value("REDMINE_URL"),
        secrets.secret("REDMINE_TOKEN").reveal(),
        timeout=settings.request_timeout_seconds,
        public_url=tickets_public_url,
    )
    discord = DiscordRest(
        secrets.discord_api_base_url, secrets.discord_token,
        timeout=settings.request_timeout_seconds,
    )  # fmt: skip
    return Threader(
        database=database, redmine=RedmineSide(gateway), discord=discord, config=settings,
        core=config, link_url=gateway.link_url, locks=SyncLocks(database),
    )  # fmt: skip


@dataclass
class SideDoor:
    """The threader's health and metrics: the last cycle, the backlog, the errors.

    /healthz says "ok" while the last cycle could reach both Redmine and Discord (the
    threader has no gateway: its `gateway` entry stands for "the last cycle ran") and the
    database answers."""

    health: Health
    metrics: Metrics
    last_cycle: Gauge
    backlog: Gauge
    failures: Counter
    requests: Counter

    @classmethod
    def create(cls) -> SideDoor:
        metrics = Metrics()
        registry = metrics.registry
        return cls(
            Health(),
            metrics,
            Gauge("netbot_threader_last_cycle_timestamp_seconds",
                  "When the last cycle that reached both backends ended.", registry=registry),
            Gauge("netbot_threader_backlog", "Tickets and claims left for the next cycle.",
                  registry=registry),
            Counter("netbot_threader_ticket_failures", "Tickets whose sync failed, per cycle.",
                    registry=registry),
            Counter("netbot_threader_requests", "Requests made, by backend.", ["backend"],
                    registry=registry),
        )  # fmt: skip

    def record(self, report: CycleReport | None, error: BaseException | None) -> None:
        if report is None:
            self.health.gateway_down()
            self.health.failure("threader", str(error))
            self.metrics.error("threader_cycle")
            return
        self.health.gateway_up()
        self.health.success("threader")
        self.last_cycle.set_to_current_time()
        self.backlog.set(report.backlog)
        self.failures.inc(len(report.failed))
        self.requests.labels(backend="redmine").inc(report.redmine_requests)
        self.requests.labels(backend="discord").inc(report.discord_requests)
