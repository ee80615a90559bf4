"""Small timing helpers shared by the bench scripts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(call: Callable[..., object], *args: Any) -> float:
    """Milliseconds one call `call(*args)` takes (arguments, not a lambda: none is captured
    late in a loop, and the call stays typed)."""
    started = time.perf_counter_ns()
    call(*args)
    return (time.perf_counter_ns() - started) / 1e6


def percentile(samples: list[float], p: float) -> float:
    """The nearest-rank p-th percentile of `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
