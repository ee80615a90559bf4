"""Rate limits (429) as Discord sends them, request counters, and answer hooks.

A client that survives only the happy path melts on its first 429 storm, so tests inject
them: ``fake.rate_limit("/webhooks/{webhook_id}/{webhook_token}", times=3, retry_after=0.2)``
answers the next three executes with Discord's 429 body (``message``, ``retry_after``,
``global``, ``code``) and headers (``Retry-After``, ``X-RateLimit-Limit/Remaining/Reset/
Reset-After/Bucket/Scope``, ``X-RateLimit-Global`` for the global limit). Like Discord, a
request sent again before ``retry_after`` has passed is refused again; each such early retry
is logged in ``early_retries`` so a test can prove the client waited.

``hits`` counts answered requests per ``"METHOD /route/{template}"`` (CDN downloads under
``"GET cdn"``), so a test or bench counts the requests of one cycle. ``on_answer`` hooks run
after the fake changed its state and before the answer leaves: a crash test kills the client
exactly between a remote write and its local record.
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .cdn import CdnMixin

if TYPE_CHECKING:
    from .server import Call, Result

AnswerHook = Callable[[str, str, int], None]  # method, route template, status
_HEADERS: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "fake_discord_429_headers", default=()
)


@dataclass
class RateLimit:
    """``times`` 429 answers for one route (``template`` None: any route, as the global
    limit or a Cloudflare-wide one); afterwards a retry before ``until`` is refused too."""

    template: str | None
    method: str | None
    times: int
    retry_after: float
    global_: bool
    scope: str
    until: float = 0.0

    def applies(self, method: str, template: str) -> bool:
        return (self.template is None or self.template == template) and (
            self.method is None or self.method == method
        )


class RateLimitMixin(CdnMixin):
    """429 injection, per-route request counters and answer hooks."""

    _limits: list[RateLimit]
    _hits: Counter[str]
    _hooks: list[AnswerHook]
    _early: list[str]

    def _state(self) -> None:
        if not hasattr(self, "_limits"):
            self._limits, self._hits, self._hooks, self._early = [], Counter(), [], []

    @property
    def hits(self) -> Counter[str]:
        """Answered requests per ``"METHOD template"`` since start (or ``reset_hits``)."""
        self._state()
        return self._hits

    def reset_hits(self) -> Counter[str]:
        """Return the counters so far and start counting from zero (one cycle's worth)."""
        self._state()
        counted, self._hits = self._hits, Counter()
        return counted

    @property
    def early_retries(self) -> list[str]:
        """Requests sent again before ``retry_after`` had passed (a client bug)."""
        self._state()
        return self._early

    def rate_limit(
        self,
        template: str | None,
        times: int = 1,
        retry_after: float = 0.1,
        *,
        global_: bool = False,
        method: str | None = None,
        scope: str | None = None,
    ) -> RateLimit:
        """Answer the next ``times`` matching requests with 429 (see the module)."""
        self._state()
        limit = RateLimit(
            template,
            method.upper() if method else None,
            times,
            retry_after,
            global_,
            scope or ("global" if global_ else "user"),
        )
        self._limits.append(limit)
        return limit

    def on_answer(self, hook: AnswerHook) -> Callable[[], None]:
        """Call ``hook(method, template, status)`` for every API answer; returns a remover."""
        self._state()
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook)

    def _count_hit(self, key: str) -> None:
        self._state()
        self._hits[key] += 1
        self._notify()

    def _limited(self, method: str, template: str) -> RateLimit | None:
        now = time.monotonic()
        for limit in list(self._limits):
            if not limit.applies(method, template):
                continue
            if now < limit.until:
                self._early.append(f"{method} {template}")
                return limit
            if limit.times > 0:
                limit.times -= 1
                limit.until = now + limit.retry_after
                return limit
            self._limits.remove(limit)
        return None

    def _answer(
        self, method: str, template: str, handler: Callable[[Call], Result], call: Call
    ) -> Result:
        self._count_hit(f"{method} {template}")
        limit = self._limited(method, template)
        if limit is None:
            status, answer = super()._answer(method, template, handler, call)
        else:
            status, answer = 429, self._too_many(limit, template)
        for hook in list(self._hooks):
            hook(method, template, status)
        return status, answer

    @staticmethod
    def _too_many(limit: RateLimit, template: str) -> dict[str, Any]:
        """Discord's 429 body; its headers are added to the response by ``_rest``."""
        wait = max(limit.until - time.monotonic(), 0.0)
        bucket = hashlib.sha1((limit.template or "global").encode()).hexdigest()[:16]
        headers = {
            "Retry-After": str(math.ceil(wait)),
            "X-RateLimit-Scope": limit.scope,
        }
        if limit.global_:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + wait:.3f}",
                    "X-RateLimit-Reset-After": f"{wait:.3f}",
                    "X-RateLimit-Bucket": bucket,
                }
            )
        _HEADERS.set(tuple(headers.items()))
        return {
            "message": "You are being rate limited.",
            "retry_after": round(wait, 3),
            "global": limit.global_,
            "code": 0,
        }

    async def _rest(self, request: web.Request) -> web.Response:
        _HEADERS.set(())
        response = await super()._rest(request)
        response.headers.update(dict(_HEADERS.get()))
        return response
