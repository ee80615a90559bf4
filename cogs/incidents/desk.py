"""What the incident cogs share: the service, which channels are incident spaces, and a form's
values (who acted and errors as text come from `netbot.discord_bot`, as for every cog).

One `Desk` per bot, built in `setup`; the three cogs (commands, buttons, timeline) each hold
it. Which channel belongs to which incident is asked of the database once per channel and
remembered (an answer for a channel never changes: a space is created with a fresh id), so a
busy server's messages cost no query after the first in each channel.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import discord

from netbot.core.errors import UserError
from netbot.core.text import clip
from netbot.discord_bot import NetBot
from netbot.incidents import Incident, IncidentsConfig, IncidentService

if TYPE_CHECKING:
    from cogs.incidents.declare import Draft

log = logging.getLogger(__name__)

NOT_IN_SPACE = (
    "Run this inside an incident's channel, or choose the incident in the `incident` option."
)


class Desk:
    """The incident capability's Discord side, shared by its cogs."""

    def __init__(self, bot: NetBot, settings: IncidentsConfig) -> None:
        self.bot = bot
        self.settings = settings
        self.service: IncidentService  # set by `setup` once the spaces exist
        self._space_of: dict[int, int | None] = {}  # channel id -> incident id (None: none)
        self.drafts: dict[str, Draft] = {}  # declare forms between their two steps

    def remember_space(self, space_id: int, incident_id: int) -> None:
        """A space this process just created (its channel had no incident before)."""
        self._space_of[space_id] = incident_id

    async def incident_in(self, channel_id: int | None) -> int | None:
        """The incident whose space `channel_id` is, if any (cached per channel)."""
        if channel_id is None:
            return None
        if channel_id not in self._space_of:
            found = await self.service.by_space(channel_id)
            self._space_of[channel_id] = found.id if found is not None else None
        return self._space_of[channel_id]

    async def resolve(self, chosen: str | None, channel_id: int | None) -> Incident:
        """The incident a command means: the one chosen in its option (autocomplete gives
        ids; "#12" and "12" work when typed), else the one whose space it runs in. Its
        refusals are plain text: callers show them through `as_text`, which escapes them."""
        if chosen:
            text = chosen.strip().removeprefix("#")
            if not text.isdigit():
                raise UserError(f"No incident {clip(chosen, 40)}: choose one from the list.")
            return await self.service.get(int(text))
        incident_id = await self.incident_in(channel_id)
        if incident_id is None:
            raise UserError(NOT_IN_SPACE)
        return await self.service.get(incident_id)


def form_values(interaction: discord.Interaction) -> dict[str, str]:
    """A submitted form's fields by custom id (rows of text inputs, or labelled ones)."""
    data: dict[str, Any] = dict(cast(Any, interaction.data) or {})
    values: dict[str, str] = {}
    for row in data.get("components") or []:
        for field in row.get("components") or [row.get("component") or {}]:
            if "custom_id" in field:
                values[str(field["custom_id"])] = str(field.get("value") or "")
    return values
