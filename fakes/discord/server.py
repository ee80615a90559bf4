"""A small fake Discord: aiohttp REST API plus websocket gateway on 127.0.0.1.

It keeps just enough state (guilds, channels, threads, roles, members, messages, commands,
interactions) for the real py-cord client to start, sync commands and answer interactions.
Anything it does not know is recorded as a failure and answered 404, so a test never passes
because the fake silently ignored a call; every request and response is also checked against
Discord's OpenAPI description (see :mod:`.contract`).

Where real Discord is stricter than a simple fake, so is this one: each route checks the
permission Discord requires (403, code 50013; 50001 when the bot cannot see the channel),
privileged intents the application has not switched on close the gateway with 4014, message
content is empty without the message_content intent, GUILD_CREATE lists only active threads,
and components with a repeated custom_id are refused (400, code 50035).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import WSMsgType, web

from . import contract, guild_channels, payloads, reactions
from . import permissions as perms
from .payloads import snowflake
from .records import FakeMessage, InteractionRecord, RequestRecord

API_VERSION = 10
LOADING = 128  # message flag of a deferred "thinking..." response
DEFAULT_TIMEOUT = 5.0
# What the application has switched on in the Developer Portal unless a test says otherwise:
# what netbot and the harness's own tests ask for.
DEFAULT_PRIVILEGED_INTENTS = ("members", "message_content")
DISALLOWED_INTENTS = 4014  # gateway close code
AUTHENTICATION_FAILED = 4004  # gateway close code: the token was refused
THREAD_TYPES = (10, 11, 12)
# Message fields an application without the Message Content intent receives empty.
CONTENT_FIELDS = {"content": "", "embeds": [], "attachments": [], "components": []}

Ref = dict[str, Any] | int | str
Result = tuple[int, Any]


def ref_id(ref: Ref) -> str:
    """Accept a payload dict, a py-cord object with ``.id``, an int or a str id."""
    if isinstance(ref, dict):
        return str(ref["id"])
    return str(getattr(ref, "id", ref))


@dataclass
class Call:
    """A parsed REST request handed to a route handler."""

    params: dict[str, str]
    query: dict[str, str]
    body: Any


def route_pattern(template: str) -> re.Pattern[str]:
    """The regex of a route template such as ``/channels/{channel_id}/messages``."""
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


def is_active_thread(channel: dict[str, Any]) -> bool:
    return channel["type"] in THREAD_TYPES and not channel["thread_metadata"]["archived"]


class Unknown(LookupError):
    """An id the fake does not know; answered like Discord: 404 with a JSON error code."""


class Rejected(Exception):
    """A request real Discord refuses (permissions, archived thread, invalid form body)."""

    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def lookup(mapping: dict[str, Any], key: str, what: str, code: int) -> Any:
    value = mapping.get(key)
    if value is None or getattr(value, "deleted", False):
        raise Unknown(what, code)
    return value


def missing_permissions() -> Rejected:
    return Rejected(403, 50013, "Missing Permissions")


def missing_access() -> Rejected:
    return Rejected(403, 50001, "Missing Access")


def archived_thread() -> Rejected:
    return Rejected(400, 50083, "Thread is archived")


def duplicate_custom_id(components: list[dict[str, Any]], owner: list[str]) -> Rejected | None:
    """Discord's 400 for a message whose components repeat a custom_id, with the error at
    the repeated component's path (e.g. ``components.0.components.1.custom_id``)."""
    seen: set[str] = set()

    def find(component: dict[str, Any], at: list[str]) -> list[str] | None:
        custom_id = component.get("custom_id")
        if custom_id is not None:
            if custom_id in seen:
                return [*at, "custom_id"]
            seen.add(custom_id)
        children = [
            (child, [*at, "components", str(index)])
            for index, child in enumerate(component.get("components") or [])
        ] + [
            (component[key], [*at, key])
            for key in ("component", "accessory")
            if isinstance(component.get(key), dict)
        ]
        for child, child_at in children:
            if (found := find(child, child_at)) is not None:
                return found
        return None

    where = find({"components": components}, owner)
    if where is None:
        return None
    errors: dict[str, Any] = {
        "_errors": [
            {
                "code": "COMPONENT_CUSTOM_ID_DUPLICATED",
                "message": "Component custom id cannot be duplicated",
            }
        ]
    }
    for key in reversed(where):
        errors = {key: errors}
    return Rejected(400, 50035, "Invalid Form Body", errors)


@dataclass
class Fault:
    """An injected error answer for ``times`` calls of one route, after ``after`` good ones."""

    method: str
    template: str
    status: int
    body: Any
    times: int
    after: int = 0


class FakeDiscordServer:
    """REST + gateway core; :class:`~.harness.FakeDiscord` adds the test-driving API."""

    def __init__(
        self,
        *,
        bot_name: str = "netbot",
        default_timeout: float = DEFAULT_TIMEOUT,
        privileged_intents: tuple[str, ...] = DEFAULT_PRIVILEGED_INTENTS,
        token: str | None = None,
    ):
        self.default_timeout = default_timeout
        # The bot token Discord accepts (None: any). Another one answers REST with 401 and
        # closes the gateway with 4004, as Discord does for a reset or mistyped token.
        self.token = token
        self.application_id = snowflake()
        self.bot_user = payloads.user(self.application_id, bot_name, bot=True)
        # Switched on for the application in the Developer Portal: asking for another
        # privileged intent closes the gateway with 4014, and REST redacts message content
        # without message_content. ``intents`` is what the bot identified with.
        self.enabled_intents = perms.intent_bits(privileged_intents)
        self.intents = 0
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, dict[str, Any]]] = {}
        self.members: dict[str, dict[str, dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {self.application_id: self.bot_user}
        self.messages: dict[str, FakeMessage] = {}
        self.commands: dict[str | None, list[dict[str, Any]]] = {None: []}
        self.interactions: dict[str, InteractionRecord] = {}
        self.requests: list[RequestRecord] = []
        self.failures: list[str] = []
        self.denied: list[str] = []  # the permission each 50013 answer found missing
        self.gateway_events: list[tuple[str, dict[str, Any]]] = []
        self._faults: list[Fault] = []
        self.rename_limit = guild_channels.RenameLimit()
        self.latency = 0.0  # seconds added to every REST answer (benchmarks: Discord's ~100 ms)
        self._changed = asyncio.Condition()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._identified = False
        self._seq = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes = [(method, route_pattern(t), t, h) for method, t, h in self._route_table()]

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/gateway-ws", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if exc is None:
            self.assert_no_failures()
        elif self.failures and isinstance(exc, BaseException):
            exc.add_note("fake Discord failures:\n  - " + "\n  - ".join(self.failures))

    @property
    def api_base_url(self) -> str:
        """Value for ``discord.http.Route.API_BASE_URL`` (py-cord formats ``{API_VERSION}``)."""
        return f"http://127.0.0.1:{self.port}/api/v{{API_VERSION}}"

    @property
    def contract_checking(self) -> bool:
        return contract.CONTRACT_CHECKING

    # -- failures and waiting ---------------------------------------------------------------

    def fail(self, message: str) -> None:
        """Record a problem; waits fail at once and the test fails at context exit."""
        self.failures.append(message)
        self._notify()

    def assert_no_failures(self) -> None:
        if self.failures:
            listing = "\n  - ".join(self.failures)
            raise AssertionError(
                f"fake Discord recorded {len(self.failures)} failure(s):\n  - {listing}"
            )

    def _notify(self) -> None:
        """Wake every waiter; called after each state change (no polling anywhere)."""

        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(notify())

    def _wait_interrupted(self) -> bool:
        """Hook for the harness: True when waiting is pointless (e.g. the bot died)."""
        return bool(self.failures)

    async def wait_until(
        self, predicate: Callable[[], bool], what: str, within: float | None = None
    ) -> None:
        """Wait for ``predicate`` to hold; fail with a clear message on timeout or failure."""
        within = self.default_timeout if within is None else within
        try:
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: predicate() or self._wait_interrupted()),
                    within,
                )
        except TimeoutError:
            recent = "\n  ".join(f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:])
            raise AssertionError(
                f"timed out after {within}s waiting for {what}; last requests:\n  {recent}"
            ) from None
        self.assert_no_failures()
        self._check_interrupted()

    def _check_interrupted(self) -> None:
        """Overridden by the harness to raise the bot's own exception."""

    # -- gateway ----------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Queue a gateway DISPATCH event; sent in order once the bot has identified."""
        self.gateway_events.append((event, data))
        if self._identified:
            self._outbox.put_nowait({"op": 0, "t": event, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        writer: asyncio.Task[None] | None = None
        # py-cord asks for zlib-stream but inflates only binary frames: plain text JSON works.
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                frame = json.loads(msg.data)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    if self.token is not None and data.get("token") != self.token:
                        await ws.close(
                            code=AUTHENTICATION_FAILED, message=b"Authentication failed."
                        )
                        break
                    if self._disallowed_intents(data):
                        await ws.close(code=DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
                        break
                    self._identify(data)
                    writer = asyncio.create_task(self._write(ws))
                elif op == 8:
                    self._members_chunk(data)
                elif op not in (3, 4):
                    self.fail(f"gateway: unsupported op {op}: {frame}")
        finally:
            if writer is not None:
                writer.cancel()
            self._sockets.discard(ws)
            self._identified = False
        return ws

    async def _write(self, ws: web.WebSocketResponse) -> None:
        while True:
            frame = await self._outbox.get()
            self._seq += 1
            await ws.send_str(json.dumps({**frame, "s": self._seq}))

    def _disallowed_intents(self, data: dict[str, Any]) -> bool:
        """A privileged intent the application has not switched on (Discord closes 4014)."""
        return bool(int(data.get("intents", 0)) & perms.PRIVILEGED & ~self.enabled_intents)

    def _identify(self, data: dict[str, Any]) -> None:
        if not str(data.get("token", "")).strip():
            self.fail("gateway: IDENTIFY without a token")
        self.intents = int(data.get("intents", 0))
        self._identified = True
        self._outbox.put_nowait(
            {
                "op": 0,
                "t": "READY",
                "d": {
                    "v": API_VERSION,
                    "user": self.bot_user,
                    "guilds": [{"id": gid, "unavailable": True} for gid in self.guilds],
                    "session_id": snowflake(),
                    "resume_gateway_url": self._ws_url,
                    "application": {"id": self.application_id, "flags": self._app_flags()},
                    "private_channels": [],
                },
            }
        )
        for guild_id in self.guilds:
            self._outbox.put_nowait(
                {"op": 0, "t": "GUILD_CREATE", "d": self.guild_create(guild_id)}
            )

    def _app_flags(self) -> int:
        """The application flags that say which privileged intents are switched on."""
        flags = {"members": 1 << 15, "presences": 1 << 13, "message_content": 1 << 19}
        return sum(f for name, f in flags.items() if self.enabled_intents & perms.INTENTS[name])

    def guild_create(self, guild_id: str) -> dict[str, Any]:
        """The GUILD_CREATE payload: guild, roles, channels, ACTIVE threads only (as Discord:
        archived ones must be fetched), and members (only the bot's own without the members
        intent)."""
        channels = [c for c in self.channels.values() if c.get("guild_id") == guild_id]
        members = list(self.members[guild_id].values())
        if not self.intents & perms.INTENTS["members"]:
            members = [m for m in members if m["user"]["id"] == self.application_id]
        return {
            **self.guilds[guild_id],
            "unavailable": False,
            "large": False,
            "joined_at": payloads.now_iso(),
            "member_count": len(self.members[guild_id]),
            "roles": list(self.roles[guild_id].values()),
            "channels": [c for c in channels if c["type"] not in THREAD_TYPES],
            "threads": [c for c in channels if is_active_thread(c)],
            "members": members,
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _members_chunk(self, data: dict[str, Any]) -> None:
        guild_id = str(data["guild_id"])
        chunk = {
            "guild_id": guild_id,
            "members": list(self.members.get(guild_id, {}).values()),
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "nonce": data.get("nonce"),
        }
        self._outbox.put_nowait({"op": 0, "t": "GUILD_MEMBERS_CHUNK", "d": chunk})

    @property
    def _ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-ws"

    # -- REST plumbing ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        template: str,
        status: int,
        body: Any = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer the next ``times`` calls of a route (e.g. ``"/channels/{channel_id}/messages"``)
        with an error. py-cord retries 5xx after 1 s+ and needs a ``Via`` header for 429, so
        prefer 4xx; 429 is sent with ``Via`` and the body's ``retry_after``. With ``after``,
        that many calls succeed first (a failure in the middle of a series).
        """
        if body is None:
            body = {"message": f"injected {status}", "code": 0}
        self._faults.append(Fault(method.upper(), template, status, body, times, after))

    async def _rest(self, request: web.Request) -> web.Response:
        prefix = f"/api/v{API_VERSION}"
        path = request.path.removeprefix(prefix)
        query, body = dict(request.query), await self._read_body(request)
        record = RequestRecord(request.method, path, query, body)
        self.requests.append(record)
        if self.latency:
            await asyncio.sleep(self.latency)
        headers = {k: v for k, v in request.headers.items() if k.lower() == "authorization"}
        bot_auth = request.headers.get("Authorization", "")
        if (
            self.token is not None
            and bot_auth.startswith("Bot ")
            and bot_auth != f"Bot {self.token}"
        ):
            record.status, record.response = 401, {"message": "401: Unauthorized", "code": 0}
            self._notify()
            return web.Response(
                status=401,
                body=json.dumps(record.response).encode(),
                headers={"Content-Type": "application/json"},
            )
        route = self._match(request.method, path) if path != request.path else None
        if route is None:
            self.fail(f"unknown route: {request.method} {request.path}")
            status, answer = 404, {"message": "404: Not Found", "code": 0}
        else:
            template, handler, params = route
            if problem := contract.check_request(request.method, path, query, body, headers):
                self.fail(problem)
            status, answer = self._answer(
                request.method, template, handler, Call(params, query, body)
            )
            if problem := contract.check_response(
                request.method, path, status, answer, query, headers
            ):
                self.fail(problem)
        record.status, record.response = status, answer
        self._notify()
        if answer is None:
            return web.Response(status=status)
        # py-cord requires exactly "application/json" (json_response would add a charset);
        # it also needs a Via header to treat a 429 as a rate limit rather than a ban.
        return web.Response(
            status=status,
            body=json.dumps(answer).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Via": "1.1 fake"} if status == 429 else {}),
            },
        )

    def _answer(
        self, method: str, template: str, handler: Callable[[Call], Result], call: Call
    ) -> Result:
        """An injected fault, else the handler's answer; unknown ids give Discord's 404."""
        for fault in self._faults:
            if fault.method == method and fault.template == template:
                if fault.after > 0:
                    fault.after -= 1
                    break
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault.status, fault.body
        try:
            self._check_components(call.body)
            return handler(call)
        except Unknown as exc:
            return 404, {"message": f"Unknown {exc.args[0]}", "code": exc.args[1]}
        except Rejected as exc:
            return exc.status, exc.body
        except Exception as exc:  # a bug in the fake must fail the test, not hang it
            self.fail(f"fake crashed on {method} {template}: {exc!r}")
            return 400, {"message": repr(exc), "code": 0}  # 4xx: py-cord retries 5xx slowly

    @staticmethod
    def _check_components(body: Any) -> None:
        """Components of a message or modal (top level, or ``data`` of an interaction callback)
        must not repeat a custom_id."""
        if not isinstance(body, dict):
            return
        for owner, holder in (([], body), (["data"], body.get("data"))):
            components = holder.get("components") if isinstance(holder, dict) else None
            if isinstance(components, list) and (problem := duplicate_custom_id(components, owner)):
                raise problem

    @staticmethod
    async def _read_body(request: web.Request) -> Any:
        """JSON body, or the ``payload_json`` field of form data (interaction callbacks)."""
        if not request.can_read_body:
            return None
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            raw = form.get("payload_json")
            return json.loads(raw) if isinstance(raw, str) else None
        text = await request.text()
        return json.loads(text) if text else None

    def _match(
        self, method: str, path: str
    ) -> tuple[str, Callable[[Call], Result], dict[str, str]] | None:
        for route_method, pattern, template, handler in self._routes:
            if route_method == method and (match := pattern.match(path)):
                return template, handler, match.groupdict()
        return None

    def _route_table(self) -> list[tuple[str, str, Callable[[Call], Result]]]:
        app, guild_cmds = (
            "/applications/{application_id}",
            "/applications/{application_id}/guilds/{guild_id}",
        )
        webhook = "/webhooks/{application_id}/{token}"
        return [
            ("GET", "/gateway", lambda c: (200, {"url": self._ws_url})),
            ("GET", "/gateway/bot", self._gateway_bot),
            (
                "GET",
                "/users/@me",
                lambda c: (200, {**self.bot_user, "mfa_enabled": False, "locale": "en-US"}),
            ),
            ("GET", "/soundboard-default-sounds", lambda c: (200, [])),
            ("GET", app + "/commands", self._get_commands),
            ("PUT", app + "/commands", self._put_commands),
            ("GET", guild_cmds + "/commands", self._get_commands),
            ("PUT", guild_cmds + "/commands", self._put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", webhook, self._followup),
            ("GET", webhook + "/messages/@original", lambda c: (200, self._original(c).payload)),
            ("PATCH", webhook + "/messages/@original", self._edit_original),
            ("DELETE", webhook + "/messages/@original", lambda c: self._delete(self._original(c))),
            ("GET", webhook + "/messages/{message_id}", lambda c: (200, self._message(c).payload)),
            ("PATCH", webhook + "/messages/{message_id}", self._edit_message),
            (
                "DELETE",
                webhook + "/messages/{message_id}",
                lambda c: self._delete(self._message(c)),
            ),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("PATCH", "/channels/{channel_id}", self._edit_channel),
            ("DELETE", "/channels/{channel_id}", self._delete_channel),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("POST", "/channels/{channel_id}/threads", self._create_thread),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._create_thread),
            ("GET", "/channels/{channel_id}/threads/archived/public", self._archived_threads),
            ("PUT", "/channels/{channel_id}/thread-members/@me", self._join_thread),
            ("PUT", "/channels/{channel_id}/thread-members/{user_id}", self._join_thread),
            ("GET", "/guilds/{guild_id}/threads/active", self._active_threads),
            ("GET", "/guilds/{guild_id}/members", self._list_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            (
                "GET",
                "/guilds/{guild_id}/roles",
                lambda c: (
                    200,
                    list(lookup(self.roles, c.params["guild_id"], "Guild", 10004).values()),
                ),
            ),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._add_role),
            (
                "GET",
                "/users/{user_id}",
                lambda c: (200, lookup(self.users, c.params["user_id"], "User", 10013)),
            ),
            ("POST", "/users/@me/channels", self._create_dm),
            *guild_channels.routes(self),
            *reactions.routes(self),
        ]

    # -- REST handlers: startup and commands ------------------------------------------------

    def _gateway_bot(self, call: Call) -> Result:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return 200, {"url": self._ws_url, "shards": 1, "session_start_limit": limit}

    def _get_commands(self, call: Call) -> Result:
        return 200, self.commands.get(call.params.get("guild_id"), [])

    def _put_commands(self, call: Call) -> Result:
        """Bulk overwrite: keep ids of commands that already exist, as Discord does."""
        guild_id = call.params.get("guild_id")
        old = {(c["name"], c.get("type", 1)): c["id"] for c in self.commands.get(guild_id, [])}
        stored = []
        for command in call.body:
            key = (command["name"], command.get("type", 1))
            stored.append(
                {
                    "type": 1,
                    "description": "",
                    "default_member_permissions": None,
                    **command,
                    "id": old.get(key) or snowflake(),
                    "application_id": self.application_id,
                    "version": snowflake(),
                    **({"guild_id": guild_id} if guild_id else {}),
                }
            )
        self.commands[guild_id] = stored
        return 200, stored

    # -- REST handlers: interactions --------------------------------------------------------

    def _interaction(self, call: Call) -> InteractionRecord:
        return lookup(self.interactions, call.params["token"], "Webhook", 10015)

    def _original(self, call: Call) -> FakeMessage:
        original = self._interaction(call).original
        if original is None or original.deleted:
            raise Unknown("Message", 10008)
        return original

    def _channel_of(self, call: Call) -> dict[str, Any]:
        return lookup(self.channels, call.params["channel_id"], "Channel", 10003)

    def _message(self, call: Call) -> FakeMessage:
        return lookup(self.messages, call.params["message_id"], "Message", 10008)

    def _callback(self, call: Call) -> Result:
        record = self._interaction(call)
        if record.callbacks:
            return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
        kind, data = call.body["type"], call.body.get("data") or {}
        record.callbacks.append(call.body)
        message: FakeMessage | None = None
        channel_id = record.payload["channel_id"]
        if kind == 4:
            message = self._store_message(channel_id, data, webhook=True)
        elif kind == 5:
            message = self._store_message(
                channel_id, {"flags": (data.get("flags") or 0) | LOADING}, webhook=True
            )
            message.loading = True
        elif kind in (6, 7):
            message = self.messages[record.payload["message"]["id"]]
            if kind == 7:
                self._apply_edit(message, data)
        record.original = message or record.original
        answer: dict[str, Any] = {"interaction": {"id": record.id, "type": record.payload["type"]}}
        if message is not None:
            answer["interaction"].update(
                response_message_id=message.payload["id"],
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
            if kind in (4, 7):
                answer["resource"] = {"type": kind, "message": message.payload}
        return 200, answer

    def _followup(self, call: Call) -> Result:
        record = self._interaction(call)
        original = record.original
        if original is not None and original.loading:
            # The first follow-up after a defer fills in the "thinking..." message.
            flags = (original.flags & ~LOADING) | (call.body.get("flags") or 0)
            self._apply_edit(original, {**call.body, "flags": flags})
            original.loading = False
            message = original
        else:
            message = self._store_message(record.payload["channel_id"], call.body, webhook=True)
        record.followups.append(message)
        return 200, message.payload

    def _edit_original(self, call: Call) -> Result:
        original = self._original(call)
        self._apply_edit(original, call.body)
        original.loading = False
        return 200, original.payload

    # -- permissions and intents ------------------------------------------------------------

    def permissions_of(self, user: Ref, channel: Ref) -> int:
        """What ``user`` may do in ``channel``, computed as Discord does (owner and
        Administrator first, then @everyone, roles and the channel's overwrites; a thread
        uses its parent's)."""
        user_id, channel = ref_id(user), self.channels[ref_id(channel)]
        guild_id = channel.get("guild_id")
        if guild_id is None:
            return perms.DM
        base = self.guild_permissions_of(user_id, guild_id)
        member = self.members[guild_id].get(user_id)
        if member is None or base == perms.ALL:  # owner or Administrator: no overwrites apply
            return base
        thread = channel["type"] in THREAD_TYPES
        source = self.channels.get(channel.get("parent_id") or "", channel) if thread else channel
        overwrites = source.get("permission_overwrites") or []
        return perms.compute(base, member["roles"], user_id, guild_id, overwrites, thread=thread)

    def guild_permissions_of(self, user: Ref, guild: Ref) -> int:
        """Server-wide permissions: @everyone plus the member's roles (all for the owner and
        for Administrator); 0 for someone who is not a member."""
        user_id, guild_id = ref_id(user), ref_id(guild)
        member = self.members[guild_id].get(user_id)
        if self.guilds[guild_id]["owner_id"] == user_id:
            return perms.ALL
        if member is None:
            return 0
        roles = self.roles[guild_id]
        base = int(roles[guild_id]["permissions"])
        for role_id in member["roles"]:
            base |= int(roles[role_id]["permissions"])
        return perms.ALL if base & perms.FLAGS["administrator"] else base

    def _require(self, channel: dict[str, Any], *names: str) -> None:
        """Refuse like Discord when the bot cannot see ``channel`` (50001) or lacks one of
        the permissions (50013). DMs have no permissions to check."""
        if channel.get("guild_id") is None:
            return
        have = self.permissions_of(self.application_id, channel)
        if not have & perms.FLAGS["view_channel"]:
            raise missing_access()
        self._refuse_lacking(have, names)

    def _refuse_lacking(self, have: int, names: tuple[str, ...]) -> None:
        """50013, noting which permission was missing (``denied``) for tests to check."""
        if lacking := [n for n in names if not have & perms.FLAGS[n]]:
            self.denied.append(lacking[0])
            raise missing_permissions()

    def _readable(self, payload: dict[str, Any], intents: int) -> dict[str, Any]:
        """A message as an application with ``intents`` receives it: without Message Content,
        content, embeds, attachments and components are empty, except in DMs, in the bot's
        own messages and in messages that mention the bot."""
        if intents & perms.INTENTS["message_content"]:
            return payload
        guild_id = self.channels.get(payload["channel_id"], {}).get("guild_id")
        if (
            guild_id is None
            or payload["author"]["id"] == self.application_id
            or any(u["id"] == self.application_id for u in payload.get("mentions", []))
        ):
            return payload
        return {**payload, "content": "", "embeds": [], "attachments": [], "components": []}

    def _mentions(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Who the bot's message really pings: what the content mentions, narrowed by
        ``allowed_mentions``; @everyone and unmentionable roles need Mention Everyone."""
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions") or {"parse": ["everyone", "roles", "users"]}
        parse = allowed.get("parse") or []
        channel = self.channels.get(channel_id, {})
        may_everyone = bool(
            channel.get("guild_id")
            and self.permissions_of(self.application_id, channel) & perms.FLAGS["mention_everyone"]
        )
        roles = self.roles.get(channel.get("guild_id") or "", {})
        allowed_roles = {str(r) for r in allowed.get("roles") or []}
        allowed_users = {str(u) for u in allowed.get("users") or []}
        return {
            "mention_everyone": may_everyone
            and "everyone" in parse
            and bool(re.search(r"@(everyone|here)\b", content)),
            "mention_roles": [
                role_id
                for role_id in dict.fromkeys(re.findall(r"<@&(\d+)>", content))
                if role_id in roles
                and ("roles" in parse or role_id in allowed_roles)
                and (roles[role_id]["mentionable"] or may_everyone)
            ],
            "mentions": [
                self.users[user_id]
                for user_id in dict.fromkeys(re.findall(r"<@!?(\d+)>", content))
                if user_id in self.users and ("users" in parse or user_id in allowed_users)
            ],
        }

    # -- REST handlers: messages ------------------------------------------------------------

    def _store_message(
        self,
        channel_id: str,
        body: dict[str, Any],
        *,
        webhook: bool = False,
        message_id: str | None = None,
    ) -> FakeMessage:
        """Create a message the bot sent; channel posts are echoed as MESSAGE_CREATE."""
        payload = payloads.message(
            message_id or snowflake(),
            channel_id,
            self.bot_user,
            body,
            webhook_id=self.application_id if webhook else None,
        )
        payload.update(self._mentions(channel_id, body))
        message = FakeMessage(payload, [body])
        self.record_message(message)
        if not webhook:
            self.dispatch("MESSAGE_CREATE", self._gateway_message(payload))
        return message

    def record_message(self, message: FakeMessage) -> None:
        """Keep a new message; a visible one becomes its channel's ``last_message_id``."""
        self.messages[message.payload["id"]] = message
        channel = self.channels.get(message.payload["channel_id"])
        if channel is None or message.ephemeral:
            return
        channel["last_message_id"] = message.payload["id"]
        if channel["type"] in THREAD_TYPES:
            channel["message_count"] += 1
            channel["total_message_sent"] += 1

    def _gateway_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A message as a gateway event: with guild_id and the author's member, and content
        only as the bot's identified intents allow."""
        channel = self.channels.get(payload["channel_id"], {})
        guild_id = channel.get("guild_id")
        if guild_id is None:
            return payload
        event = {**self._readable(payload, self.intents), "guild_id": guild_id}
        member = self.members[guild_id].get(payload["author"]["id"])
        if member is not None:
            event["member"] = {k: v for k, v in member.items() if k != "user"}
        return event

    def _apply_edit(self, message: FakeMessage, body: dict[str, Any]) -> None:
        message.bodies.append(body)
        for key in ("content", "embeds", "flags"):
            if key in body:
                message.payload[key] = body[key] if body[key] is not None else message.payload[key]
        if "components" in body:
            message.payload["components"] = payloads.with_component_ids(body["components"] or [])
        message.payload["edited_timestamp"] = payloads.now_iso()

    def _channel_message(self, call: Call) -> tuple[dict[str, Any], FakeMessage]:
        """The channel and the message of a ``/channels/{id}/messages/{id}`` route."""
        channel, message = self._channel_of(call), self._message(call)
        if message.payload["channel_id"] != channel["id"]:
            raise Unknown("Message", 10008)
        return channel, message

    def _get_message(self, call: Call) -> Result:
        channel, message = self._channel_message(call)
        self._require(channel, "read_message_history")
        return 200, self._readable(message.payload, self.enabled_intents)

    def _edit_message(self, call: Call) -> Result:
        if "channel_id" in call.params:
            channel, message = self._channel_message(call)
            if message.payload["author"]["id"] != self.application_id:
                raise Rejected(403, 50005, "Cannot edit a message authored by another user")
            self._require(channel, *(["embed_links"] if call.body.get("embeds") else []))
        else:
            message = self._message(call)
        self._apply_edit(message, call.body)
        if "channel_id" in call.params:
            self.dispatch("MESSAGE_UPDATE", self._gateway_message(message.payload))
        return 200, message.payload

    def _delete_message(self, call: Call) -> Result:
        """The bot deletes its own messages freely; others' need Manage Messages."""
        channel, message = self._channel_message(call)
        own = message.payload["author"]["id"] == self.application_id
        self._require(channel, *([] if own else ["manage_messages"]))
        return self._delete(message)

    @staticmethod
    def _delete(message: FakeMessage) -> Result:
        message.deleted = True
        return 204, None

    def _list_messages(self, call: Call) -> Result:
        """Without Read Message History Discord answers an empty list, not an error."""
        channel = self._channel_of(call)
        self._require(channel)
        if channel.get("guild_id") and not (
            self.permissions_of(self.application_id, channel) & perms.FLAGS["read_message_history"]
        ):
            return 200, []
        found = sorted(self.messages_in(channel), key=lambda m: m.id)
        if before := call.query.get("before"):
            found = [m for m in found if m.id < int(before)]
        limit = int(call.query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise Rejected(400, 50035, "Invalid Form Body", {"limit": {"_errors": []}})
        # Newest first; with ``after`` the ``limit`` messages right after it (Discord pages
        # forward that way), else the newest ``limit``.
        if after := call.query.get("after"):
            found = [m for m in found if m.id > int(after)][:limit]
        found = found[-limit:]
        return 200, [self._readable(m.payload, self.enabled_intents) for m in reversed(found)]

    def _create_message(self, call: Call) -> Result:
        """Post in a channel with the permissions Discord checks for what the body carries;
        posting in an archived thread unarchives it (a locked one needs Manage Threads)."""
        channel, body = self._channel_of(call), call.body or {}
        thread = channel["type"] in THREAD_TYPES
        needed = ["send_messages_in_threads" if thread else "send_messages"]
        needed += [
            permission
            for key, permission in (
                ("embeds", "embed_links"),
                ("attachments", "attach_files"),
                ("message_reference", "read_message_history"),
            )
            if body.get(key)
        ]
        self._require(channel, *needed)
        if thread and channel["thread_metadata"]["archived"]:
            if channel["thread_metadata"]["locked"]:
                self._require(channel, "manage_threads")
            self.set_archived(channel, False)
        return 200, self._store_message(channel["id"], body).payload

    def messages_in(self, channel: Ref) -> list[FakeMessage]:
        """Visible messages of a channel, oldest first (ephemeral ones included)."""
        channel_id = ref_id(channel)
        return [
            m
            for m in self.messages.values()
            if m.payload["channel_id"] == channel_id and not m.deleted
        ]

    # -- REST handlers: channels, threads, members ------------------------------------------

    def _get_channel(self, call: Call) -> Result:
        """Archived threads too: they are only missing from the gateway's cache."""
        channel = self._channel_of(call)
        self._require(channel)
        return 200, channel

    def set_archived(self, thread: dict[str, Any], archived: bool) -> None:
        """Archive or unarchive a thread and announce it (py-cord drops archived threads
        from its cache on this THREAD_UPDATE)."""
        metadata = thread["thread_metadata"]
        metadata["archived"] = archived
        metadata["archive_timestamp"] = payloads.now_iso()
        self.dispatch("THREAD_UPDATE", thread)

    def _check_thread_edit(self, thread: dict[str, Any], body: dict[str, Any]) -> None:
        """Discord's rules: an archived thread must be unarchived in the same request;
        unarchiving an unlocked thread needs only Send Messages in Threads; its creator may
        rename, archive and set the auto-archive duration; anything else needs Manage Threads."""
        metadata = thread["thread_metadata"]
        if metadata["archived"] and body.get("archived") is not False:
            raise archived_thread()
        if set(body) == {"archived"} and body["archived"] is False and not metadata["locked"]:
            self._require(thread, "send_messages_in_threads")
        elif thread["owner_id"] == self.application_id and set(body) <= {
            "name",
            "archived",
            "auto_archive_duration",
        }:
            self._require(thread)
        else:
            self._require(thread, "manage_threads")

    def _edit_channel(self, call: Call) -> Result:
        channel = self._channel_of(call)
        metadata = channel.get("thread_metadata")
        if metadata is None:
            overwrites = ["manage_roles"] if "permission_overwrites" in call.body else []
            self._require(channel, "manage_channels", *overwrites)
        else:
            self._check_thread_edit(channel, call.body)
        guild_channels.check_channel_edit(self, channel, call.body)
        guild_channels.apply_channel_edit(channel, call.body)
        for key, value in call.body.items():
            if metadata is not None and key in ("archived", "locked", "auto_archive_duration"):
                if key == "archived" and value != metadata["archived"]:
                    metadata["archive_timestamp"] = payloads.now_iso()
                metadata[key] = value
            elif key in ("name", "topic", "nsfw", "rate_limit_per_user", "parent_id", "position"):
                channel[key] = str(value) if key == "parent_id" and value is not None else value
        self.dispatch("THREAD_UPDATE" if metadata is not None else "CHANNEL_UPDATE", channel)
        return 200, channel

    def _delete_channel(self, call: Call) -> Result:
        """Delete a channel (Manage Channels) or thread (Manage Threads) and announce it, as
        Discord does; answers the channel."""
        channel = self._channel_of(call)
        thread = "thread_metadata" in channel
        self._require(channel, "manage_threads" if thread else "manage_channels")
        del self.channels[channel["id"]]
        if thread:
            gone = {k: channel[k] for k in ("id", "guild_id", "parent_id", "type")}
            self.dispatch("THREAD_DELETE", gone)
        else:
            self.dispatch("CHANNEL_DELETE", channel)
        return 200, channel

    def _create_thread(self, call: Call) -> Result:
        """Create a thread and announce it over the gateway, as Discord does. Without a
        message the type defaults to private, as on Discord; each type has its permission."""
        parent = self._channel_of(call)
        if parent["type"] == guild_channels.FORUM:
            return guild_channels.create_forum_post(self, parent, call)
        message_id = call.params.get("message_id")
        private = message_id is None and call.body.get("type", 12) == 12
        if message_id is not None:
            self._channel_message(call)
            self._require(parent, "create_public_threads", "read_message_history")
        else:
            self._require(parent, "create_private_threads" if private else "create_public_threads")
        thread_id = message_id or snowflake()  # a message thread shares the message's id
        thread = payloads.thread(
            thread_id, parent, call.body["name"], self.application_id, private=private
        )
        if "auto_archive_duration" in call.body:
            thread["thread_metadata"]["auto_archive_duration"] = call.body["auto_archive_duration"]
        self.channels[thread_id] = thread
        self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        if message_id is not None:
            return 201, thread
        return 201, {**thread, "member": self._bot_thread_member(thread)}

    def _bot_thread_member(self, thread: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": thread["id"],
            "user_id": self.application_id,
            "join_timestamp": thread["thread_metadata"]["create_timestamp"],
            "flags": 0,
        }

    def _join_thread(self, call: Call) -> Result:
        """Joining needs an unarchived thread; adding someone else needs to be able to send."""
        thread = self._channel_of(call)
        if "thread_metadata" not in thread:
            raise Rejected(400, 50024, "Cannot execute action on this channel type")
        if thread["thread_metadata"]["archived"]:
            raise archived_thread()
        self._require(thread, *(["send_messages_in_threads"] if "user_id" in call.params else []))
        return 204, None

    def _visible_threads(self, guild_id: str) -> list[dict[str, Any]]:
        return [
            c
            for c in self.channels.values()
            if c.get("guild_id") == guild_id
            and c["type"] in THREAD_TYPES
            and self.permissions_of(self.application_id, c) & perms.FLAGS["view_channel"]
        ]

    def _active_threads(self, call: Call) -> Result:
        """Every active thread of the guild the bot can see, in one request (with
        ``last_message_id``); the bot's membership for the threads it started."""
        guild_id = lookup(self.guilds, call.params["guild_id"], "Guild", 10004)["id"]
        threads = [t for t in self._visible_threads(guild_id) if is_active_thread(t)]
        members = [
            self._bot_thread_member(t) for t in threads if t["owner_id"] == self.application_id
        ]
        return 200, {"threads": threads, "members": members, "has_more": False}

    def _archived_threads(self, call: Call) -> Result:
        """Archived public threads of one channel, most recently archived first."""
        parent = self._channel_of(call)
        self._require(parent, "read_message_history")
        threads = sorted(
            (
                t
                for t in self._visible_threads(parent.get("guild_id") or "")
                if t["parent_id"] == parent["id"]
                and t["type"] in (10, 11)
                and t["thread_metadata"]["archived"]
            ),
            key=lambda t: t["thread_metadata"]["archive_timestamp"],
            reverse=True,
        )
        if before := call.query.get("before"):
            threads = [t for t in threads if t["thread_metadata"]["archive_timestamp"] < before]
        limit = int(call.query.get("limit", 50))
        return 200, {"threads": threads[:limit], "members": [], "has_more": len(threads) > limit}

    def _list_members(self, call: Call) -> Result:
        """Listing members needs the members intent switched on for the application."""
        if not self.enabled_intents & perms.INTENTS["members"]:
            raise missing_access()
        members = list(self.members.get(call.params["guild_id"], {}).values())
        after = int(call.query.get("after", 0))
        members = [m for m in members if int(m["user"]["id"]) > after]
        return 200, members[: int(call.query.get("limit", 1))]

    def _get_member(self, call: Call) -> Result:
        guild = lookup(self.members, call.params["guild_id"], "Guild", 10004)
        return 200, lookup(guild, call.params["user_id"], "Member", 10007)

    def _add_role(self, call: Call) -> Result:
        guild_id, user_id, role_id = (call.params[k] for k in ("guild_id", "user_id", "role_id"))
        member = lookup(self.members[guild_id], user_id, "Member", 10007)
        lookup(self.roles[guild_id], role_id, "Role", 10011)
        self._refuse_lacking(
            self.guild_permissions_of(self.application_id, guild_id), ("manage_roles",)
        )
        if role_id not in member["roles"]:
            member["roles"].append(role_id)
        self.dispatch("GUILD_MEMBER_UPDATE", {**member, "guild_id": guild_id})
        return 204, None

    def _create_dm(self, call: Call) -> Result:
        recipient = lookup(self.users, str(call.body["recipient_id"]), "User", 10013)
        for channel in self.channels.values():
            if channel["type"] == 1 and channel["recipients"][0]["id"] == recipient["id"]:
                return 200, channel
        channel = payloads.dm_channel(snowflake(), recipient)
        self.channels[channel["id"]] = channel
        return 200, channel
