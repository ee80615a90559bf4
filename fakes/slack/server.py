"""A fake Slack Web API on `FakeHttpServer`, for slack_sdk's `AsyncWebClient` (tests and benches).

Why: no maintained Slack emulator exists, and a bridge that must never lose, duplicate or
reorder a post is only proven against something that answers like Slack: its `ok: false`
errors with HTTP 200, its per-channel pacing with HTTP 429 and `Retry-After`, its ts strings,
its metadata. Point the client at `fake.base_url` (`AsyncWebClient(token, base_url=...)`).

Served methods (`/api/<method>`, GET or POST; parameters from the query string, a form or a
JSON body, as slack_sdk sends them): auth.test (the `x-oauth-scopes` header on every answer),
chat.postMessage, chat.update, chat.delete, conversations.create / setTopic / archive /
history / replies / info / join / list, users.info, and apps.connections.open (Socket Mode,
`fakes.slack.socket_mode`). Semantics kept: the token (`not_authed`, `invalid_auth`), scopes
(`missing_scope` with `needed`/`provided`; `username`/`icon_*` need `chat:write.customize`),
`channel_not_found`, `not_in_channel`, `is_archived`, `msg_too_long` (text over 40,000),
`invalid_blocks` (Block Kit limits), channel-name rules and `name_taken`, ts monotonic per
channel in Slack's `1700000000.000100` form, threads (`thread_ts`, `reply_broadcast`; a reply
to a reply joins its thread; a deleted parent with replies stays as a tombstone; a reply to a
parent that is gone is answered ok and shown nowhere: `orphans`), edits, deletes, and message
metadata (read back only with `include_all_metadata`).

Test controls: `add_channel`, `add_user`, `messages`, `orphans`, `calls_to` (the request log
per method and channel), `wait_for_calls`, `wait_for_messages`, `slack_user_reply`; pacing
(`pace_interval` seconds per message per channel, 0 for none; `burst` messages of tolerance;
on `clock`); `latency` seconds per request; `go_down("503" | "500" | "refused" | "timeout")`
... `come_up()`; `rate_limit_storm(n)`; the base's `fail_next`/`delay_next`/`hold` (every
method's route is "api"). Every request and answer is checked by `fakes.slack.contract`; a
breach (or a token sent in a URL) is recorded in `failures` and fails the test when the
`async with` block exits.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from fakes.http import FakeHttpServer
from fakes.slack import contract
from fakes.slack.socket_mode import SocketMode

TOKEN = "xoxb-fake-slack-bot-token"
APP_TOKEN = "xapp-fake-slack-app-token"
TEAM_ID, BOT_USER_ID, BOT_ID, APP_ID = "T0FAKETEAM", "U0FAKEBOT1", "B0FAKEBOT1", "A0FAKEAPP1"
# Every scope the bridge may need; a test narrows it to see `missing_scope`.
ALL_SCOPES = frozenset(
    {"chat:write", "chat:write.customize", "channels:manage", "channels:history",
     "channels:read", "channels:join", "users:read"}
)  # fmt: skip
# The scope each method needs (Slack names several where the channel type matters; a public
# channel's is the one that counts here).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "conversations.create": "channels:manage",
    "conversations.setTopic": "channels:manage",
    "conversations.archive": "channels:manage",
    "conversations.history": "channels:history",
    "conversations.info": "channels:read",
    "conversations.join": "channels:join",
    "conversations.replies": "channels:history",
    "conversations.list": "channels:read",
    "users.info": "users:read",
}
TEXT_LIMIT = 40_000  # chat.postMessage: longer text is refused with msg_too_long
TOPIC_LIMIT = 250
NAME_LIMIT = 80
_NAME = re.compile(r"^[a-z0-9_\-\u00c0-\uffff]+$")  # lowercase letters, digits, - and _
Outage = Literal["503", "500", "refused", "timeout"]
_ids = itertools.count(1)
TS = re.compile(r"^\d{10}\.\d{6}$")


def format_ts(micros: int) -> str:
    """Slack's ts: seconds, a dot, six digits of microseconds ("1700000000.000100")."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _micros(ts: str) -> int:
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def _cursor(offset: int) -> str:
    """An opaque next_cursor, as Slack's look (base64)."""
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(params: dict[str, Any]) -> int:
    if not params.get("cursor"):
        return 0
    try:
        return int(base64.b64decode(str(params["cursor"])).decode().removeprefix("offset:"))
    except ValueError:
        raise SlackError("invalid_cursor") from None


def _bound(params: dict[str, Any], name: str) -> int | None:
    """conversations.history's `oldest`/`latest` in microseconds (None when not given)."""
    if not params.get(name):
        return None
    try:
        return _micros(str(params[name]))
    except ValueError:
        raise SlackError(f"invalid_ts_{name}") from None


def _truthy(value: Any) -> bool:
    """A Slack boolean: true/false in JSON, "1"/"0" or "true"/"false" in a form or query."""
    return value is True or str(value).lower() in ("1", "true")


def _json_value(value: Any) -> Any:
    """`blocks` and `metadata` arrive as JSON values, or as JSON text in a form."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class Message:
    """One stored message as Slack keeps it."""

    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None  # set on replies (and on a parent once it has replies)
    reply_broadcast: bool = False
    metadata: dict[str, Any] | None = None
    username: str | None = None
    icon_url: str | None = None
    icon_emoji: str | None = None
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    bot: bool = True
    edits: list[str] = field(default_factory=list)  # earlier texts, oldest first
    deleted: bool = False
    orphan: bool = False  # a reply whose thread was gone: Slack said ok, shows it nowhere

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    member: bool = True
    archived: bool = False
    topic: str = ""
    topic_set: int = 0
    messages: list[Message] = field(default_factory=list)
    last_micros: int = 0
    paced_until: float = 0.0  # pacing: the theoretical arrival time of the next message


@dataclass
class Call:
    """One Web API call as the fake understood it, and its answer."""

    method: str
    params: dict[str, Any]
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    @property
    def channel(self) -> str | None:
        value = self.params.get("channel")
        return None if value is None else str(value)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body.get("ok") is True

    @property
    def error(self) -> str | None:
        return self.body.get("error")


class SlackError(Exception):
    """An `ok: false` answer (HTTP 200 unless told), raised inside a method handler."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.status, self.extra = error, status, extra


class FakeSlack(FakeHttpServer):
    """The fake Slack workspace: channels, messages, the bot's token and scopes (see module)."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        scopes: frozenset[str] | set[str] = ALL_SCOPES,
        app_token: str = APP_TOKEN,
        pace_interval: float = 1.0,
        burst: int = 2,
        latency: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        default_timeout: float = 5.0,
    ) -> None:
        super().__init__("fake Slack", default_timeout=default_timeout)
        self.token, self.app_token, self.scopes = token, app_token, frozenset(scopes)
        self.pace_interval, self.burst, self.latency = pace_interval, burst, latency
        self.clock, self.wall = clock, wall
        self.channels: dict[str, Channel] = {}
        self.calls: list[Call] = []
        self.users: dict[str, tuple[str, str]] = {}  # id -> (display name, real name)
        self._outage: Outage | None = None
        self._up = asyncio.Event()
        self._up.set()
        self._storm: list[tuple[int, int, str | None]] = []  # [times, retry_after, method]
        self.add_route("GET", "/api/{method}", self._api, name="api")
        self.add_route("POST", "/api/{method}", self._api, name="api")
        self.socket_mode = SocketMode(self)  # registers its own route on this server

    @property
    def base_url(self) -> str:
        """What `AsyncWebClient(base_url=...)` takes (slack_sdk's form, ending in `/`)."""
        return self.url_for("/api/")

    # -- workspace set-up and reading -------------------------------------------------------

    def add_channel(self, name: str, *, member: bool = True, archived: bool = False) -> str:
        """A public channel (the bot in it unless `member=False`); its id."""
        channel = Channel(self._new_id("C"), name, int(self.wall()), "U0FAKEHUMAN",
                          member=member, archived=archived)  # fmt: skip
        self.channels[channel.id] = channel
        return channel.id

    def add_user(self, user_id: str, display_name: str, real_name: str = "") -> str:
        """A person in the workspace (users.info shows them); their id."""
        self.users[user_id] = (display_name, real_name or display_name)
        return user_id

    async def slack_user_reply(self, channel: str, thread_ts: str, user: str, text: str) -> str:
        """A person replies in a thread: the message is stored, and its `message` event goes
        to the Socket Mode client (redelivered until acked); the event_id."""
        target = self.channels[channel]
        message = Message(self._next_ts(target), text, user, thread_ts=thread_ts, bot=False)
        target.messages.append(message)
        event = {"type": "message", "channel": channel, "user": user, "text": text,
                 "ts": message.ts, "thread_ts": thread_ts, "event_ts": message.ts,
                 "channel_type": "channel", "team": TEAM_ID}  # fmt: skip
        return await self.socket_mode.send_event(event)

    def channel_named(self, name: str) -> Channel:
        return next(c for c in self.channels.values() if c.name == name)

    def messages(
        self, channel: str, *, thread_ts: str | None = None, deleted: bool = False
    ) -> list[Message]:
        """A channel's messages, oldest first: every one (replies too), or one thread's
        (parent first); deleted ones only when asked."""
        found = [m for m in self.channels[channel].messages if deleted or not m.deleted]
        if thread_ts is not None:
            found = [m for m in found if thread_ts in (m.ts, m.thread_ts)]
        return found

    def orphans(self, channel: str) -> list[Message]:
        """Replies whose thread parent was gone when they were posted: Slack said ok, and
        shows them nowhere (what a bridge must never produce)."""
        return [m for m in self.channels[channel].messages if m.orphan]

    def calls_to(self, method: str | None = None, channel: str | None = None) -> list[Call]:
        """The request log: calls to `method` (or all), about `channel` (or any)."""
        return [c for c in self.calls
                if method in (None, c.method) and channel in (None, c.channel)]  # fmt: skip

    async def wait_for_calls(
        self,
        count: int,
        method: str | None = None,
        *,
        channel: str | None = None,
        within: float | None = None,
    ) -> None:
        """Wait (no polling) until `count` calls to `method` about `channel` were answered."""
        await self.wait_until(
            lambda: sum(c.status > 0 for c in self.calls_to(method, channel)) >= count,
            f"{count} answered {method or 'call'}(s)",
            within,
        )

    async def wait_for_messages(
        self, channel: str, count: int, *, within: float | None = None
    ) -> list[Message]:
        """Wait until `channel` holds `count` live messages (replies included); them."""
        await self.wait_until(
            lambda: len(self.messages(channel)) >= count, f"{count} message(s)", within
        )
        return self.messages(channel)

    # -- faults -----------------------------------------------------------------------------

    async def go_down(self, how: Outage = "503") -> None:
        """Slack is down until `come_up`: every request answers HTTP 503 or 500, or stalls
        ("timeout": the client's own timeout ends it, and the stalled call is still carried
        out when Slack comes back, as a real timeout leaves a call in doubt), or the port
        refuses connections."""
        self._outage = how
        if how == "timeout":
            self._up.clear()
        if how == "refused" and self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()

    async def come_up(self) -> None:
        how, self._outage = self._outage, None
        self._up.set()
        if how == "refused" and self._runner is not None:
            await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    def rate_limit_storm(
        self, times: int, *, retry_after: int = 1, method: str | None = None
    ) -> None:
        """The next `times` calls (to `method`, or any) answer HTTP 429 `ratelimited` with
        `Retry-After: retry_after`, whatever the pacing says."""
        if times > 0:
            self._storm.append((times, retry_after, method))

    async def stop(self) -> None:
        self._up.set()
        await self.socket_mode.close()
        await super().stop()

    # -- the HTTP side ----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if self.latency:
            await asyncio.sleep(self.latency)  # the network's and Slack's own delay
        if self._outage == "timeout":
            await self._up.wait()
        params = await self._params(request)
        call = Call(method, {k: v for k, v in params.items() if k != "token"})
        self.calls.append(call)
        if self._outage in ("503", "500"):
            call.status = int(self._outage)
            return web.Response(status=call.status, text="upstream unavailable")
        if problem := contract.check_request(method, call.params):
            self.failures.append(problem)
        status, body, headers = self._answer(method, request, params)
        if problem := contract.check_response(method, body):
            self.failures.append(problem)
        call.status, call.body = status, body
        headers["x-oauth-scopes"] = ",".join(sorted(self.scopes))
        return web.json_response(body, status=status, headers=headers)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        """Slack reads parameters from the query string, a form or a JSON body alike."""
        params: dict[str, Any] = dict(request.query)
        if "token" in params:
            self.failures.append(f"{request.match_info['method']}: token sent in the URL")
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            body = json.loads(raw)
            if isinstance(body, dict):
                params.update(body)
        elif raw:
            params.update(urllib.parse.parse_qsl(raw.decode(errors="replace")))
        return params

    def _answer(
        self, method: str, request: web.Request, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        handler = self._methods().get(method)
        try:
            if handler is None and method != "apps.connections.open":
                raise SlackError("unknown_method", 404)
            if (retry_after := self._storm_retry_after(method)) is not None:
                raise SlackError("ratelimited", 429, retry_after=retry_after)
            if method == "apps.connections.open":
                self._authenticate(request, params, app=True)
                return 200, self.socket_mode.open_connection(), {}
            self._authenticate(request, params)
            assert handler is not None
            self._need(METHOD_SCOPES[method])
            return 200, {"ok": True, **handler(params)}, {}
        except SlackError as exc:
            headers = {}
            if exc.status == 429:
                headers["Retry-After"] = str(exc.extra.pop("retry_after"))
            return exc.status, {"ok": False, "error": exc.error, **exc.extra}, headers

    def _storm_retry_after(self, method: str) -> int | None:
        """The Retry-After of the oldest 429 storm covering this call (using up one of its
        answers), or None when no storm covers it."""
        for n, (times, retry_after, aimed) in enumerate(self._storm):
            if aimed in (None, method):
                if times <= 1:
                    self._storm.pop(n)
                else:
                    self._storm[n] = (times - 1, retry_after, aimed)
                return retry_after
        return None

    def _authenticate(
        self, request: web.Request, params: dict[str, Any], app: bool = False
    ) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        if not token:
            raise SlackError("not_authed")
        if token != (self.app_token if app else self.token):
            raise SlackError("invalid_auth")

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "conversations.create": self._create,
            "conversations.setTopic": self._set_topic,
            "conversations.archive": self._archive,
            "conversations.history": self._history,
            "conversations.info": self._info,
            "conversations.join": self._join,
            "conversations.replies": self._replies,
            "conversations.list": self._list,
            "users.info": self._user_info,
        }

    # -- checks shared by the methods -------------------------------------------------------

    def _need(self, scope: str | None) -> None:
        if scope is not None and scope not in self.scopes:
            raise SlackError("missing_scope", needed=scope, provided=",".join(sorted(self.scopes)))

    def _channel(
        self, params: dict[str, Any], *, member: bool = True, live: bool = True
    ) -> Channel:
        channel = self.channels.get(str(params.get("channel", "")))
        if channel is None:
            raise SlackError("channel_not_found")
        if live and channel.archived:
            raise SlackError("is_archived")
        if member and not channel.member:
            raise SlackError("not_in_channel")
        return channel

    def _thread_parent(self, channel: Channel, thread_ts: str) -> Message | None:
        """The live (or tombstoned) parent of a thread; None when it is gone or never was:
        Slack then answers ok and the reply is shown nowhere (an orphan)."""
        if not TS.match(thread_ts):
            raise SlackError("invalid_thread_ts")
        found = next((m for m in channel.messages if m.ts == thread_ts), None)
        if found is not None and found.is_reply:
            found = next((m for m in channel.messages if m.ts == found.thread_ts), None)
        return found if found is not None and self._visible(channel, found) else None

    def _live_replies(self, channel: Channel, ts: str) -> list[Message]:
        return [m for m in channel.messages
                if m.is_reply and m.thread_ts == ts and not (m.deleted or m.orphan)]  # fmt: skip

    def _visible(self, channel: Channel, message: Message) -> bool:
        """Live, or a deleted thread parent that keeps its replies (Slack's tombstone)."""
        return not message.deleted or (
            not message.is_reply and bool(self._live_replies(channel, message.ts))
        )

    def _message(self, channel: Channel, ts: Any) -> Message:
        found = next((m for m in channel.messages if m.ts == str(ts) and not m.deleted), None)
        if found is None:
            raise SlackError("message_not_found")
        return found

    def _content(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        """The text and blocks of a post or an edit, refused as Slack refuses them."""
        text = str(params.get("text") or "")
        blocks = _json_value(params.get("blocks"))
        if blocks is not None and (problem := block_problem(blocks)):
            raise SlackError("invalid_blocks", errors=[problem])
        if not text and not blocks:
            raise SlackError("no_text")
        if len(text) > TEXT_LIMIT:
            raise SlackError("msg_too_long")
        return text, blocks

    def _metadata(self, params: dict[str, Any]) -> dict[str, Any] | None:
        metadata = _json_value(params.get("metadata"))
        if metadata is None:
            return None
        if not (isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)):  # fmt: skip
            raise SlackError("invalid_metadata_format")
        return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}

    def _pace(self, channel: Channel) -> None:
        """Slack's one message a second per channel, with a small burst: GCRA on `clock`."""
        if self.pace_interval <= 0:
            return
        now = self.clock()
        allowed_at = channel.paced_until - (self.burst - 1) * self.pace_interval
        if now < allowed_at:
            raise SlackError("ratelimited", 429, retry_after=max(1, math.ceil(allowed_at - now)))
        channel.paced_until = max(channel.paced_until, now) + self.pace_interval

    def _next_ts(self, channel: Channel) -> str:
        channel.last_micros = max(channel.last_micros + 1, int(self.wall() * 1_000_000))
        return format_ts(channel.last_micros)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(_ids):08X}"

    # -- the methods ------------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://fake-workspace.slack.com/", "team": "Fake Workspace",
                "user": "netbot", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "bot_id": BOT_ID, "is_enterprise_install": False}  # fmt: skip

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if any(params.get(k) for k in ("username", "icon_url", "icon_emoji")):
            self._need("chat:write.customize")
        channel = self._channel(params)
        text, blocks = self._content(params)
        metadata = self._metadata(params)
        thread_ts = params.get("thread_ts")
        parent = self._thread_parent(channel, str(thread_ts)) if thread_ts else None
        if parent is not None:
            thread_ts = parent.ts  # a reply to a reply joins its thread
        self._pace(channel)
        message = Message(
            self._next_ts(channel), text, BOT_USER_ID, blocks,
            thread_ts=str(thread_ts) if thread_ts else None,
            reply_broadcast=bool(thread_ts) and _truthy(params.get("reply_broadcast")),
            metadata=metadata, username=params.get("username"),
            icon_url=params.get("icon_url"), icon_emoji=params.get("icon_emoji"),
            unfurl_links=_truthy(params["unfurl_links"]) if "unfurl_links" in params else None,
            unfurl_media=_truthy(params["unfurl_media"]) if "unfurl_media" in params else None,
            orphan=bool(thread_ts) and parent is None,
        )  # fmt: skip
        if parent is not None and parent.thread_ts is None:
            parent.thread_ts = parent.ts  # Slack marks a parent once it has replies
        channel.messages.append(message)
        return {"channel": channel.id, "ts": message.ts,
                "message": self._shown(channel, message, metadata=True)}  # fmt: skip

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._message(channel, params.get("ts"))
        if not message.bot:
            raise SlackError("cant_update_message")
        text, blocks = self._content(params)
        message.edits.append(message.text)
        message.text, message.blocks = text, blocks
        if (metadata := self._metadata(params)) is not None:
            message.metadata = metadata
        shown = {"text": text, **({"blocks": blocks} if blocks else {})}
        return {"channel": channel.id, "ts": message.ts, "text": text, "message": shown}

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._message(channel, params.get("ts"))
        if not message.bot:
            raise SlackError("cant_delete_message")
        message.deleted = True
        return {"channel": channel.id, "ts": message.ts}

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("name") or "")
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > NAME_LIMIT:
            raise SlackError("invalid_name_maxlength")
        if not _NAME.match(name) or name.strip("-_") == "":
            raise SlackError("invalid_name_specials")
        if any(c.name == name for c in self.channels.values()):
            raise SlackError("name_taken")
        channel = Channel(self._new_id("C"), name, int(self.wall()), BOT_USER_ID)
        self.channels[channel.id] = channel
        return {"channel": self._conversation(channel)}

    def _set_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        topic = str(params.get("topic") or "")
        if len(topic) > TOPIC_LIMIT:
            raise SlackError("too_long")
        channel.topic, channel.topic_set = topic, int(self.wall())
        return {"channel": self._conversation(channel)}

    def _archive(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, member=False, live=False)
        if channel.archived:
            raise SlackError("already_archived")
        channel.archived = True
        return {}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, live=False)
        shown = [m for m in reversed(channel.messages) if self._visible(channel, m)
                 and (not m.is_reply or m.reply_broadcast)]  # fmt: skip
        body = self._page(channel, shown, params)
        return {**body, "pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0}

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread, parent first (conversations.history leaves replies out)."""
        channel = self._channel(params, live=False)
        parent = self._thread_parent(channel, str(params.get("ts")))
        if parent is None:
            raise SlackError("thread_not_found")
        shown = [parent, *self._live_replies(channel, parent.ts)]
        return self._page(channel, shown, params)

    def _page(
        self, channel: Channel, shown: list[Message], params: dict[str, Any]
    ) -> dict[str, Any]:
        """One page of `shown` within oldest/latest (exclusive unless `inclusive`), `limit`
        long, from `cursor`; metadata only with `include_all_metadata`."""
        inclusive = _truthy(params.get("inclusive"))
        oldest, latest = _bound(params, "oldest"), _bound(params, "latest")
        limit = min(int(params.get("limit") or 100), 999)
        start = _offset(params)

        def within(message: Message) -> bool:
            at = _micros(message.ts)
            above = oldest is None or at > oldest or (inclusive and at == oldest)
            below = latest is None or at < latest or (inclusive and at == latest)
            return above and below

        selected = [m for m in shown if within(m)]
        page = selected[start : start + limit]
        metadata = _truthy(params.get("include_all_metadata"))
        body: dict[str, Any] = {
            "messages": [self._shown(channel, m, metadata) for m in page],
            "has_more": start + limit < len(selected),
        }
        if body["has_more"]:
            body["response_metadata"] = {"next_cursor": _cursor(start + limit)}
        return body

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = str(params.get("types") or "public_channel").split(",")
        if "public_channel" not in types:
            return {"channels": [], "response_metadata": {"next_cursor": ""}}
        channels = [c for c in self.channels.values()
                    if not (c.archived and _truthy(params.get("exclude_archived")))]  # fmt: skip
        limit = min(int(params.get("limit") or 100), 1000)
        start = _offset(params)
        more = start + limit < len(channels)
        return {"channels": [self._conversation(c) for c in channels[start : start + limit]],
                "response_metadata": {"next_cursor": _cursor(start + limit) if more else ""}}  # fmt: skip

    def _info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._conversation(self._channel(params, member=False, live=False))}

    def _join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, member=False)
        already = channel.member
        channel.member = True
        extra = {"warning": "already_in_channel",
                 "response_metadata": {"warnings": ["already_in_channel"]}} if already else {}  # fmt: skip
        return {"channel": self._conversation(channel), **extra}

    def _user_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if user_id not in self.users:
            raise SlackError("user_not_found")
        display, real = self.users[user_id]
        profile = {"display_name": display, "real_name": real, "display_name_normalized": display,
                   "real_name_normalized": real, "team": TEAM_ID, "avatar_hash": "fake",
                   "title": "", "phone": "", "skype": "", "status_text": "",
                   "status_emoji": "", "fields": None}  # fmt: skip
        return {"user": {"id": user_id, "team_id": TEAM_ID, "name": display.lower() or user_id,
                         "real_name": real, "deleted": False, "is_bot": False,
                         "is_app_user": False, "updated": int(self.wall()),
                         "profile": profile}}  # fmt: skip

    # -- Slack's objects --------------------------------------------------------------------

    def _shown(self, channel: Channel, message: Message, metadata: bool) -> dict[str, Any]:
        replies = [] if message.is_reply else self._live_replies(channel, message.ts)
        threaded = {"reply_count": len(replies), "latest_reply": replies[-1].ts} if replies else {}
        if message.deleted:  # a thread parent's tombstone
            return {"type": "message", "subtype": "tombstone", "ts": message.ts,
                    "text": "This message was deleted.", "user": "USLACKBOT",
                    "thread_ts": message.ts, **threaded}  # fmt: skip
        shown: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text,
                                 "user": message.user, "team": TEAM_ID, **threaded}  # fmt: skip
        if message.bot:
            shown |= {"bot_id": BOT_ID, "app_id": APP_ID}
        if message.blocks:
            shown["blocks"] = message.blocks
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        if message.username:
            shown["username"] = message.username
        if message.edits:
            shown["edited"] = {"user": message.user, "ts": format_ts(channel.last_micros)}
        if metadata and message.metadata:
            shown["metadata"] = message.metadata
        return shown

    def _conversation(self, channel: Channel) -> dict[str, Any]:
        blank = {"value": "", "creator": "", "last_set": 0}
        topic = {"value": channel.topic, "creator": BOT_USER_ID, "last_set": channel.topic_set}
        return {
            "id": channel.id, "name": channel.name, "name_normalized": channel.name,
            "created": channel.created, "creator": channel.creator,
            "is_archived": channel.archived, "is_channel": True, "is_general": False,
            "is_mpim": False, "is_group": False, "is_org_shared": False, "is_im": False,
            "is_shared": False, "is_private": False, "is_member": channel.member,
            "topic": topic if channel.topic_set else blank, "purpose": blank,
        }  # fmt: skip


# Block Kit limits Slack enforces (answering invalid_blocks), per block type.
BLOCKS_LIMIT, HEADER_LIMIT, SECTION_LIMIT, FIELDS_LIMIT, CONTEXT_LIMIT = 50, 150, 3000, 10, 10
FIELD_TEXT_LIMIT, BLOCK_ID_LIMIT = 2000, 255


def block_problem(blocks: Any) -> str | None:
    """What Slack would refuse in `blocks` (as `invalid_blocks`), or None."""
    if not isinstance(blocks, list) or len(blocks) > BLOCKS_LIMIT:
        return f"blocks must be a list of at most {BLOCKS_LIMIT}"
    for n, block in enumerate(blocks):
        if not isinstance(block, dict):
            return f"blocks[{n}] is not an object"
        kind = block.get("type")
        if len(str(block.get("block_id", ""))) > BLOCK_ID_LIMIT:
            return f"blocks[{n}].block_id too long"
        if kind == "header":
            problem = _text_problem(block.get("text"), HEADER_LIMIT, ("plain_text",))
        elif kind == "section":
            fields = block.get("fields") or []
            problem = _text_problem(block.get("text"), SECTION_LIMIT) if "text" in block else (
                None if fields else "a section needs text or fields")  # fmt: skip
            if len(fields) > FIELDS_LIMIT:
                problem = f"more than {FIELDS_LIMIT} fields"
            for item in fields:
                problem = problem or _text_problem(item, FIELD_TEXT_LIMIT)
        elif kind == "context":
            elements = block.get("elements") or []
            problem = None if 0 < len(elements) <= CONTEXT_LIMIT else "context elements: 1..10"
            for item in elements:
                problem = problem or _text_problem(item, SECTION_LIMIT)
        elif kind == "divider":
            problem = None
        else:
            problem = f"unsupported block type {kind!r}"
        if problem:
            return f"blocks[{n}]: {problem}"
    return None


def _text_problem(
    text: Any, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")
) -> str | None:
    if not isinstance(text, dict) or text.get("type") not in kinds:
        return f"a text object of type {'/'.join(kinds)} is required"
    value = text.get("text")
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        return f"text must hold 1..{limit} characters"
    return None
