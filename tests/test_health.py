"""Health bookkeeping, with a fake clock."""

from __future__ import annotations

import datetime as dt
import json

from netbot.core.health import MAX_ERROR_CHARS, Health, Streak, short_error

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_gateway_since_moves_only_on_change() -> None:
    clock = FakeClock()
    health = Health(clock)
    clock.advance(10)
    health.gateway_up()
    clock.advance(5)
    health.gateway_up()  # a resume: still the same connected period
    assert health.gateway_since == T0 + dt.timedelta(seconds=10)
    clock.advance(5)
    health.gateway_down()
    assert health.gateway_connected is False
    assert health.gateway_since == T0 + dt.timedelta(seconds=20)


def test_failure_streak_started_is_true_once_per_streak() -> None:
    health = Health(FakeClock())
    assert health.failure_streak_started("redmine") is False
    seen = []
    for _ in range(3):
        health.failure("redmine", "boom")
        seen.append(health.failure_streak_started("redmine"))
    assert seen == [True, False, False]
    health.success("redmine")
    assert health.failure_streak_started("redmine") is False
    health.failure("redmine", "boom again")
    assert health.failure_streak_started("redmine") is True


def test_a_streak_says_its_first_failure_and_its_recovery_once() -> None:
    streak = Streak()
    assert streak.succeeded() is False  # nothing to recover from
    assert [streak.failed() for _ in range(3)] == [True, False, False]
    assert [streak.succeeded(), streak.succeeded()] == [True, False]
    assert streak.failed() is True  # a new streak


def test_success_and_failure_bookkeeping() -> None:
    clock = FakeClock()
    health = Health(clock)
    health.success("kontur")
    clock.advance(60)
    health.failure("kontur", "timeout")
    health.failure("kontur", "timeout")
    status = health.backends["kontur"]
    assert status.last_success == T0
    assert status.last_failure == T0 + dt.timedelta(seconds=60)
    assert status.consecutive_failures == 2
    assert status.failing
    health.success("kontur")
    assert status.consecutive_failures == 0
    assert status.last_error == "timeout"  # kept: useful after a recovery too


def test_healthy_rule() -> None:
    health = Health(FakeClock())
    assert not health.healthy(database_reachable=True)
    health.gateway_up()
    assert health.healthy(database_reachable=True)
    assert not health.healthy(database_reachable=False)
    health.failure("redmine", "down")
    assert health.healthy(database_reachable=True)


def test_snapshot_is_json_ready() -> None:
    clock = FakeClock()
    health = Health(clock)
    health.gateway_up()
    health.failure("redmine", "503")
    snapshot = health.snapshot(database_reachable=True, now=T0 + dt.timedelta(seconds=90))
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["status"] == "ok"
    assert snapshot["gateway"] == {
        "connected": True,
        "since": T0.isoformat(),
        "for_seconds": 90.0,
    }
    assert snapshot["backends"]["redmine"] == {
        "last_success": None,
        "last_failure": T0.isoformat(),
        "last_error": "503",
        "consecutive_failures": 1,
        "failing": True,
    }


def test_short_error() -> None:
    assert short_error("line one\n  line two") == "line one line two"
    long = short_error("x" * 1000)
    assert len(long) == MAX_ERROR_CHARS
    assert long.endswith("…")
    assert (
        short_error("postgresql://netbot:s3cr3t@db:5432/netbot refused")
        == "postgresql://netbot:***@db:5432/netbot refused"
    )
    assert short_error("GET /x?token=abc&page=2 and password=pw") == (
        "GET /x?token=***&page=2 and password=***"
    )
