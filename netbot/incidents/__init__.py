"""Incidents: declare, coordinate and close an incident without leaving the chat.

The domain only: records, the service (every action, idempotent declare, timeline, stats,
post-mortem), reminders persisted in the database, the extension registry; the chat side
(cogs/incidents) implements `IncidentSpaces` and renders the records. Heavy parts (SQLAlchemy
models, the service) are imported on first use of their names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netbot.core.capability import Capability
from netbot.core.lazy import lazy_names
from netbot.incidents.config import (
    STAGES,
    IncidentsConfig,
    Invitees,
    SeverityLevel,
    Stage,
    unknown_invitees,
)
from netbot.incidents.extensions import (
    ActionHandler,
    CommandHandler,
    Extension,
    IncidentContext,
    Registry,
)
from netbot.incidents.names import space_name
from netbot.incidents.ports import IncidentMirror, IncidentSpaces
from netbot.incidents.records import (
    DECLARE_FROM_ALERT,
    ActionPrompt,
    Button,
    DeclareRequest,
    HeadlineRef,
    Incident,
    IncidentPage,
    Participant,
    Postmortem,
    Reminder,
    SeverityStats,
    SpaceEvent,
    SpaceMessage,
    SpacePlan,
    SpaceRef,
    TimelineEntry,
)

if TYPE_CHECKING:
    from netbot.incidents.builtin import CLOSE_BUTTON
    from netbot.incidents.reminders import JOB, SNOOZE_MINUTES
    from netbot.incidents.service import IncidentService, PostmortemTicket
    from netbot.incidents.wiring import build

CAPABILITY = Capability(
    name="incidents",
    cog="cogs.incidents",
    settings=IncidentsConfig,
    models="netbot.incidents.models",
    migrations=Path(__file__).parent / "migrations",
    # A channel (or forum post) per incident in its categories, private ones by permission
    # overwrites; archive = move and lock; the headline embed with buttons; reactions for
    # the timeline; post-mortem files; reading a space's history for the timeline.
    discord_permissions=(
        "view_channel",
        "manage_channels",
        "manage_roles",
        "manage_threads",
        "create_public_threads",
        "send_messages",
        "send_messages_in_threads",
        "embed_links",
        "attach_files",
        "read_message_history",
        "add_reactions",
    ),
    # The timeline copies message text (added by reaction, updated on edit) and keyword
    # handlers read it: Discord sends it only with the Message Content intent.
    privileged_intents=("message_content",),
)

_LAZY = {
    "CLOSE_BUTTON": "netbot.incidents.builtin",
    "JOB": "netbot.incidents.reminders",
    "SNOOZE_MINUTES": "netbot.incidents.reminders",
    "IncidentService": "netbot.incidents.service",
    "PostmortemTicket": "netbot.incidents.service",
    "build": "netbot.incidents.wiring",
}

__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "CAPABILITY",
    "CLOSE_BUTTON",
    "DECLARE_FROM_ALERT",
    "JOB",
    "SNOOZE_MINUTES",
    "STAGES",
    "ActionHandler",
    "ActionPrompt",
    "Button",
    "CommandHandler",
    "DeclareRequest",
    "Extension",
    "HeadlineRef",
    "Incident",
    "IncidentContext",
    "IncidentMirror",
    "IncidentPage",
    "IncidentService",
    "IncidentSpaces",
    "IncidentsConfig",
    "Invitees",
    "Participant",
    "Postmortem",
    "PostmortemTicket",
    "Registry",
    "Reminder",
    "SeverityLevel",
    "SeverityStats",
    "SpaceEvent",
    "SpaceMessage",
    "SpacePlan",
    "SpaceRef",
    "Stage",
    "TimelineEntry",
    "build",
    "space_name",
    "unknown_invitees",
]
