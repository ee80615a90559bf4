"""KonturClient against the fake Event API (bench/fake_kontur.py): paging, tokens, faults."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from fakes.kontur import FakeKontur, make_event, stamp
from netbot.alerts.kontur import (
    FeedPage,
    KonturAuthError,
    KonturBadResponse,
    KonturClient,
    KonturError,
    KonturUnavailable,
)
from netbot.core.secrets import Secret
from netbot.core.times import parse_time

FEED = "kontur-public"
PASSWORD = "Pa55-very-SECRET-kontur"
T0 = dt.datetime(2025, 3, 14, 9, 0, tzinfo=dt.UTC)
FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "alerts"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[FakeKontur]:
    async with FakeKontur(password=PASSWORD) as server:
        yield server


@pytest.fixture
async def make_client(fake: FakeKontur) -> AsyncIterator[Callable[..., KonturClient]]:
    clients: list[KonturClient] = []

    def make(**overrides: Any) -> KonturClient:
        options: dict[str, Any] = {
            "api_url": fake.api_url,
            "token_url": fake.token_url,
            "username": fake.username,
            "password": Secret(PASSWORD),
            "page_limit": 100,
            "timeout": 2.0,
            "backoff": 0.01,
            **overrides,
        }
        clients.append(KonturClient(**options))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


def ids(page: FeedPage) -> list[str]:
    return [event["eventId"] for event in page.events]


# -- paging -----------------------------------------------------------------------------------


async def test_pages_while_full_and_cursor_is_newest(fake: FakeKontur, make_client) -> None:
    events = [fake.add_event(make_event(at(m))) for m in (5, 1, 4, 2, 3)]
    client = make_client(page_limit=2)
    page = await client.fetch_since(FEED, None)
    assert ids(page) == [e["eventId"] for e in sorted(events, key=lambda e: e["updatedAt"][:23])]
    assert page.cursor == at(5)
    assert not page.more
    api = fake.api_requests()
    assert len(api) == 3
    assert all(r.query["episodeFilterType"] == "LATEST" for r in api)
    assert [r.query.get("after") for r in api] == [
        None,
        "2025-03-14T09:02:00.000Z",
        "2025-03-14T09:04:00.000Z",
    ]
    assert [r.query["limit"] for r in api] == ["2", "2", "2"]
    assert {r.query["sortOrder"] for r in api} == {"ASC"}


async def test_exactly_full_last_page_ends_with_204(fake: FakeKontur, make_client) -> None:
    for m in range(4):
        fake.add_event(make_event(at(m)))
    page = await make_client(page_limit=2).fetch_since(FEED, None)
    assert len(page.events) == 4 and page.cursor == at(3)
    assert [r.status for r in fake.api_requests()] == [200, 200, 204]


async def test_max_pages_stops_and_says_more(fake: FakeKontur, make_client) -> None:
    for m in range(5):
        fake.add_event(make_event(at(m)))
    client = make_client(page_limit=2)
    page = await client.fetch_since(FEED, None, max_pages=1)
    assert len(page.events) == 2 and page.cursor == at(1) and page.more
    rest = await client.fetch_since(FEED, page.cursor)
    assert len(rest.events) == 3 and rest.cursor == at(4) and not rest.more


async def test_204_is_empty_and_cursor_unchanged(fake: FakeKontur, make_client) -> None:
    client = make_client()
    assert await client.fetch_since(FEED, None) == FeedPage([], None)
    fake.add_event(make_event(at(1)))
    assert await client.fetch_since(FEED, at(1)) == FeedPage([], at(1))
    assert [r.status for r in fake.api_requests()] == [204, 204]


async def test_after_is_exclusive(fake: FakeKontur, make_client) -> None:
    *_, later = [fake.add_event(make_event(at(m))) for m in (1, 2, 3)]
    page = await make_client().fetch_since(FEED, at(2))
    assert ids(page) == [later["eventId"]]
    assert fake.api_requests()[0].query["after"] == "2025-03-14T09:02:00.000Z"


async def test_both_timestamp_offsets_are_parsed(fake: FakeKontur, make_client) -> None:
    zulu = fake.add_event(make_event(stamp(at(1), zulu=True)))
    plus = fake.add_event(make_event(stamp(at(2), zulu=False)))
    assert zulu["updatedAt"].endswith("Z") and plus["updatedAt"].endswith("+00:00")
    client = make_client(page_limit=1)
    page = await client.fetch_since(FEED, None)
    assert ids(page) == [zulu["eventId"], plus["eventId"]]
    assert page.cursor == at(2) and page.cursor.tzinfo is not None
    assert (await client.fetch_since(FEED, at(1))).events == [plus]
    # an `after` given with a non-UTC offset is converted, not misread
    cet = dt.timezone(dt.timedelta(hours=1))
    assert (await client.fetch_since(FEED, at(1).astimezone(cet))).events == [plus]


async def test_latest_update(fake: FakeKontur, make_client) -> None:
    client = make_client()
    assert await client.latest_update(FEED) is None
    for m in (3, 7, 5):
        fake.add_event(make_event(at(m)))
    fake.add_event(make_event(at(60)), feed="wildfires")
    assert await client.latest_update(FEED) == at(7)
    last = fake.api_requests()[-1].query
    assert (last["sortOrder"], last["limit"], last["episodeFilterType"]) == ("DESC", "1", "LATEST")
    assert "after" not in last


async def test_realistic_fixture_page(fake: FakeKontur, make_client) -> None:
    path = FIXTURES / "kontur_feed_page1.json"
    if not path.is_file():
        pytest.skip(f"shared fixtures absent: {path} (needs ../shared next to the project)")
    fixture = json.loads(path.read_text())
    for event in fixture["data"]:
        fake.add_event(event)
    expected = sorted(fixture["data"], key=lambda e: parse_time(e["updatedAt"]))
    newest = max(parse_time(e["updatedAt"]) for e in fixture["data"])
    page = await make_client().fetch_since(FEED, None)
    assert len(page.events) == 14 and page.events == expected and page.cursor == newest
    paged = await make_client(page_limit=5).fetch_since(FEED, None)
    assert paged.events == expected and len(fake.api_requests()) == 1 + 3
    # the cursor from the fixture's bot state: E14 is at the cursor, so 13 come back
    cursor = dt.datetime(2025, 3, 14, 8, 55, 10, 350000, tzinfo=dt.UTC)
    assert len((await make_client().fetch_since(FEED, cursor)).events) == 13
    assert await make_client().latest_update(FEED) == newest


# -- tokens -----------------------------------------------------------------------------------


async def test_token_obtained_once_and_reused(fake: FakeKontur, make_client) -> None:
    fake.add_event(make_event(at(1)))
    client = make_client()
    for _ in range(3):
        await client.fetch_since(FEED, None)
    await client.latest_update(FEED)
    assert [r.form["grant_type"] for r in fake.token_requests()] == ["password"]
    assert [r.status for r in fake.api_requests()] == [200] * 4


async def test_token_refreshed_before_expiry(fake: FakeKontur, make_client) -> None:
    clock = Clock()
    client = make_client(clock=clock)
    await client.fetch_since(FEED, None)
    clock.now += fake.expires_in - 31  # still well inside the lifetime
    await client.fetch_since(FEED, None)
    assert len(fake.token_requests()) == 1
    clock.now += 2  # within the 30 s margin: refresh with the refresh token
    await client.fetch_since(FEED, None)
    clock.now += fake.refresh_expires_in  # refresh token expired too: password again
    await client.fetch_since(FEED, None)
    assert [r.form["grant_type"] for r in fake.token_requests()] == [
        "password",
        "refresh_token",
        "password",
    ]
    assert all(r.status == 204 for r in fake.api_requests())


async def test_refused_refresh_falls_back_to_password(fake: FakeKontur, make_client) -> None:
    clock = Clock()
    client = make_client(clock=clock)
    await client.fetch_since(FEED, None)
    fake.expire_tokens(refresh_too=True)  # e.g. the Keycloak session was ended
    clock.now += fake.expires_in
    await client.fetch_since(FEED, None)
    grants = [(r.form["grant_type"], r.status) for r in fake.token_requests()]
    assert grants == [("password", 200), ("refresh_token", 401), ("password", 200)]


async def test_expires_in_zero_still_works_per_request() -> None:
    async with FakeKontur(password=PASSWORD, expires_in=0) as server:
        client = KonturClient(api_url=server.api_url, token_url=server.token_url,
                              username=server.username, password=Secret(PASSWORD), backoff=0.01)  # fmt: skip
        try:
            with pytest.raises(KonturAuthError, match="fresh token"):
                await client.fetch_since(FEED, None)  # the fake's tokens die at once: 401 twice
            assert len(server.token_requests()) == 2 and len(server.api_requests()) == 2
        finally:
            await client.close()


async def test_401_gets_new_token_once_and_retries(fake: FakeKontur, make_client) -> None:
    event = fake.add_event(make_event(at(1)))
    client = make_client()
    await client.fetch_since(FEED, None)
    fake.expire_tokens()
    assert (await client.fetch_since(FEED, None)).events == [event]
    assert [r.status for r in fake.api_requests()] == [200, 401, 200]
    assert len(fake.token_requests()) == 2


async def test_401_twice_is_auth_error(fake: FakeKontur, make_client) -> None:
    fake.fail_next(401, times=2)
    with pytest.raises(KonturAuthError):
        await make_client().fetch_since(FEED, None)
    assert [r.status for r in fake.api_requests()] == [401, 401]
    assert len(fake.token_requests()) == 2


async def test_token_endpoint_refusal_is_auth_error(fake: FakeKontur, make_client) -> None:
    client = make_client(password=Secret("wrong-password"))
    with pytest.raises(KonturAuthError, match="refused the password grant") as caught:
        await client.fetch_since(FEED, None)
    assert "invalid_grant" in caught.value.message
    assert fake.api_requests() == [] and len(fake.token_requests()) == 1  # 4xx: no retry


async def test_403_is_auth_error_naming_the_role(fake: FakeKontur, make_client) -> None:
    fake.fail_next(403)
    with pytest.raises(KonturAuthError, match="read:feed:wildfires"):
        await make_client().fetch_since("wildfires", None)
    assert len(fake.api_requests()) == 1


# -- faults -----------------------------------------------------------------------------------


async def test_500_then_200_is_retried(fake: FakeKontur, make_client) -> None:
    event = fake.add_event(make_event(at(1)))
    fake.fail_next(500)
    assert (await make_client().fetch_since(FEED, None)).events == [event]
    assert [r.status for r in fake.api_requests()] == [500, 200]


async def test_429_and_token_endpoint_503_are_retried(fake: FakeKontur, make_client) -> None:
    fake.fail_next(503, route="token")
    fake.fail_next(429)
    assert (await make_client().fetch_since(FEED, None)).events == []
    assert [r.status for r in fake.token_requests()] == [503, 200]
    assert [r.status for r in fake.api_requests()] == [429, 204]


async def test_500_forever_is_unavailable_after_retries(fake: FakeKontur, make_client) -> None:
    fake.fail_next(500, times=100)
    with pytest.raises(KonturUnavailable, match="after 4 attempt"):
        await make_client(retries=4).fetch_since(FEED, None)
    assert len(fake.api_requests()) == 4


async def test_other_4xx_is_not_retried(fake: FakeKontur, make_client) -> None:
    fake.fail_next(404, times=5)
    with pytest.raises(KonturError, match="HTTP 404") as caught:
        await make_client().fetch_since(FEED, None)
    assert type(caught.value) is KonturError
    assert len(fake.api_requests()) == 1


async def test_slow_answer_is_unavailable_quickly(fake: FakeKontur, make_client) -> None:
    fake.delay_next(30, times=3)
    started = time.monotonic()
    with pytest.raises(KonturUnavailable, match=r"no answer within 0\.2s"):
        await make_client(timeout=0.2, retries=3).fetch_since(FEED, None)
    assert time.monotonic() - started < 2.0
    assert len(fake.api_requests()) == 3


async def test_slow_once_then_fine(fake: FakeKontur, make_client) -> None:
    fake.delay_next(30)
    assert (await make_client(timeout=0.2).fetch_since(FEED, None)).events == []


async def test_connection_refused_is_unavailable(make_client) -> None:
    client = make_client(api_url="http://127.0.0.1:9/events/v1/", token_url="http://127.0.0.1:9/t")
    with pytest.raises(KonturUnavailable, match="POST token"):
        await client.fetch_since(FEED, None)


async def test_malformed_json_is_bad_response(fake: FakeKontur, make_client) -> None:
    fake.malformed_next()
    with pytest.raises(KonturBadResponse, match="not JSON"):
        await make_client().fetch_since(FEED, None)
    assert len(fake.api_requests()) == 1  # a bad body is not retried


def answering(client: KonturClient, monkeypatch: pytest.MonkeyPatch, body: Any) -> None:
    """Make every search answer 200 with `body`, for shapes the fake would never send."""

    async def answer(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        return 200, json.dumps(body).encode()

    async def token() -> str:
        return "t"

    monkeypatch.setattr(client, "_send", answer)
    monkeypatch.setattr(client, "_access_token", token)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"data": []}, "lacks"),
        ({"pageMetadata": {}}, "lacks"),
        ([], "not an object"),
        ({"pageMetadata": {}, "data": {"a": 1}}, "not a list"),
        ({"pageMetadata": {"nextAfterValue": 5}, "data": []}, "nextAfterValue"),
    ],
)
async def test_bad_shapes_are_bad_response(make_client, monkeypatch, body, why) -> None:
    client = make_client()
    answering(client, monkeypatch, body)
    with pytest.raises(KonturBadResponse, match=why):
        await client.fetch_since(FEED, None)


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("x", "not an object"),
        ({"updatedAt": "2025-03-14T09:00:00Z"}, "no eventId"),
        ({"eventId": "e1"}, "no valid updatedAt"),
        ({"eventId": "e1", "updatedAt": "yesterday"}, "updatedAt"),
    ],
)
async def test_a_broken_event_is_dropped_not_the_page(
    make_client, monkeypatch, broken, why
) -> None:
    """One bad event must not block the feed forever: the rest arrive, the cursor moves on, and
    the page says what was dropped (the engine logs and counts it)."""
    client = make_client()
    good = {"eventId": "e2", "updatedAt": "2025-03-14T09:00:00Z"}
    body = {"pageMetadata": {"nextAfterValue": "2025-03-14T09:30:00Z"}, "data": [broken, good]}
    answering(client, monkeypatch, body)
    page = await client.fetch_since(FEED, None)
    assert page.events == [good]
    assert page.cursor == dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
    [problem] = page.problems
    assert why in problem


# -- secrets ----------------------------------------------------------------------------------


async def test_secrets_never_logged_nor_in_errors(fake: FakeKontur, make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_event(make_event(at(1)))
    client = make_client(timeout=0.2)
    errors: list[KonturError] = []

    async def attempt(setup: Callable[[], None]) -> None:
        setup()
        try:
            await client.fetch_since(FEED, None)
        except KonturError as exc:
            errors.append(exc)

    await attempt(lambda: None)
    await attempt(fake.expire_tokens)
    await attempt(lambda: fake.fail_next(401, times=2))
    await attempt(lambda: fake.fail_next(500, times=3))
    await attempt(lambda: fake.delay_next(30, times=3))
    await attempt(fake.malformed_next)
    await attempt(lambda: (fake.expire_tokens(), fake.fail_next(401, route="token")))
    wrong = make_client(password=Secret(PASSWORD + "-wrong"))
    try:
        await wrong.latest_update(FEED)
    except KonturAuthError as exc:
        errors.append(exc)
    assert len(errors) == 6 and len(fake.issued) >= 6
    texts = [caplog.text, repr(client), repr(wrong)]
    texts += [f"{e!s} {e!r} {e.message} {e.__cause__!r}" for e in errors]
    texts += [json.dumps(r.query) for r in fake.requests]  # nothing secret in a URL
    for secret in [PASSWORD, *fake.issued]:
        for text in texts:
            assert secret not in text
    assert "Bearer" not in caplog.text and "Authorization" not in caplog.text
    assert all("\n" not in e.message for e in errors)
