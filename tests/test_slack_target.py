"""SlackTarget against the fake Slack: nothing from outside pings or hides a link, every post
fits Slack's limits, failures are sorted into "never again" and "later", and a post can be
found again by the outbox id in its metadata.

Why: the bridge mirrors text from Discord users, Redmine and feeds into Slack; a single
`<!channel>` that gets through pings a whole partner workspace, and a failure sorted wrongly
either loses a mirror (given up on a 503) or retries forever (a channel that is gone).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fakes.alert_events import NOW, event
from fakes.slack import FakeSlack, Message
from netbot.alerts.messages import alert_message, alert_post, digest_header, digest_post
from netbot.chat import Field, Link, Own, Post, PostRef, Rejected
from netbot.core.errors import BackendError
from netbot.incidents.config import IncidentsConfig
from netbot.incidents.messages import Messages
from netbot.incidents.records import Incident, TimelineEntry
from netbot.slack.target import (
    SlackRejected,
    SlackTarget,
    SlackUnavailable,
    missing_scopes,
    outbox_metadata,
    required_scopes,
    slack_client,
)
from netbot.slack.text import SECTION_LIMIT, escape, message, safe_url

HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U123>",
    "<#C123|general>",
    "<!subteam^S123|@oncall>",
    "<https://evil.example|https://good.example>",
    "&lt;!channel&gt;",  # already escaped once: must not decode into a ping
    "&amp;lt;!here&amp;gt;",
    "<<!channel>>",
    "@channel @here @everyone",
    "```<!channel>``` `<@U123>`",
    "\u202e<!here>\u200b<@U1>",  # an RTL override and a zero-width space around pings
    "日本語 <!channel> émoji 🚨 > quote",
    "text|with|pipes> and <",
]
GOOD_URL = "https://example.org/incident?id=1&view=full"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(pace_interval=0) as server:
        yield server


def target_on(fake: FakeSlack, channel: str, **client: Any) -> SlackTarget:
    client.setdefault("backoff", 0.01)
    return SlackTarget(slack_client(fake.token, base_url=fake.base_url, **client), channel, "#t")


def everything(post: Post, hostile: str) -> Post:
    """`hostile` in every place a post carries outside text."""
    return Post(
        title=(Own("#12 "), hostile),
        link=GOOD_URL,
        body=(hostile, Own("\n"), Link(hostile, GOOD_URL)),
        listing=(hostile, Link(hostile, GOOD_URL)),
        fields=(Field(hostile, hostile), Field(Own("Lead"), Own("<@1234>"))),
        footer=hostile,
        accent=post.accent,
    )


def texts_of(stored: Message) -> list[str]:
    """Every mrkdwn string Slack will parse in a stored message."""
    found = [stored.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(stored.blocks)
    return found


ANGLE = re.compile(r"<([^>]*)>")


def assert_harmless(text: str, urls: tuple[str, ...] = (GOOD_URL,)) -> None:
    """The only control sequences are our own links, to our own `urls`, with a plain label;
    and no text that decodes (once, as Slack does) into one either."""
    allowed = {url.replace("&", "&amp;") for url in urls}
    for inner in ANGLE.findall(text):
        url, bar, label = inner.partition("|")
        assert url in allowed and bar, f"control sequence <{inner}>"
        assert "<" not in label and "|" not in url
    assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, f"a bare & in {text!r}"
    shown = ANGLE.sub("", text)  # what remains once our links are set aside
    assert "<" not in shown and ">" not in shown
    assert not re.search(r"@(channel|here|everyone)\b", shown, re.IGNORECASE)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_nothing_from_outside_pings_or_hides_a_link(fake: FakeSlack, hostile: str) -> None:
    channel = fake.add_channel("mirror")
    target = target_on(fake, channel)
    ref = await target.post(everything(Post(accent="warning"), hostile))
    await target.reply(ref, Post(body=hostile), broadcast=True)
    await target.edit(ref, Post(title=hostile, body=(hostile,)))
    stored = fake.messages(channel)
    assert len(stored) == 2
    for text in [t for m in stored for t in texts_of(m)] + [
        t for old in stored[0].edits for t in (old,)
    ]:
        assert_harmless(text)
    # the reader still sees the text as it was written (Slack decodes entities once)
    body = fake.messages(channel)[1].blocks
    assert body is not None
    shown = html.unescape(body[0]["text"]["text"]).replace("@\u2060", "@")
    assert shown == hostile.strip("\n")


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_feed_alerts_and_digests_arrive_harmless(fake: FakeSlack, hostile: str) -> None:
    """A feed's event (name, description, id) through the alerts' own Post builders."""
    channel = fake.add_channel("alerts")
    target = target_on(fake, channel)
    alert = alert_message(event(f"ev-{hostile}", name=hostile, description=hostile))
    await target.post(alert_post(alert))
    await target.post(digest_post(digest_header(NOW.date()), [alert, alert]))
    for stored in fake.messages(channel):
        for text in texts_of(stored):
            assert_harmless(text, (alert.link,))
    assert safe_url(alert.link)  # the map link survives: it is quoted, not dropped
    assert any(f"<{alert.link.replace('&', '&amp;')}|" in t for t in texts_of(stored))


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_incident_text_typed_in_discord_arrives_harmless(
    fake: FakeSlack, hostile: str
) -> None:
    """People's words (title, summary, impact, resolution, a message in the space, its
    author's name) through the incidents' own Post builders: the headline, a timeline entry."""
    channel = fake.add_channel("incidents")
    target = target_on(fake, channel)
    declared = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    incident = Incident(
        id=12, guild_id=1, title=hostile, summary=hostile, impact=hostile, severity=hostile,
        status="investigating", private=False, reporter_id=5, lead_id=6, comms_id=None,
        declared_at=declared, identified_at=None, resolved_at=None, closed_at=None,
        resolution=hostile, space=None, headline=None, ticket_id=None, postmortem_at=None,
    )  # fmt: skip
    said = TimelineEntry(1, 12, "message", declared, 6, hostile, author_name=hostile)
    messages = Messages(IncidentsConfig(), ZoneInfo("UTC"))
    headline = await target.post(messages.headline(incident, declared))
    await target.reply(headline, messages.notice(said))
    stored = fake.messages(channel)
    assert len(stored) == 2
    for text in [t for m in stored for t in texts_of(m)]:
        assert_harmless(text, ())
    assert "@discord-user-6" in stored[0].text + str(stored[0].blocks)  # the lead, no ping


def test_escaping_is_exact_and_not_doubled() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;"
    assert html.unescape(escape("&lt;!here&gt;")) == "&lt;!here&gt;"


@pytest.mark.parametrize(
    ("url", "linked"),
    [(GOOD_URL, True), ("http://example.org/a", True), ("javascript:alert(1)", False),
     ("https://evil.example|https://good.example", False), ("https://a.example/>x", False),
     ("https://a.example/ x", False), ("ftp://example.org/file", False), ("https://", False),
     ("https://a.example/\n<!channel>", False)],
)  # fmt: skip
def test_links_only_to_checked_urls(url: str, linked: bool) -> None:
    assert safe_url(url) is linked
    shown = message(Post(body=Link("<b>label</b>", url)))["blocks"][0]["text"]["text"]
    if linked:
        assert shown == f"<{url.replace('&', '&amp;')}|&lt;b&gt;label&lt;/b&gt;>"
    else:
        assert shown == "&lt;b&gt;label&lt;/b&gt;"  # the label alone, no link


def test_own_discord_markup_reads_as_slack_and_pings_nobody() -> None:
    post = Post(body=(Own("**Incident #3** lead <@123> in <#456>, role <@&789>"),))
    text = message(post)["blocks"][0]["text"]["text"]
    assert text == (
        "*Incident #3* lead @discord-user-123 in #discord-channel-456, role @discord-role-789"
    )


@pytest.mark.parametrize("size", [40_000, 200_000])
async def test_long_text_is_split_within_slack_limits(fake: FakeSlack, size: int) -> None:
    channel = fake.add_channel("mirror")
    lines = "\n".join(f"line {n} & <!here> " + "x" * 50 for n in range(size // 70))
    ref = await target_on(fake, channel).post(Post(title="t", body=lines, footer="f"))
    (stored,) = fake.messages(channel)
    assert stored.ts == ref.message_id and stored.blocks is not None
    assert len(stored.blocks) <= 50 and len(stored.text) <= 4000
    sections = [b["text"]["text"] for b in stored.blocks if b["type"] == "section"]
    assert all(len(s) <= SECTION_LIMIT for s in sections)
    for text in texts_of(stored):
        assert_harmless(text)
    if size == 40_000:  # it all fits: nothing lost, and cut only at line breaks
        joined = "\n".join(sections[1:])
        assert html.unescape(joined).replace("@\u2060", "@") == lines
    else:  # clipped, visibly, with the footer kept
        assert sections[-1].endswith("…") and stored.blocks[-1]["type"] == "context"


async def test_long_links_are_never_cut_in_half(fake: FakeSlack) -> None:
    channel = fake.add_channel("mirror")
    label = "<!here> & " * 600  # 6,000 characters, more when escaped
    body = tuple(Link(label, GOOD_URL) for _ in range(60))
    too_long = "https://example.org/" + "a" * 1200
    fields = (Field(Link(label, GOOD_URL), Link(label, GOOD_URL)), Field("x", Link("y", too_long)))
    await target_on(fake, channel).post(Post(title=Link(label, GOOD_URL), body=body, fields=fields))
    (stored,) = fake.messages(channel)
    assert stored.blocks is not None and len(stored.blocks) <= 50
    for text in texts_of(stored):
        assert_harmless(text)  # every `<` of a link has its `>`: none was cut
    assert stored.text.count(f"<{GOOD_URL.replace('&', '&amp;')}|") >= 1
    assert too_long not in str(stored.blocks)  # an over-long url shows its label alone


async def test_listing_and_fields_fit_whole_items(fake: FakeSlack) -> None:
    channel = fake.add_channel("digest")
    items = tuple(Link(f"Event {n} " + "y" * 300, GOOD_URL) for n in range(40))
    fields = tuple(Field(f"name {n}", "v" * 3000) for n in range(12))
    await target_on(fake, channel).post(Post(title="Digest", listing=items, fields=fields))
    (stored,) = fake.messages(channel)
    assert stored.blocks is not None
    listing = "\n".join(b["text"]["text"] for b in stored.blocks[1:] if "text" in b)
    assert re.findall(r"^(\d+)\. ", listing, re.MULTILINE) == [str(n) for n in range(1, 41)]
    field_blocks = [b for b in stored.blocks if "fields" in b]
    assert [len(b["fields"]) for b in field_blocks] == [10, 2]
    assert all(len(f["text"]) <= 2000 for b in field_blocks for f in b["fields"])


async def test_post_reply_edit_delete_and_flags(fake: FakeSlack) -> None:
    channel = fake.add_channel("mirror")
    target = target_on(fake, channel)
    ref = await target.post(Post(title="Headline", body="v1"))
    assert ref == PostRef("slack", channel, fake.messages(channel)[0].ts)
    reply = await target.reply(ref, Post(body="status: resolved"), broadcast=True)
    quiet = await target.reply(ref, Post(body="timeline entry"))
    await target.edit(ref, Post(title="Headline", body="v2"))
    await target.delete(quiet)
    await target.delete(quiet)  # already gone: done, not an error
    parent, loud = fake.messages(channel)
    assert "v2" in parent.text and parent.edits and "v1" in parent.edits[0]
    assert (loud.ts, loud.thread_ts, loud.reply_broadcast) == (
        reply.message_id,
        ref.message_id,
        True,
    )
    posted = fake.calls_to("chat.postMessage")
    assert all(c.params["unfurl_links"] is False and c.params["unfurl_media"] is False
               for c in posted)  # fmt: skip
    assert all(c.params["text"] for c in posted)  # always a fallback text


async def test_metadata_round_trip_and_find_after_a_crash(fake: FakeSlack) -> None:
    channel = fake.add_channel("mirror")
    target = target_on(fake, channel)
    parent = await target.post(Post(body="headline"), metadata=outbox_metadata(7))
    reply = await target.reply(parent, Post(body="entry"), metadata=outbox_metadata(8))
    for n in range(25):  # push the headline past the first page of history
        await target.post(Post(body=f"filler {n}"), metadata=outbox_metadata(1000 + n))
    assert fake.messages(channel)[0].metadata == {
        "event_type": "netbot_outbox", "event_payload": {"outbox_id": "7"},
    }  # fmt: skip
    assert await target.find(7, page_size=20) == parent
    assert len(fake.calls_to("conversations.history")) == 2  # two pages of 20
    assert await target.find(7, page_size=10, pages=2) is None  # searched only so far
    assert await target.find(8) is None  # a quiet reply is not in the channel's history
    assert await target.find(8, thread=parent) == reply
    assert await target.find(9999, oldest=parent.message_id) is None


async def test_429_with_retry_after_is_retried_by_the_client(fake: FakeSlack) -> None:
    channel = fake.add_channel("mirror")
    fake.rate_limit_storm(1, retry_after=1, method="chat.postMessage")
    started = time.monotonic()
    await target_on(fake, channel).post(Post(body="x"))
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake.messages(channel)) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_by_the_client(fake: FakeSlack, status: int) -> None:
    channel = fake.add_channel("mirror")
    fake.fail_next(status, route="api")
    await target_on(fake, channel).post(Post(body="x"))
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [200]  # + the failed one
    assert [r.status for r in fake.requests_to("api")] == [status, 200]


async def test_what_may_pass_later_is_unavailable_with_slack_advice(fake: FakeSlack) -> None:
    channel = fake.add_channel("mirror")
    target = target_on(fake, channel, max_retries=1, timeout=1)
    fake.rate_limit_storm(2, retry_after=0)
    with pytest.raises(SlackUnavailable) as limited:
        await target.post(Post(body="x"))
    assert (limited.value.error, limited.value.retry_after) == ("ratelimited", 0.0)
    fake.fail_next(503, times=2, route="api")
    with pytest.raises(SlackUnavailable, match="HTTP 503"):
        await target.post(Post(body="x"))
    await fake.go_down("refused")
    with pytest.raises(SlackUnavailable, match="unreachable"):
        await target.post(Post(body="x"))
    await fake.come_up()
    await fake.go_down("timeout")
    with pytest.raises(SlackUnavailable, match="unreachable") as slow:
        await target.post(Post(body="x"))
    await fake.come_up()
    assert not isinstance(slow.value, Rejected) and isinstance(slow.value, BackendError)


@pytest.mark.parametrize(
    ("setup", "error"),
    [("unknown", "channel_not_found"), ("outsider", "not_in_channel"),
     ("archived", "is_archived"), ("scopeless", "missing_scope"), ("bad token", "invalid_auth")],
)  # fmt: skip
async def test_permanent_refusals_are_rejected_and_not_retried(
    fake: FakeSlack, setup: str, error: str
) -> None:
    channel = {
        "unknown": "C0NOTHERE1",
        "outsider": fake.add_channel("elsewhere", member=False),
        "archived": fake.add_channel("old", archived=True),
    }.get(setup) or fake.add_channel("mirror")
    if setup == "scopeless":
        fake.scopes = frozenset({"channels:history"})
    target = target_on(fake, channel)
    if setup == "bad token":
        target = SlackTarget(slack_client("xoxb-revoked", base_url=fake.base_url), channel)
    with pytest.raises(SlackRejected) as refused:
        await target.post(Post(body="x"))
    assert isinstance(refused.value, Rejected) and refused.value.error == error
    assert error in refused.value.message and "xoxb" not in refused.value.message
    if setup == "scopeless":
        assert refused.value.needed == "chat:write" and "chat:write scope" in refused.value.message
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_missing_scopes_named_at_start_up(fake: FakeSlack) -> None:
    client = slack_client(fake.token, base_url=fake.base_url)
    needed = required_scopes(customize=True, channels=True)
    assert needed == {"chat:write", "channels:history", "chat:write.customize",
                      "channels:manage", "channels:read"}  # fmt: skip
    assert await missing_scopes(client, needed) == set()
    fake.scopes = frozenset({"chat:write", "channels:history"})
    assert await missing_scopes(client, needed) == {
        "chat:write.customize", "channels:manage", "channels:read",
    }  # fmt: skip
    with pytest.raises(SlackRejected, match="invalid_auth"):
        await missing_scopes(slack_client("xoxb-nope", base_url=fake.base_url), needed)


async def test_custom_name_and_icon_need_their_scope(fake: FakeSlack) -> None:
    channel = fake.add_channel("mirror")
    client = slack_client(fake.token, base_url=fake.base_url)
    target = SlackTarget(client, channel, username="netbot alerts", icon_url=GOOD_URL)
    await target.post(Post(body="x"))
    assert fake.messages(channel)[0].username == "netbot alerts"
    fake.scopes = fake.scopes - {"chat:write.customize"}
    with pytest.raises(SlackRejected) as refused:
        await target.for_channel(channel).post(Post(body="y"))
    assert refused.value.needed == "chat:write.customize"
