"""How long the event loop is kept from running: a probe that asks to wake at a moment and
sees how late it woke.

Why: everything the bot does shares one event loop, so one slow step there (a cache scan,
a blocking call) delays every command, autocomplete and heartbeat at once, and nothing else
shows it. A timer woken late by `x` seconds means the loop was busy (or blocked) for `x`.
`LoopLagProbe.window` samples for a while and keeps the worst lateness; as the supervisor
job `core.loop_lag` (`watch`) it runs back to back and sets `netbot_event_loop_lag_seconds`.

The longest stalls measured during a catalog refresh were not the refresh's code but
CPython's full garbage collections, which the refresh's many short-lived objects set off:
each walks every object of the process (modules, py-cord's caches), with the loop stopped,
25-130 ms on a busy two-core host. `freeze_startup_heap` leaves what exists once the bot is
up out of those walks (`gc.freeze`, as the Python docs advise for long-running servers).
"""

from __future__ import annotations

import asyncio
import gc

from netbot.core.metrics import Metrics
from netbot.core.tasks import Supervisor

JOB = "core.loop_lag"
TICK_SECONDS = 0.01  # how often the probe asks to wake: finer than any stall worth seeing
WINDOW_SECONDS = 5.0  # how long one sample lasts (the gauge is the worst of it)


class LoopLagProbe:
    """Measures the event loop's lateness in waking timers."""

    def __init__(self, tick: float = TICK_SECONDS) -> None:
        self.tick = tick
        self.worst = 0.0  # the worst lateness seen since the probe was made

    async def window(self, seconds: float) -> float:
        """Wake every `tick` for `seconds`; the worst lateness seen, in seconds."""
        loop = asyncio.get_running_loop()
        worst = 0.0
        end = loop.time() + seconds
        while (due := loop.time() + self.tick) < end:
            await asyncio.sleep(self.tick)
            worst = max(worst, loop.time() - due)
        self.worst = max(self.worst, worst)
        return worst


def watch(supervisor: Supervisor, metrics: Metrics, window: float = WINDOW_SECONDS) -> LoopLagProbe:
    """Declare the `core.loop_lag` job: sample windows back to back, each process its own
    (each has its own loop), and show the last window's worst in the gauge."""
    probe = LoopLagProbe()

    async def sample() -> None:
        metrics.set_loop_lag(await probe.window(window))

    supervisor.every(JOB, window, sample, each_process=True)
    return probe


def freeze_startup_heap() -> None:
    """Collect once, then leave every object alive now out of later full collections: what
    the bot built to start (modules, caches) stays for its life, and walking it again at
    each full collection only stops the event loop."""
    gc.collect()
    gc.freeze()
