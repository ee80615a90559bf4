"""The registry of capabilities: one line each. Adding a capability adds one line here.

Core is not a capability; everything else (tickets, alerts, and later the threader, NetBox,
incidents, the Slack bridge) is declared by its own package and listed here, in load order.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from netbot.core.models import Base

# The packages whose tables live on `Base` (each has a `models` module).
MODEL_PACKAGES: tuple[str, ...] = ("netbot.identity", "netbot.tickets")


def metadata() -> MetaData:
    """`Base.metadata` with every capability's tables declared on it."""
    for package in MODEL_PACKAGES:
        importlib.import_module(f"{package}.models")
    return Base.metadata
