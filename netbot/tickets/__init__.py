"""Redmine tickets: the command layer shared by `/ticket` (cogs/tickets) and `tickets.py`.

`CAPABILITY` and `TicketsConfig` are imported when first asked for: they need pydantic, which
a `tickets.py` list never loads (its start-up stays fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netbot.core.lazy import lazy_names
from netbot.tickets.format import change_text, detail_text, table
from netbot.tickets.records import Change, Created, TicketPage, to_json
from netbot.tickets.wiring import (
    REDMINE_ENV,
    THREAD_FIELD,
    TicketsServices,
    TicketsSettings,
    build,
)

if TYPE_CHECKING:
    from netbot.tickets.capability import CAPABILITY
    from netbot.tickets.config import TicketsConfig

_LAZY = {"CAPABILITY": "netbot.tickets.capability", "TicketsConfig": "netbot.tickets.config"}


__getattr__ = lazy_names(__name__, _LAZY)


__all__ = [
    "CAPABILITY",
    "REDMINE_ENV",
    "THREAD_FIELD",
    "Change",
    "Created",
    "TicketPage",
    "TicketsConfig",
    "TicketsServices",
    "TicketsSettings",
    "build",
    "change_text",
    "detail_text",
    "table",
    "to_json",
]
