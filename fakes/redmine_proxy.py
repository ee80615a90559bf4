"""A fault-injecting reverse proxy in front of the real test Redmine.

Mocks of python-redmine prove nothing about what a slow, crashed or erroring Redmine really
does to our code; this proxy keeps everything real (HTTP client, Redmine, data) and breaks
only the wire, on demand:

    async with RedmineProxy(redmine.url) as proxy:          # in the test's event loop
        proxy.fail(412, method="POST", path=r"^/issues", times=1)
        ...                                                 # sync clients: asyncio.to_thread
    with RedmineProxy.in_thread(redmine.url) as proxy:      # own loop in a thread (CLI, sync)
        subprocess.run([..., "--redmine-url", proxy.url])

Rules match on the method and ``re.search(path, path_and_query)``; ``times=N`` limits a rule
to the next N matching requests. For one request every matching delay is served (summed),
then the first matching ``fail``/``drop`` answers instead of Redmine. Controls are thread-safe.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from aiohttp import web

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip
LOGGED_HEADERS = ("X-Redmine-Switch-User", "Content-Type")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Outcome = Literal["forwarded", "failed", "dropped", "down", "abandoned", "upstream-error"]


@dataclass
class _Rule:
    kind: Literal["delay", "fail", "drop"]
    method: str | None
    path: re.Pattern[str] | None
    times: int | None
    seconds: float = 0.0
    after: bool = False
    status: int = 0
    body: bytes = b""
    content_type: str = ""

    def take(self, method: str, path_qs: str) -> bool:
        """True if this rule applies to the request (and uses up one of its ``times``)."""
        if self.times == 0 or (self.method and self.method != method):
            return False
        if self.path and not self.path.search(path_qs):
            return False
        if self.times is not None:
            self.times -= 1
        return True


@dataclass(frozen=True)
class LoggedRequest:
    """One request the proxy saw; ``status`` is None when no answer was sent."""

    method: str
    path_qs: str
    headers: dict[str, str]  # LOGGED_HEADERS present on the request (never the API key)
    body: bytes
    status: int | None
    outcome: Outcome
    has_api_key: bool = False


class RedmineProxy:
    """Reverse proxy on 127.0.0.1 (free port) to ``upstream``, with fault controls."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._logged = threading.Condition(self._lock)  # notified on every log entry
        self._rules: list[_Rule] = []
        self._log: list[LoggedRequest] = []
        self._down = False
        self._listeners: list[Callable[[LoggedRequest], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Server | None = None
        self._web: web.Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop_thread = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- fault controls (callable from any thread) --------------------------------------------
    def _add(self, kind: Any, method: str | None, path: str | None, times: int | None,
             **kw: Any) -> None:  # fmt: skip
        pattern = re.compile(path) if path else None
        rule = _Rule(kind, method.upper() if method else None, pattern, times, **kw)
        with self._lock:
            self._rules.append(rule)

    def delay(self, seconds: float, method: str | None = None, path: str | None = None,
              times: int | None = None, *, after: bool = False) -> None:  # fmt: skip
        """Hold matching requests ``seconds`` before forwarding: a slow Redmine.

        A client that gives up meanwhile cancels the request, so it never reaches Redmine.
        ``after=True`` forwards first and holds the *answer*: Redmine did the write but the
        client timed out - the case that makes naive retries post duplicates.
        """
        self._add("delay", method, path, times, seconds=seconds, after=after)

    def fail(self, status: int, body: bytes = b"", method: str | None = None,
             path: str | None = None, times: int | None = None,
             content_type: str = "application/json") -> None:  # fmt: skip
        """Answer matching requests with ``status``/``body`` instead of Redmine (not forwarded)."""
        self._add("fail", method, path, times, status=status, body=body, content_type=content_type)

    def drop(self, method: str | None = None, path: str | None = None,
             times: int | None = None) -> None:  # fmt: skip
        """Abort the connection without an answer and without forwarding (Redmine crashed)."""
        self._add("drop", method, path, times)

    def on_request(self, listener: Callable[[LoggedRequest], None]) -> Callable[[], None]:
        """Call ``listener`` with each logged request, on the proxy's loop, before the answer
        is relayed (a crash test kills the client right after Redmine did a write, before
        the client learns of it). Returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def clear(self) -> None:
        """Remove every rule and empty the log (``up()`` is separate)."""
        with self._lock:
            self._rules.clear()
            self._log.clear()

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def forwarded_writes(self) -> list[LoggedRequest]:
        """The POST/PUT/PATCH/DELETE requests that actually reached Redmine."""
        return [r for r in self.requests if r.method in WRITES and r.outcome == "forwarded"]

    def wait_for_outcome(self, outcome: Outcome, within: float = 5.0) -> LoggedRequest:
        """Block until a request is logged with `outcome` (for sync tests; in_thread mode)."""

        def found() -> LoggedRequest | None:
            return next((r for r in self._log if r.outcome == outcome), None)

        with self._logged:
            if not self._logged.wait_for(lambda: found() is not None, within):
                raise AssertionError(f"no request ended {outcome!r} within {within} s")
            return found()  # type: ignore[return-value]

    def down(self) -> None:
        """Stop listening (new connections: ECONNREFUSED, as for a stopped Redmine) and reset
        the kept-alive connections clients still hold, on their next request."""
        self._down = True
        self._on_loop(self._close_listener)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def up(self) -> None:
        """Listen again on the same port; the socket accepts at once (kernel backlog)."""
        if not self._down:
            return
        sock = self._bind(self.port)
        self._down = False
        self._on_loop(lambda: self._spawn(self._serve(sock)))

    # -- lifecycle --------------------------------------------------------------------------------
    def _on_loop(self, fn: Any) -> None:
        """Run ``fn`` on the proxy's loop now (same thread) or wait for it (other thread)."""
        assert self._loop is not None, "proxy not started"
        if threading.get_ident() == self._loop_thread:
            fn()
        else:
            asyncio.run_coroutine_threadsafe(_call(fn), self._loop).result(5)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _bind(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        return sock

    async def _serve(self, sock: socket.socket) -> None:
        assert self._loop and self._web
        self._listener = await self._loop.create_server(self._web, sock=sock)

    async def start(self) -> RedmineProxy:
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        # auto_decompress=False: bodies pass byte for byte, so Content-Encoding stays true.
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)
        )
        # handler_cancellation: a client that hangs up ends a delayed request (not forwarded).
        self._web = web.Server(self._handle, handler_cancellation=True)
        sock = self._bind(0)
        self.port = sock.getsockname()[1]
        await self._serve(sock)
        return self

    async def stop(self) -> None:
        if self._listener:
            self._listener.close()
        if self._web:
            self._web.pre_shutdown()  # end idle keep-alive connections now, not after 1 s
            await self._web.shutdown(1.0)
        if self._session:
            await self._session.close()

    async def __aenter__(self) -> RedmineProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    @contextmanager
    def in_thread(cls, upstream: str) -> Iterator[RedmineProxy]:
        """The proxy on its own event loop in a daemon thread, for sync code and subprocesses."""
        proxy, loop = cls(upstream), asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="redmine-proxy", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(10)
            yield proxy
        finally:
            asyncio.run_coroutine_threadsafe(proxy.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    # -- the proxy itself -------------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        method, path_qs, body = request.method, request.path_qs, await request.read()

        def log(status: int | None, outcome: Outcome) -> None:
            headers = {h: request.headers[h] for h in LOGGED_HEADERS if h in request.headers}
            has_key = "X-Redmine-API-Key" in request.headers
            entry = LoggedRequest(method, path_qs, headers, body, status, outcome, has_key)
            with self._logged:
                self._log.append(entry)
                self._logged.notify_all()
            for listener in list(self._listeners):
                listener(entry)

        if self._down:  # a kept-alive connection opened before down()
            return self._abort(request, log, "down")
        with self._lock:
            matched = [rule for rule in self._rules if rule.take(method, path_qs)]
        before = sum(r.seconds for r in matched if r.kind == "delay" and not r.after)
        after = sum(r.seconds for r in matched if r.kind == "delay" and r.after)
        terminal = next((r for r in matched if r.kind != "delay"), None)
        try:
            await asyncio.sleep(before)  # the proxy's loop keeps serving other requests
        except asyncio.CancelledError:
            log(None, "abandoned")  # the client hung up while held: never forwarded
            raise
        if terminal and terminal.kind == "drop":
            return self._abort(request, log, "dropped")
        if terminal:
            log(terminal.status, "failed")
            headers = {"Content-Type": terminal.content_type} if terminal.body else {}
            return web.Response(status=terminal.status, body=terminal.body, headers=headers)

        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            upstream = await self._session.request(
                method, self.upstream + path_qs, headers=headers, data=body or None,
                allow_redirects=False,
            )  # fmt: skip
        except aiohttp.ClientError as exc:
            log(502, "upstream-error")
            return web.Response(status=502, text=f"proxy: upstream unreachable: {exc}")
        async with upstream:
            log(upstream.status, "forwarded")
            if after:
                await asyncio.sleep(after)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            # Bodies are not decompressed, so Redmine's length stays right; else chunked.
            response.content_length = upstream.content_length
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(65536):
                await response.write(chunk)
            await response.write_eof()
            return response

    @staticmethod
    def _abort(request: web.BaseRequest, log: Any, outcome: Outcome) -> web.StreamResponse:
        """Reset the TCP connection (RST, no answer); aiohttp then discards the response."""
        log(None, outcome)
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:  # linger 0 -> RST instead of FIN, like a crashed process
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        return web.Response(status=599)


async def _call(fn: Any) -> None:
    fn()
