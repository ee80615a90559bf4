"""Prometheus metrics, served on /metrics.

Each `Metrics` has its own registry rather than prometheus_client's global one, so tests (and
several bots in one process) each count for themselves instead of colliding on metric names.
"""

from __future__ import annotations

from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

Outcome = Literal["ok", "user_error", "error", "refused"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

# The classic text format, which every Prometheus version scrapes, rather than the client's
# newer default (1.0.0).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Metrics:
    """The bot's counters, histograms and gauges, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "netbot_commands_total",
            "Commands handled, by command and outcome (ok, user_error, error, refused).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "netbot_errors_total",
            "Unexpected errors, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "netbot_command_seconds",
            "Time taken to handle a command.",
            ["command"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "netbot_queue_depth",
            "Items waiting in an internal queue.",
            ["queue"],
            registry=self.registry,
        )
        self.backend_up = Gauge(
            "netbot_backend_up",
            "1 if the last call to the backend worked, else 0.",
            ["backend"],
            registry=self.registry,
        )
        self.loop_lag = Gauge(
            "netbot_event_loop_lag_seconds",
            "The longest delay of the event loop in waking a timer, over the last probe "
            "window: how long the bot could not answer anything.",
            registry=self.registry,
        )

    def command(self, name: str, outcome: Outcome, seconds: float) -> None:
        """Count one handled command and how long it took."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
        self.commands.labels(command=name, outcome=outcome).inc()
        self.command_seconds.labels(command=name).observe(seconds)

    def error(self, kind: str) -> None:
        """Count one unexpected error of `kind` (e.g. the exception class or the subsystem)."""
        self.errors.labels(kind=kind).inc()

    def set_queue_depth(self, name: str, depth: int) -> None:
        self.queue_depth.labels(queue=name).set(depth)

    def set_backend_up(self, name: str, up: bool) -> None:
        self.backend_up.labels(backend=name).set(1 if up else 0)

    def set_loop_lag(self, seconds: float) -> None:
        self.loop_lag.set(seconds)

    def render(self) -> bytes:
        """All metrics in the Prometheus text format (see CONTENT_TYPE)."""
        return generate_latest(self.registry)
