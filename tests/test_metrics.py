"""Metrics live in their own registry and render in the Prometheus text format."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from netbot.core.metrics import Metrics


def test_each_instance_counts_for_itself() -> None:
    first, second = Metrics(), Metrics()
    first.command("ping", "ok", 0.1)
    assert b'netbot_commands_total{command="ping",outcome="ok"} 1.0' in first.render()
    assert b"netbot_commands_total{" not in second.render()
    assert (
        REGISTRY.get_sample_value("netbot_commands_total", {"command": "ping", "outcome": "ok"})
        is None
    )


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        Metrics().command("ping", "maybe", 0.1)  # type: ignore[arg-type]


def test_histogram_buckets() -> None:
    metrics = Metrics()
    metrics.command("ticket", "user_error", 0.2)
    text = metrics.render().decode()
    assert 'netbot_command_seconds_bucket{command="ticket",le="0.25"} 1.0' in text
    assert 'netbot_command_seconds_sum{command="ticket"} 0.2' in text
    assert 'netbot_commands_total{command="ticket",outcome="user_error"} 1.0' in text


def test_gauges_are_set_not_added() -> None:
    metrics = Metrics()
    metrics.set_queue_depth("slack", 5)
    metrics.set_queue_depth("slack", 2)
    metrics.set_backend_up("redmine", False)
    text = metrics.render().decode()
    assert 'netbot_queue_depth{queue="slack"} 2.0' in text
    assert 'netbot_backend_up{backend="redmine"} 0.0' in text
