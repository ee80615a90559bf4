"""The fake Slack's Socket Mode endpoint: `apps.connections.open` and the WebSocket behind it.

Why: replies from Slack (issue 14, step 5) arrive over Socket Mode (an `xapp-` token, no
public URL). slack_sdk's `SocketModeClient` asks `apps.connections.open` for a `wss://` URL
(here `ws://127.0.0.1`), expects a `hello`, then receives `events_api` envelopes and must ack
each `envelope_id` within a few seconds; an envelope not acked in `ack_timeout` is sent again
with `retry_attempt` + 1 and the SAME `event_id` (as Slack does), up to `max_retries` times,
so de-duplication on `event_id` is exercised. Test API (also on `FakeSlack`):

    event_id = await fake.slack_user_reply(channel, thread_ts, "U0HUMAN01", "text")
    await fake.socket_mode.wait_for_ack(event_id)
    fake.socket_mode.deliveries[event_id]   # how many times it was sent
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from fakes.slack.server import FakeSlack

PATH = "/socket-mode/link"
_events = itertools.count(1)


class SocketMode:
    """Socket Mode on a `FakeSlack` (it registers its route on the fake's server)."""

    def __init__(self, fake: FakeSlack, *, ack_timeout: float = 3.0, max_retries: int = 3) -> None:
        self.fake = fake
        self.ack_timeout, self.max_retries = ack_timeout, max_retries
        self.connections: list[web.WebSocketResponse] = []
        self.opened = 0  # apps.connections.open answers given
        self.deliveries: dict[str, int] = {}  # event_id -> envelopes sent
        self.acked: dict[str, str] = {}  # event_id -> the envelope_id that was acked
        self._envelopes: dict[str, str] = {}  # envelope_id -> event_id
        self._redelivery: set[asyncio.Task[None]] = set()
        fake.add_route("GET", PATH, self._socket, name="socket-mode")

    def open_connection(self) -> dict[str, Any]:
        """apps.connections.open's answer: a URL of this fake's WebSocket."""
        self.opened += 1
        ticket = uuid.uuid4().hex
        return {"ok": True, "url": f"ws://127.0.0.1:{self.fake.port}{PATH}?ticket={ticket}"}

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self.connections),
                            "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": "A0FAKEAPP1"}})  # fmt: skip
        await self.fake._notify()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._received(json.loads(message.data))
                    await self.fake._notify()
        finally:
            self.connections.remove(ws)
            await self.fake._notify()
        return ws

    def _received(self, data: Any) -> None:
        envelope_id = data.get("envelope_id") if isinstance(data, dict) else None
        event_id = self._envelopes.get(str(envelope_id))
        if event_id is None:
            self.fake.failures.append(f"Socket Mode: unexpected message {data!r}")
        else:
            self.acked.setdefault(event_id, str(envelope_id))

    async def send_event(self, event: dict[str, Any]) -> str:
        """Send one Events API event to the connected client; its event_id. Redelivered
        (same event_id) until acked, at most `max_retries` times."""
        event_id = f"Ev0{next(_events):08X}"
        payload = {"token": "fake-verification", "team_id": "T0FAKETEAM", "api_app_id": "A0FAKEAPP1",
                   "event": event, "type": "event_callback", "event_id": event_id,
                   "event_time": int(time.time())}  # fmt: skip
        await self._deliver(event_id, payload, 0)
        task = asyncio.create_task(self._redeliver(event_id, payload))
        self._redelivery.add(task)
        task.add_done_callback(self._redelivery.discard)
        return event_id

    async def _deliver(self, event_id: str, payload: dict[str, Any], attempt: int) -> None:
        if not self.connections:
            raise AssertionError("fake Slack: no Socket Mode client is connected")
        envelope_id = str(uuid.uuid4())
        self._envelopes[envelope_id] = event_id
        self.deliveries[event_id] = self.deliveries.get(event_id, 0) + 1
        await self.connections[-1].send_json({
            "envelope_id": envelope_id, "payload": payload, "type": "events_api",
            "accepts_response_payload": False, "retry_attempt": attempt,
            "retry_reason": "timeout" if attempt else "",
        })  # fmt: skip

    async def _redeliver(self, event_id: str, payload: dict[str, Any]) -> None:
        for attempt in range(1, self.max_retries + 1):
            with contextlib.suppress(AssertionError):  # acked in time: done
                await self.wait_for_ack(event_id, within=self.ack_timeout)
                return
            if not self.connections:
                return
            await self._deliver(event_id, payload, attempt)

    async def wait_connected(self, within: float | None = None) -> None:
        await self.fake.wait_until(lambda: bool(self.connections), "a Socket Mode client", within)

    async def wait_for_ack(self, event_id: str, within: float | None = None) -> None:
        await self.fake.wait_until(lambda: event_id in self.acked, f"ack of {event_id}", within)

    async def close(self) -> None:
        for task in list(self._redelivery):
            task.cancel()
        for ws in list(self.connections):
            await ws.close()
