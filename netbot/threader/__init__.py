"""The threader: each enrolled Redmine ticket and its Discord thread kept in sync, both ways,
exactly once, through crashes (threader.py runs it; see netbot/threader/sync.py).

The bot only reads the threader's state (`sync_status`, for `/ticket sync`); the heavy parts
(aiohttp client, sync) are imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netbot.core.capability import Capability
from netbot.core.lazy import lazy_names
from netbot.threader.config import ThreaderConfig
from netbot.tickets import REDMINE_ENV

if TYPE_CHECKING:
    from netbot.threader.discord_rest import DiscordRest
    from netbot.threader.service import SideDoor, build
    from netbot.threader.status import (
        STATUS_PREFIX,
        SyncStatus,
        status_text,
        sync_report,
        sync_status,
    )
    from netbot.threader.sync import BackendDown, CycleReport, SetupProblem, Threader, run_every

CAPABILITY = Capability(
    name="threader",
    cog="cogs.threader",
    settings=ThreaderConfig,
    env=REDMINE_ENV,
    models="netbot.threader.models",
    migrations=Path(__file__).parent / "migrations",
    # threader.py (REST): read threads and messages, post through a channel webhook, open,
    # archive and unarchive threads; the bot's cog answers the status button.
    discord_permissions=(
        "view_channel",
        "read_message_history",
        "send_messages_in_threads",
        "manage_webhooks",
        "create_public_threads",
        "manage_threads",
    ),
)

_LAZY = {"DiscordRest": "netbot.threader.discord_rest", "build": "netbot.threader.service", "SideDoor": "netbot.threader.service",
         "run_every": "netbot.threader.sync",
         "SyncStatus": "netbot.threader.status", "sync_status": "netbot.threader.status",
         "STATUS_PREFIX": "netbot.threader.status", "status_text": "netbot.threader.status",
         "sync_report": "netbot.threader.status",
         "BackendDown": "netbot.threader.sync", "CycleReport": "netbot.threader.sync",
         "SetupProblem": "netbot.threader.sync", "Threader": "netbot.threader.sync"}  # fmt: skip

__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "CAPABILITY",
    "STATUS_PREFIX",
    "BackendDown",
    "CycleReport",
    "DiscordRest",
    "SetupProblem",
    "SideDoor",
    "SyncStatus",
    "Threader",
    "ThreaderConfig",
    "build",
    "run_every",
    "status_text",
    "sync_report",
    "sync_status",
]
