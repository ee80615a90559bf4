"""The Slack bridge: incident and alert posts mirrored into Slack channels, each delivered
once and in order, edits and threads included (README: "Slack bridge").

A change that should show in Slack writes an outbox row in its own transaction (`Outbox`,
received by alerts and incidents as their `mirror` hook, see `mirror`); the drainer, a
supervisor job, delivers the rows through slack_sdk (`SlackTarget` is the chat `Target`).
The heavy parts (slack_sdk, SQLAlchemy) are imported on first use of their names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netbot.core.capability import Capability, EnvVar
from netbot.core.lazy import lazy_names
from netbot.slack.config import SlackConfig

if TYPE_CHECKING:
    from netbot.slack.drainer import Drainer
    from netbot.slack.outbox import Outbox
    from netbot.slack.service import DRAIN_JOB, TOKEN, Bridge, build, mirror, scopes_for
    from netbot.slack.status import LaneReport, lane_reports
    from netbot.slack.target import (
        EVENT_TYPE,
        SlackRejected,
        SlackTarget,
        SlackUnavailable,
        missing_scopes,
        outbox_id_of,
        outbox_metadata,
        required_scopes,
        slack_call,
        slack_client,
    )
    from netbot.slack.text import escape, message

CAPABILITY = Capability(
    name="slack",
    cog="cogs.slack",
    settings=SlackConfig,
    env=(
        EnvVar(
            "SLACK_BOT_TOKEN",
            "your Slack app > OAuth & Permissions > Bot User OAuth Token (xoxb-...)",
        ),
    ),
    models="netbot.slack.models",
    migrations=Path(__file__).parent / "migrations",
    # `/slack status` answers its interaction ephemerally and posts nothing in Discord: the
    # least a cog declares.
    discord_permissions=("view_channel",),
)

_LAZY = {
    "Bridge": "netbot.slack.service", "DRAIN_JOB": "netbot.slack.service",
    "build": "netbot.slack.service", "mirror": "netbot.slack.service",
    "TOKEN": "netbot.slack.service", "scopes_for": "netbot.slack.service",
    "Drainer": "netbot.slack.drainer", "Outbox": "netbot.slack.outbox",
    "LaneReport": "netbot.slack.status", "lane_reports": "netbot.slack.status",
    **{name: "netbot.slack.target" for name in (
        "EVENT_TYPE", "SlackRejected", "SlackTarget", "SlackUnavailable", "missing_scopes",
        "outbox_id_of", "outbox_metadata", "required_scopes", "slack_call", "slack_client",
    )},
    "escape": "netbot.slack.text", "message": "netbot.slack.text",
}  # fmt: skip


__getattr__ = lazy_names(__name__, _LAZY)


__all__ = [
    "CAPABILITY",
    "DRAIN_JOB",
    "EVENT_TYPE",
    "TOKEN",
    "Bridge",
    "Drainer",
    "LaneReport",
    "Outbox",
    "SlackConfig",
    "SlackRejected",
    "SlackTarget",
    "SlackUnavailable",
    "build",
    "escape",
    "lane_reports",
    "message",
    "mirror",
    "missing_scopes",
    "outbox_id_of",
    "outbox_metadata",
    "required_scopes",
    "scopes_for",
    "slack_call",
    "slack_client",
]
