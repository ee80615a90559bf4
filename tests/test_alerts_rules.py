"""The disaster-alert rules engine: each rule of the fixtures' README and its boundaries."""

from __future__ import annotations

import datetime as dt

import pytest

from fakes.alert_events import NOW, event
from netbot.alerts.config import AlertsConfig
from netbot.alerts.replay import from_fixture
from netbot.alerts.rules import (
    KEEP_NOTIFIED_DAYS,
    AlertState,
    Rules,
    advance,
    digest_due,
    digest_events,
    notified,
    poll,
    skip_reason,
)

FEED = "kontur-public"
RULES = Rules.from_config(AlertsConfig())
ALLOWED_TYPES = ["FLOOD", "WILDFIRE", "EARTHQUAKE", "CYCLONE", "VOLCANO"]
EXCLUDED_TYPES = ["DROUGHT", "STORM", "OTHER"]
SECOND = dt.timedelta(seconds=1)


def reason(ev, state: AlertState | None = None, now: dt.datetime = NOW, rules: Rules = RULES):
    return skip_reason(ev, state or AlertState(), now, rules, FEED)


def ids(events) -> list[str]:
    return [e.event_id for e in events]


def test_defaults_notify_a_plain_severe_flood():
    assert reason(event()) is None


# 1. cursor


def test_event_updated_exactly_at_the_cursor_is_skipped():
    ev = event(updated_at=NOW - dt.timedelta(minutes=5))
    state = AlertState(cursors={FEED: ev.updated_at})
    assert reason(ev, state) is not None
    assert "cursor" in reason(ev, state)


def test_event_updated_after_the_cursor_is_accepted():
    ev = event(updated_at=NOW - dt.timedelta(minutes=5))
    state = AlertState(cursors={FEED: ev.updated_at - dt.timedelta(milliseconds=1)})
    assert reason(ev, state) is None


def test_cursor_of_another_feed_does_not_apply():
    ev = event(updated_at=NOW - dt.timedelta(minutes=5))
    state = AlertState(cursors={"wildfires": NOW})
    assert reason(ev, state) is None


def test_advance_never_moves_the_cursor_backwards():
    state = AlertState(cursors={FEED: NOW})
    assert advance(state, FEED, NOW - SECOND).cursors[FEED] == NOW
    assert advance(state, FEED, NOW).cursors[FEED] == NOW
    assert advance(state, FEED, None).cursors[FEED] == NOW
    assert advance(state, FEED, NOW + SECOND).cursors[FEED] == NOW + SECOND


def test_advance_keeps_the_other_feeds_cursors():
    state = AlertState(cursors={FEED: NOW, "wildfires": NOW - dt.timedelta(hours=1)})
    moved = advance(state, "wildfires", NOW + SECOND)
    assert moved.cursors == {FEED: NOW, "wildfires": NOW + SECOND}


def test_advance_sets_a_first_cursor():
    assert advance(AlertState(), FEED, NOW).cursors == {FEED: NOW}


def test_poll_of_older_events_leaves_the_cursor_where_it_was():
    state = AlertState(cursors={FEED: NOW - dt.timedelta(minutes=1)})
    outcome = poll([event(updated_at=NOW - dt.timedelta(hours=1))], state, NOW, RULES, FEED)
    assert outcome.state.cursors[FEED] == NOW - dt.timedelta(minutes=1)
    assert outcome.notify == []


def test_poll_moves_only_its_own_feeds_cursor():
    state = AlertState(cursors={"wildfires": NOW - dt.timedelta(hours=2)})
    ev = event(updated_at=NOW - dt.timedelta(minutes=1))
    outcome = poll([ev], state, NOW, RULES, FEED)
    assert outcome.state.cursors == {
        "wildfires": NOW - dt.timedelta(hours=2),
        FEED: ev.updated_at,
    }


# 2. type


@pytest.mark.parametrize("kind", ALLOWED_TYPES)
def test_allowed_type_is_notified(kind):
    assert reason(event(type=kind)) is None


@pytest.mark.parametrize("kind", EXCLUDED_TYPES)
def test_excluded_type_is_skipped(kind):
    assert "type" in reason(event(type=kind))


# 3. current severity from the latest episode


@pytest.mark.parametrize("severity", ["EXTREME", "SEVERE", "MODERATE"])
def test_notified_current_severities(severity):
    assert reason(event(severity=severity)) is None


@pytest.mark.parametrize("severity", ["MINOR", "UNKNOWN", "TERMINATION"])
def test_other_current_severities_are_skipped(severity):
    assert "severity" in reason(event(severity=severity))


def test_event_severe_but_latest_episode_minor_is_skipped():
    ev = event(severity="SEVERE", current_severity="MINOR")
    assert ev.severity == "MINOR" and ev.max_severity == "SEVERE"
    assert "severity" in reason(ev)


def test_downgrade_severe_to_moderate_still_notifies():
    assert reason(event(severity="SEVERE", current_severity="MODERATE")) is None


def test_event_minor_but_latest_episode_severe_is_notified():
    assert reason(event(severity="MINOR", current_severity="SEVERE")) is None


# 4. population of the latest episode


def test_population_499_is_skipped():
    assert "population" in reason(event(population=499))


def test_population_500_is_notified():
    assert reason(event(population=500)) is None


def test_population_checked_on_the_episode_not_the_event():
    ev = event(population=499, event_details={"population": 25310})
    assert "population" in reason(ev)


def test_missing_episode_details_is_skipped():
    assert "enrichment" in reason(event(episode_details=None))


def test_episode_details_without_population_is_skipped():
    ev = event(episode_details={"populatedAreaKm2": 12.0})
    assert "population" in reason(ev)


def test_episode_details_with_null_population_is_skipped():
    assert "population" in reason(event(episode_details={"population": None}))


# 5. endedAt


def test_ended_exactly_seven_days_ago_is_notified():
    assert reason(event(ended_at=NOW - dt.timedelta(days=7))) is None


def test_ended_seven_days_and_one_second_ago_is_skipped():
    assert "ended" in reason(event(ended_at=NOW - dt.timedelta(days=7) - SECOND))


def test_not_ended_is_notified():
    assert reason(event(ended_at=None)) is None


def test_ended_recently_is_notified():
    assert reason(event(ended_at=NOW - dt.timedelta(days=6, hours=21))) is None


# 6. name prefixes


def test_green_name_is_notified_by_default():
    assert RULES.skip_name_prefixes == ()
    assert reason(event(name="Green alert for tropical cyclone X")) is None


def test_green_name_is_skipped_when_the_prefix_is_configured():
    rules = Rules.from_config(AlertsConfig(skip_name_prefixes=["Green"]))
    assert "prefix" in reason(event(name="Green alert for tropical cyclone X"), rules=rules)
    assert reason(event(name="Orange alert for tropical cyclone X"), rules=rules) is None


# 7. one notification per event per calendar day


def test_second_notification_on_the_same_day_is_skipped():
    state = notified(AlertState(), "e1", NOW.replace(hour=0, minute=0, second=1), RULES)
    assert "today" in reason(event("e1"), state)


def test_notified_again_on_the_next_day():
    state = notified(AlertState(), "e1", NOW - dt.timedelta(days=1), RULES)
    assert reason(event("e1"), state) is None


def test_notified_yesterday_one_second_before_midnight_is_notified_again():
    midnight = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    state = notified(AlertState(), "e1", midnight - SECOND, RULES)
    assert reason(event("e1"), state, now=midnight) is None


def test_another_event_notified_today_does_not_block():
    state = notified(AlertState(), "e2", NOW - dt.timedelta(minutes=1), RULES)
    assert reason(event("e1"), state) is None


def test_day_boundary_follows_the_configured_time_zone():
    # July: Auckland is UTC+12, so 11:30 UTC is 23:30 on the 1st, 12:30 UTC 00:30 on the 2nd.
    auckland = Rules.from_config(AlertsConfig(), "Pacific/Auckland")
    first = dt.datetime(2025, 7, 1, 11, 30, tzinfo=dt.UTC)
    second = dt.datetime(2025, 7, 1, 12, 30, tzinfo=dt.UTC)
    ev = event("e1", updated_at=second - SECOND)
    state = notified(AlertState(), "e1", first, auckland)
    assert auckland.day(first) != auckland.day(second)
    assert reason(ev, state, now=second, rules=auckland) is None
    # ...while in UTC the two moments are on the same day.
    assert "today" in reason(ev, notified(AlertState(), "e1", first, RULES), now=second)


def test_same_day_in_the_configured_time_zone_across_utc_midnight():
    # Auckland in July: 23:00 UTC on the 1st and 01:00 UTC on the 2nd are both July 2nd.
    auckland = Rules.from_config(AlertsConfig(), "Pacific/Auckland")
    first = dt.datetime(2025, 7, 1, 23, 0, tzinfo=dt.UTC)
    second = dt.datetime(2025, 7, 2, 1, 0, tzinfo=dt.UTC)
    ev = event("e1", updated_at=second - SECOND)
    state = notified(AlertState(), "e1", first, auckland)
    assert "today" in reason(ev, state, now=second, rules=auckland)


def test_same_event_twice_in_one_poll_notifies_once():
    older = event("e1", version=1, updated_at=NOW - dt.timedelta(minutes=10))
    newer = event("e1", version=2, updated_at=NOW - dt.timedelta(minutes=5))
    outcome = poll([newer, older], AlertState(), NOW, RULES, FEED)
    assert outcome.notify == [older]
    assert outcome.decisions[1][0] == newer
    assert "today" in outcome.decisions[1][1]


# poll


def test_poll_decides_oldest_first_and_records_notifications():
    a = event("a", updated_at=NOW - dt.timedelta(minutes=30))
    b = event("b", updated_at=NOW - dt.timedelta(minutes=20), type="DROUGHT")
    c = event("c", updated_at=NOW - dt.timedelta(minutes=10))
    outcome = poll([c, a, b], AlertState(), NOW, RULES, FEED)
    assert ids(e for e, _ in outcome.decisions) == ["a", "b", "c"]
    assert [r is None for _, r in outcome.decisions] == [True, False, True]
    assert outcome.notify == [a, c]
    assert outcome.state.last_notified == {"a": NOW, "c": NOW}
    assert outcome.state.notification_days == {NOW.date()}


def test_poll_moves_the_cursor_to_the_newest_even_when_it_is_skipped():
    kept = event("a", updated_at=NOW - dt.timedelta(minutes=30))
    skipped = event("b", updated_at=NOW - dt.timedelta(minutes=1), population=1)
    outcome = poll([kept, skipped], AlertState(), NOW, RULES, FEED)
    assert outcome.notify == [kept]
    assert outcome.state.cursors[FEED] == skipped.updated_at


def test_poll_of_only_skipped_events_moves_the_cursor_and_records_no_day():
    ev = event("a", updated_at=NOW - dt.timedelta(minutes=1), severity="MINOR")
    outcome = poll([ev], AlertState(), NOW, RULES, FEED)
    assert outcome.notify == []
    assert outcome.state.cursors[FEED] == ev.updated_at
    assert outcome.state.notification_days == frozenset()
    assert outcome.state.last_notified == {}


def test_poll_of_nothing_changes_nothing():
    state = AlertState(cursors={FEED: NOW})
    outcome = poll([], state, NOW, RULES, FEED)
    assert outcome.decisions == [] and outcome.state == state


def test_poll_skips_events_at_or_before_the_cursor():
    at = event("a", updated_at=NOW - dt.timedelta(minutes=10))
    after = event("b", updated_at=NOW - dt.timedelta(minutes=5))
    state = AlertState(cursors={FEED: at.updated_at})
    outcome = poll([after, at], state, NOW, RULES, FEED)
    assert outcome.notify == [after]


def test_poll_does_not_mutate_the_input_state():
    state = AlertState()
    poll([event("a")], state, NOW, RULES, FEED)
    assert state == AlertState()


def test_a_plus_zero_offset_timestamp_orders_like_z():
    z = event("a", updated_at=NOW - dt.timedelta(minutes=2))
    plus = event("b", updated_at=NOW - dt.timedelta(minutes=1), offset="+00:00")
    assert plus.updated_at == NOW - dt.timedelta(minutes=1)
    outcome = poll([plus, z], AlertState(), NOW, RULES, FEED)
    assert ids(e for e, _ in outcome.decisions) == ["a", "b"]
    assert outcome.state.cursors[FEED] == plus.updated_at


# notified


def test_notified_records_the_time_and_the_local_day():
    auckland = Rules.from_config(AlertsConfig(), "Pacific/Auckland")
    moment = dt.datetime(2025, 7, 1, 12, 30, tzinfo=dt.UTC)  # 00:30 on July 2nd there
    state = notified(AlertState(), "e1", moment, auckland)
    assert state.last_notified == {"e1": moment}
    assert state.notification_days == {dt.date(2025, 7, 2)}


def test_notified_prunes_entries_older_than_the_keep_horizon():
    horizon = NOW - dt.timedelta(days=KEEP_NOTIFIED_DAYS)
    state = AlertState(
        last_notified={"old": horizon - SECOND, "edge": horizon, "recent": NOW - SECOND},
        notification_days=frozenset(
            {
                horizon.date() - dt.timedelta(days=1),
                horizon.date(),
                NOW.date() - dt.timedelta(days=1),
            }
        ),
    )
    after = notified(state, "new", NOW, RULES)
    assert after.last_notified == {"edge": horizon, "recent": NOW - SECOND, "new": NOW}
    assert after.notification_days == {
        horizon.date(),
        NOW.date() - dt.timedelta(days=1),
        NOW.date(),
    }


def test_notified_overwrites_the_events_previous_time():
    state = notified(AlertState(), "e1", NOW - dt.timedelta(days=1), RULES)
    assert notified(state, "e1", NOW, RULES).last_notified == {"e1": NOW}


# digest_due


def test_digest_due_on_a_quiet_day():
    assert digest_due(AlertState(), NOW, RULES)


def test_digest_not_due_on_a_day_with_a_notification():
    state = notified(AlertState(), "e1", NOW.replace(hour=1), RULES)
    assert not digest_due(state, NOW, RULES)


def test_digest_due_when_the_notification_was_yesterday():
    state = notified(AlertState(), "e1", NOW - dt.timedelta(days=1), RULES)
    assert digest_due(state, NOW, RULES)


def test_digest_not_due_after_todays_digest_went_out():
    assert not digest_due(AlertState(last_digest_day=NOW.date()), NOW, RULES)


def test_digest_due_when_the_last_digest_was_yesterday():
    state = AlertState(last_digest_day=NOW.date() - dt.timedelta(days=1))
    assert digest_due(state, NOW, RULES)


def test_digest_due_uses_the_configured_time_zone():
    auckland = Rules.from_config(AlertsConfig(), "Pacific/Auckland")
    notified_at = dt.datetime(2025, 7, 1, 11, 30, tzinfo=dt.UTC)  # July 1st there
    state = notified(AlertState(), "e1", notified_at, auckland)
    assert not digest_due(state, notified_at + dt.timedelta(minutes=20), auckland)
    assert digest_due(state, notified_at + dt.timedelta(hours=1), auckland)  # July 2nd


# digest_events


def moderate(event_id: str, hours_ago: float, **kwargs):
    kwargs.setdefault("severity", "MODERATE")
    return event(event_id, updated_at=NOW - dt.timedelta(hours=hours_ago), **kwargs)


def test_digest_window_includes_exactly_24_hours_ago():
    ev = event("a", severity="MODERATE", updated_at=NOW - dt.timedelta(hours=24))
    assert digest_events([ev], NOW, RULES) == [ev]


def test_digest_window_excludes_24_hours_and_one_second_ago():
    ev = event("a", severity="MODERATE", updated_at=NOW - dt.timedelta(hours=24) - SECOND)
    assert digest_events([ev], NOW, RULES) == []


def test_digest_window_excludes_events_updated_after_now():
    ev = event("a", severity="MODERATE", updated_at=NOW + SECOND)
    assert digest_events([ev], NOW, RULES) == []


@pytest.mark.parametrize("severity", ["EXTREME", "SEVERE", "MINOR", "UNKNOWN"])
def test_digest_lists_only_the_digest_severities(severity):
    assert digest_events([moderate("a", 1, severity=severity)], NOW, RULES) == []


def test_digest_uses_the_current_severity():
    downgraded = moderate("a", 1, severity="SEVERE", current_severity="MODERATE")
    now_minor = moderate("b", 1, current_severity="MINOR")
    assert digest_events([downgraded, now_minor], NOW, RULES) == [downgraded]


@pytest.mark.parametrize("kind", EXCLUDED_TYPES)
def test_digest_applies_the_type_filter(kind):
    assert digest_events([moderate("a", 1, type=kind)], NOW, RULES) == []


def test_digest_ignores_the_population_filter():
    small = moderate("a", 2, population=120)
    unenriched = moderate("b", 1, episode_details=None)
    assert digest_events([small, unenriched], NOW, RULES) == [small, unenriched]


def test_digest_applies_the_name_prefixes():
    rules = Rules.from_config(AlertsConfig(skip_name_prefixes=["Green"]))
    green = moderate("a", 2, name="Green flood alert")
    orange = moderate("b", 1, name="Orange flood alert")
    assert digest_events([green, orange], NOW, rules) == [orange]
    assert digest_events([green, orange], NOW, RULES) == [green, orange]


def test_digest_is_oldest_first():
    events = [moderate("c", 1), moderate("a", 3), moderate("b", 2)]
    assert ids(digest_events(events, NOW, RULES)) == ["a", "b", "c"]


def test_digest_is_capped_keeping_the_oldest():
    events = [moderate(f"e{n}", 20 - n) for n in range(9)]
    chosen = digest_events(events, NOW, RULES)
    assert RULES.digest_max_events == 7
    assert ids(chosen) == [f"e{n}" for n in range(7)]


def test_digest_cap_is_configurable():
    rules = Rules.from_config(AlertsConfig(digest_max_events=2))
    events = [moderate(f"e{n}", 10 - n) for n in range(5)]
    assert ids(digest_events(events, NOW, rules)) == ["e0", "e1"]


def test_digest_keeps_the_newest_version_of_an_event():
    old = moderate("a", 5, version=12)
    other = moderate("b", 3)
    new = moderate("a", 1, version=13)
    assert digest_events([new, other, old], NOW, RULES) == [other, new]


def test_digest_drops_an_event_whose_newest_version_no_longer_qualifies():
    # BUG (rules.py, digest_events): the eventId de-duplication runs after the filters, so a
    # stale MODERATE version survives when the newest version is MINOR.
    old = moderate("a", 5, version=12)
    new = moderate("a", 1, version=13, current_severity="MINOR")
    assert digest_events([old, new], NOW, RULES) == []


def test_digest_of_nothing_is_empty():
    assert digest_events([], NOW, RULES) == []


# every threshold is configurable


def test_min_population_zero_notifies_a_zero_population():
    rules = Rules.from_config(AlertsConfig(min_population=0))
    assert reason(event(population=0), rules=rules) is None
    assert "enrichment" in reason(event(episode_details=None), rules=rules)


def test_min_population_is_configurable():
    rules = Rules.from_config(AlertsConfig(min_population=10000))
    assert "population" in reason(event(population=9999), rules=rules)
    assert reason(event(population=10000), rules=rules) is None


def test_severities_including_minor():
    rules = Rules.from_config(AlertsConfig(severities=["MINOR"]))
    assert reason(event(severity="SEVERE", current_severity="MINOR"), rules=rules) is None
    assert "severity" in reason(event(severity="SEVERE"), rules=rules)


def test_types_including_drought():
    rules = Rules.from_config(AlertsConfig(types=["DROUGHT"]))
    assert reason(event(type="DROUGHT"), rules=rules) is None
    assert "type" in reason(event(type="FLOOD"), rules=rules)
    assert digest_events([moderate("a", 1, type="DROUGHT")], NOW, rules) != []


def test_ended_max_days_is_configurable():
    rules = Rules.from_config(AlertsConfig(ended_max_days=1))
    assert reason(event(ended_at=NOW - dt.timedelta(days=1)), rules=rules) is None
    assert "ended" in reason(event(ended_at=NOW - dt.timedelta(days=1) - SECOND), rules=rules)


def test_ended_max_days_zero_skips_anything_ended_before_now():
    rules = Rules.from_config(AlertsConfig(ended_max_days=0))
    assert reason(event(ended_at=NOW), rules=rules) is None
    assert "ended" in reason(event(ended_at=NOW - SECOND), rules=rules)


def test_digest_severities_are_configurable():
    rules = Rules.from_config(AlertsConfig(digest_severities=["MINOR", "SEVERE"]))
    minor, severe, mod = (
        moderate("a", 3, severity="MINOR"),
        moderate("b", 2, severity="SEVERE"),
        moderate("c", 1),
    )
    assert digest_events([minor, severe, mod], NOW, rules) == [minor, severe]


def test_several_name_prefixes():
    rules = Rules.from_config(AlertsConfig(skip_name_prefixes=["Green", "Test "]))
    assert reason(event(name="Test event"), rules=rules) is not None
    assert reason(event(name="Green x"), rules=rules) is not None
    assert reason(event(name="Testing x"), rules=rules) is None


# the fixtures' state file


def test_state_from_fixture_key_names():
    data = {
        "cursorUpdatedAt": "2025-01-02T09:00:00.000Z",
        "lastNotifiedAt": {"e1": "2025-01-02T06:15:40.000Z", "e2": "2025-01-01T08:05:00+00:00"},
        "notificationDays": ["2025-01-01"],
    }
    state = from_fixture(data, FEED)
    assert state.cursors == {FEED: dt.datetime(2025, 1, 2, 9, tzinfo=dt.UTC)}
    assert state.last_notified == {
        "e1": dt.datetime(2025, 1, 2, 6, 15, 40, tzinfo=dt.UTC),
        "e2": dt.datetime(2025, 1, 1, 8, 5, tzinfo=dt.UTC),
    }
    assert state.notification_days == {dt.date(2025, 1, 1)}
    assert state.last_digest_day is None


def test_state_from_fixture_without_a_cursor():
    assert from_fixture({}, FEED) == AlertState()
