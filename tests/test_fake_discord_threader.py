"""The fake Discord's parts for the threader: webhooks, people's messages, CDN files, 429s.

Driven through a plain aiohttp client (the threader is REST-only), so each test checks the
wire: status, Discord's error codes, and the payloads the spec describes (every request and
response also goes through the contract check; a violation fails the test at exit).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from fakes.discord import FakeDiscord

TOKEN = "threader-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def http(fake: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{fake.port}", headers={"Authorization": f"Bot {TOKEN}"}
    ) as session:
        yield session


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    async with http.request(method, "/api/v10" + path, **kwargs) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None, response.headers


async def make_webhook(fake: FakeDiscord, http: aiohttp.ClientSession) -> dict[str, Any]:
    status, webhook, _ = await call(
        http, "POST", f"/channels/{fake.channel['id']}/webhooks", json={"name": "netbot"}
    )
    assert status == 200, webhook
    return webhook


def execute_path(webhook: dict[str, Any]) -> str:
    return f"/webhooks/{webhook['id']}/{webhook['token']}"


async def test_webhooks_are_created_listed_and_fetched_with_discords_limits(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    assert webhook["type"] == 1 and webhook["channel_id"] == fake.channel["id"]
    assert webhook["application_id"] == fake.application_id and webhook["token"]
    status, listed, _ = await call(http, "GET", f"/channels/{fake.channel['id']}/webhooks")
    assert status == 200 and [w["id"] for w in listed] == [webhook["id"]]
    status, fetched, _ = await call(http, "GET", f"/webhooks/{webhook['id']}")
    assert status == 200 and fetched["token"] == webhook["token"]

    path = f"/channels/{fake.channel['id']}/webhooks"
    status, body, _ = await call(http, "POST", path, json={"name": "My Discord relay"})
    assert (status, body["code"]) == (400, 50035) and "name" in body["errors"]
    for n in range(14):
        assert (await call(http, "POST", path, json={"name": f"hook {n}"}))[0] == 200
    status, body, _ = await call(http, "POST", path, json={"name": "one too many"})
    assert (status, body["code"]) == (400, 30007)

    thread = fake.add_thread(fake.channel, "ticket 1")
    status, body, _ = await call(
        http, "POST", f"/channels/{thread['id']}/webhooks", json={"name": "x"}
    )
    assert (status, body["code"]) == (400, 50024)


async def test_managing_webhooks_needs_manage_webhooks_and_the_right_token(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    status, body, _ = await call(
        http, "POST", execute_path(webhook)[:-3] + "bad", json={"content": "x"}
    )
    assert (status, body["code"]) == (401, 50027)
    status, body, _ = await call(http, "POST", f"/webhooks/{'1' * 18}/nope", json={"content": "x"})
    assert (status, body["code"]) == (404, 10015)  # neither a webhook nor an interaction
    fake.deny_bot("manage_webhooks")
    status, body, _ = await call(http, "GET", f"/channels/{fake.channel['id']}/webhooks")
    assert (status, body["code"]) == (403, 50013)
    assert fake.denied == ["manage_webhooks"]
    bad = await call(http, "GET", "/users/@me", headers={"Authorization": "Bot wrong"})
    assert bad[0] == 401


async def test_execute_into_a_thread_posts_as_the_given_name_without_pinging(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    thread = fake.add_thread(fake.channel, "ticket 7")
    role = fake.add_role(fake.guild, "oncall")
    role["mentionable"] = True
    content = f"@everyone <@{fake.user['id']}> <@&{role['id']}> see #7"
    status, message, _ = await call(
        http,
        "POST",
        execute_path(webhook),
        params={"wait": "true", "thread_id": thread["id"]},
        json={"content": content, "username": "Dave Admin", "allowed_mentions": {"parse": []}},
    )
    assert status == 200, message
    assert message["webhook_id"] == webhook["id"] and message["channel_id"] == thread["id"]
    assert message["author"] == {**message["author"], "username": "Dave Admin", "bot": True}
    assert message["content"] == content
    assert (message["mentions"], message["mention_roles"], message["mention_everyone"]) == (
        [],
        [],
        False,
    )
    assert thread["last_message_id"] == message["id"]
    assert ("MESSAGE_CREATE", message["id"]) in [(e, d.get("id")) for e, d in fake.gateway_events]

    # Without allowed_mentions the same text pings, as it would on Discord.
    status, loud, _ = await call(
        http, "POST", execute_path(webhook), params={"wait": "true"}, json={"content": content}
    )
    assert [u["id"] for u in loud["mentions"]] == [fake.user["id"]] and loud["mention_everyone"]

    status, body, _ = await call(http, "POST", execute_path(webhook), json={"content": "quiet"})
    assert (status, body) == (204, None)
    assert fake.webhook_messages(fake.channel)[-1].content == "quiet"

    for bad_body, code in (
        ({"content": ""}, 50006),
        ({"content": "x", "username": "Clyde"}, 50035),
    ):
        status, body, _ = await call(http, "POST", execute_path(webhook), json=bad_body)
        assert (status, body["code"]) == (400, code)
    other = fake.add_thread(fake.add_channel(fake.guild, "elsewhere"), "not ours")
    status, body, _ = await call(
        http,
        "POST",
        execute_path(webhook),
        params={"thread_id": other["id"]},
        json={"content": "x"},
    )
    assert (status, body["code"]) == (404, 10003)


async def test_execute_with_files_serves_them_back_from_the_cdn(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    thread = fake.add_thread(fake.channel, "ticket 8")
    form = aiohttp.FormData()
    payload = {"content": "log attached", "attachments": [{"id": "0", "filename": "boot log.txt"}]}
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    blob = bytes(range(256)) * 10
    form.add_field("files[0]", blob, filename="ignored.bin", content_type="text/plain")
    status, message, _ = await call(
        http,
        "POST",
        execute_path(webhook),
        params={"wait": "true", "thread_id": thread["id"]},
        data=form,
    )
    assert status == 200, message
    [attachment] = message["attachments"]
    assert attachment["filename"] == "boot log.txt" and attachment["size"] == len(blob)
    async with aiohttp.ClientSession() as cdn, cdn.get(attachment["url"]) as response:
        assert response.status == 200 and await response.read() == blob
        assert response.headers["Content-Type"] == "text/plain"
    assert fake.hits["GET cdn"] == 1


async def test_webhook_messages_in_threads_need_thread_id_and_an_unarchived_thread(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    thread = fake.add_thread(fake.channel, "ticket 9")
    _, message, _ = await call(
        http,
        "POST",
        execute_path(webhook),
        params={"wait": "true", "thread_id": thread["id"]},
        json={"content": "first"},
    )
    path = f"{execute_path(webhook)}/messages/{message['id']}"
    in_thread = {"thread_id": thread["id"]}
    status, body, _ = await call(http, "GET", path)
    assert (status, body["code"]) == (404, 10008)  # Discord: unknown without thread_id
    status, body, _ = await call(http, "GET", path, params=in_thread)
    assert status == 200 and body["content"] == "first"
    status, edited, _ = await call(
        http, "PATCH", path, params=in_thread, json={"content": "first, edited"}
    )
    assert status == 200 and edited["content"] == "first, edited" and edited["edited_timestamp"]

    fake.archive_thread(thread)
    for method, extra in (("PATCH", {"json": {"content": "again"}}), ("DELETE", {})):
        status, body, _ = await call(http, method, path, params=in_thread, **extra)
        assert (status, body["code"]) == (400, 50083), method
    # Executing into an archived thread unarchives it (Discord's documented behaviour) ...
    status, _, _ = await call(
        http, "POST", execute_path(webhook), params=in_thread, json={"content": "wake up"}
    )
    assert status == 204 and not thread["thread_metadata"]["archived"]
    status, body, _ = await call(http, "DELETE", path, params=in_thread)
    assert (status, body) == (204, None)
    assert (await call(http, "GET", path, params=in_thread))[0] == 404
    # ... unless it is locked.
    fake.archive_thread(thread, locked=True)
    status, body, _ = await call(
        http, "POST", execute_path(webhook), params=in_thread, json={"content": "x"}
    )
    assert (status, body["code"]) == (400, 50083)
    assert thread["thread_metadata"]["archived"]


async def test_people_post_edit_and_delete_as_rest_state(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    thread = fake.add_thread(fake.channel, "ticket 10")
    bob = fake.add_member(fake.guild, fake.add_user("bob"))
    role = fake.add_role(fake.guild, "netops")
    party = fake.emoji("party")
    message = fake.user_message(
        thread,
        fake.user,
        f"hi <@{bob['id']}> <@&{role['id']}> in <#{fake.channel['id']}> {party} @everyone",
        attachments=[("trace.pcap", b"\x00\x01pcap", "application/vnd.tcpdump.pcap")],
    )
    assert thread["last_message_id"] == str(message.id)
    assert [u["id"] for u in message.payload["mentions"]] == [bob["id"]]
    assert message.payload["mention_roles"] == [role["id"]]
    assert message.payload["mention_everyone"]  # Discord's default @everyone may
    assert party.startswith("<:party:") and fake.guild["emojis"][0]["name"] == "party"
    assert fake.file_bytes(message.payload["attachments"][0]) == b"\x00\x01pcap"

    status, listed, _ = await call(http, "GET", f"/channels/{thread['id']}/messages")
    assert status == 200 and [m["id"] for m in listed] == [str(message.id)]
    assert listed[0]["author"]["id"] == fake.user["id"] and listed[0]["edited_timestamp"] is None

    fake.user_edit(message, "changed my mind")
    _, fetched, _ = await call(http, "GET", f"/channels/{thread['id']}/messages/{message.id}")
    assert fetched["content"] == "changed my mind" and fetched["edited_timestamp"]
    assert fetched["mentions"] == []

    later = fake.user_message(thread, bob, "second")
    fake.user_delete(later)
    assert thread["last_message_id"] == str(later.id)  # Discord does not move it back
    _, listed, _ = await call(http, "GET", f"/channels/{thread['id']}/messages")
    assert [m["id"] for m in listed] == [str(message.id)]
    status, body, _ = await call(http, "GET", f"/channels/{thread['id']}/messages/{later.id}")
    assert (status, body["code"]) == (404, 10008)
    kinds = [e for e, _ in fake.gateway_events if e.startswith("MESSAGE_")]
    assert kinds == ["MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_CREATE", "MESSAGE_DELETE"]

    with pytest.raises(AssertionError, match="already deleted"):
        fake.user_delete(later)
    with pytest.raises(AssertionError, match="not a member"):
        fake.user_message(thread, fake.add_user("stranger"), "hello")
    with pytest.raises(AssertionError, match="2000"):
        fake.user_message(thread, bob, "x" * 2001)

    everyone = fake.roles[fake.guild["id"]][fake.guild["id"]]
    fake.set_role_permissions(everyone, int(everyone["permissions"]) & ~(1 << 17))
    assert not fake.user_message(thread, bob, "@everyone").payload["mention_everyone"]

    fake.archive_thread(thread)
    fake.user_message(thread, bob, "anyone?")
    assert not thread["thread_metadata"]["archived"]  # a person posting unarchives it


async def test_message_history_pages_like_discord(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    thread = fake.add_thread(fake.channel, "ticket 11")
    ids = [str(fake.user_message(thread, fake.user, f"m{n}").id) for n in range(7)]
    path = f"/channels/{thread['id']}/messages"

    async def page(**query: str) -> list[str]:
        status, body, _ = await call(http, "GET", path, params=query)
        assert status == 200, body
        return [m["id"] for m in body]

    assert await page(limit="3") == ids[:-4:-1]  # newest three, newest first
    assert await page(after=ids[1], limit="2") == [ids[3], ids[2]]  # right after, not newest
    assert await page(before=ids[4], limit="2") == [ids[3], ids[2]]
    assert await page(after=ids[-1]) == []
    status, body, _ = await call(http, "GET", path, params={"limit": "101"})
    assert (status, body["code"]) == (400, 50035)
    if fake.contract_checking:  # the spec says so too (where ../shared has it)
        assert any("maximum of 100" in f for f in fake.failures)
    fake.failures.clear()


async def test_active_and_archived_thread_listings(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    open_thread = fake.add_thread(fake.channel, "open")
    closed = fake.add_thread(fake.channel, "closed")
    newest = fake.user_message(open_thread, fake.user, "latest")
    fake.archive_thread(closed)
    _, active, _ = await call(http, "GET", f"/guilds/{fake.guild['id']}/threads/active")
    assert [(t["id"], t["last_message_id"]) for t in active["threads"]] == [
        (open_thread["id"], str(newest.id))
    ]
    _, archived, _ = await call(
        http, "GET", f"/channels/{fake.channel['id']}/threads/archived/public"
    )
    assert [t["id"] for t in archived["threads"]] == [closed["id"]]


async def test_rate_limits_answer_discords_429_and_catch_early_retries(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    limit = fake.rate_limit("/webhooks/{webhook_id}/{webhook_token}", times=1, retry_after=30)
    status, body, headers = await call(http, "POST", execute_path(webhook), json={"content": "a"})
    assert status == 429
    assert body == {**body, "global": False, "code": 0} and 29 < body["retry_after"] <= 30
    assert headers["Retry-After"] == "30" and headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Scope"] == "user" and "X-RateLimit-Bucket" in headers
    assert "X-RateLimit-Global" not in headers
    other = await call(http, "GET", f"/channels/{fake.channel['id']}")
    assert other[0] == 200  # another route is not limited
    status, _, _ = await call(http, "POST", execute_path(webhook), json={"content": "a"})
    assert status == 429 and fake.early_retries == ["POST /webhooks/{webhook_id}/{webhook_token}"]
    limit.until = 0  # the wait is over
    status, _, _ = await call(http, "POST", execute_path(webhook), json={"content": "a"})
    assert status == 204 and len(fake.webhook_messages()) == 1

    fake.rate_limit(None, times=2, retry_after=0, global_=True)
    for path in (f"/channels/{fake.channel['id']}", f"/guilds/{fake.guild['id']}/threads/active"):
        status, body, headers = await call(http, "GET", path)
        assert (status, body["global"]) == (429, True)
        assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
    assert (await call(http, "GET", f"/channels/{fake.channel['id']}"))[0] == 200


async def test_request_counters_and_answer_hooks(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    seen: list[tuple[str, str, int]] = []
    remove = fake.on_answer(
        lambda method, template, status: seen.append((method, template, status))
    )
    fake.reset_hits()
    await call(http, "GET", f"/guilds/{fake.guild['id']}/threads/active")
    await call(http, "POST", execute_path(webhook), json={"content": "x"})
    assert fake.reset_hits() == {
        "GET /guilds/{guild_id}/threads/active": 1,
        "POST /webhooks/{webhook_id}/{webhook_token}": 1,
    }
    assert seen[-1] == ("POST", "/webhooks/{webhook_id}/{webhook_token}", 204)
    # The hook runs after the state changed, before the answer leaves.
    assert len(fake.webhook_messages()) == 1
    remove()
    await call(http, "GET", f"/channels/{fake.channel['id']}")
    assert len(seen) == 2 and fake.hits == {"GET /channels/{channel_id}": 1}


async def test_editing_a_webhook_message_keeps_listed_files_and_adds_new_ones(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"content": "two files"}))
    form.add_field("files[0]", b"first", filename="a.txt", content_type="text/plain")
    form.add_field("files[1]", b"second", filename="b.txt", content_type="text/plain")
    _, message, _ = await call(
        http, "POST", execute_path(webhook), params={"wait": "true"}, data=form
    )
    first, _second = message["attachments"]
    path = f"{execute_path(webhook)}/messages/{message['id']}"
    assert (await call(http, "GET", path, params={"thread_id": fake.channel["id"]}))[0] == 404

    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"attachments": [{"id": first["id"]}]}))
    form.add_field("files[0]", b"third", filename="c.txt", content_type="text/plain")
    status, edited, _ = await call(http, "PATCH", path, data=form)
    assert status == 200, edited
    assert [a["filename"] for a in edited["attachments"]] == ["a.txt", "c.txt"]
    assert fake.file_bytes(edited["attachments"][1]) == b"third"
    async with aiohttp.ClientSession() as cdn, cdn.get(first["url"] + "-nope") as response:
        assert response.status == 404


async def test_people_cannot_edit_what_a_bot_or_webhook_wrote(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    webhook = await make_webhook(fake, http)
    await call(http, "POST", execute_path(webhook), json={"content": "from the webhook"})
    [posted] = fake.webhook_messages()
    with pytest.raises(AssertionError, match="not written by a person"):
        fake.user_edit(posted, "hijacked")
    locked = fake.add_thread(fake.channel, "locked")
    fake.archive_thread(locked, locked=True)
    with pytest.raises(AssertionError, match="may not post"):
        fake.user_message(locked, fake.user, "let me in")
