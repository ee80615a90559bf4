"""The one way to build the alerts capability's services on a runtime."""

from __future__ import annotations

from netbot.alerts.config import AlertsConfig
from netbot.alerts.engine import AlertEngine, UsgsWatch
from netbot.alerts.kontur import KonturClient
from netbot.alerts.rules import Rules
from netbot.alerts.state import PostMirror
from netbot.alerts.usgs import UsgsClient
from netbot.chat import Target
from netbot.core.runtime import Runtime

POLL_JOB = "alerts.poll"


def build(runtime: Runtime, target: Target, mirror: PostMirror | None = None) -> AlertEngine:
    """The alert engine publishing to `target` (and recording each post with `mirror`, the
    Slack bridge's outbox, when given), its poll (digest included) declared on the
    runtime's supervisor as `alerts.poll`, every `alerts.poll_seconds` from the first run.
    Whoever builds it closes it (`AlertEngine.close`)."""
    settings = runtime.config.section("alerts", AlertsConfig)
    source = KonturClient(
        api_url=settings.api_url,
        token_url=settings.token_url,
        username=runtime.secrets.value("KONTUR_USERNAME"),
        password=runtime.secrets.secret("KONTUR_PASSWORD"),
        client_id=settings.client_id,
        page_limit=settings.page_limit,
    )
    usgs = None
    if settings.usgs.enabled:
        usgs = UsgsWatch(UsgsClient(settings.usgs.feed_url), settings.usgs)
    engine = AlertEngine(
        source=source,
        target=target,
        database=runtime.database,
        rules_=Rules.from_config(settings, runtime.config.timezone),
        feeds=list(settings.feeds),
        poll_seconds=settings.poll_seconds,
        digest_time=settings.digest_clock,
        clock=runtime.clock,
        health=runtime.health,
        usgs=usgs,
        mirror=mirror,
    )
    runtime.supervisor.every(POLL_JOB, settings.poll_seconds, engine.tick)
    return engine
