"""Every incident button: the headline's Join, Update status, Change severity and Close,
reminders' Snooze, extensions' own buttons, and "Declare incident" under disaster alerts.

Buttons carry static custom ids naming the incident and the action (`inc:<id>:<action>`),
and this cog's one `on_interaction` listener, registered at start-up, answers them by id. So
a button works whenever it was sent and whichever process answers: nothing is remembered
per message, and a restart loses nothing. (py-cord's persistent views match a custom id
exactly, so ids carrying an incident would need one registered view per incident.) Changing
status or severity asks with a select; an action with a prompt (Close asks for the
resolution) asks with a one-field form; both carry the same incident id.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import discord
from discord.ext import commands

from cogs.incidents.declare import DRAFT_PREFIX, FORM_PREFIX, declare_form, expired, submitted
from cogs.incidents.desk import Desk, form_values
from cogs.incidents.spaces import parse_action
from netbot.core.errors import UserError
from netbot.core.text import outside
from netbot.discord_bot import as_text, who
from netbot.incidents import DECLARE_FROM_ALERT, STAGES

log = logging.getLogger(__name__)

PICK = "incpick"  # incpick:<incident id>:status|severity  (the select after a button)
FORM = "incform"  # incform:<incident id>:<action id>      (the prompt form)


class IncidentButtons(commands.Cog):
    """Answers incident components and forms by custom id."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        custom_id = interaction.custom_id or ""
        if interaction.type not in (
            discord.InteractionType.component,
            discord.InteractionType.modal_submit,
        ):
            return
        try:
            if custom_id.startswith(FORM_PREFIX):
                key = custom_id.removeprefix(FORM_PREFIX)
                await submitted(self.desk, interaction, key, form_values(interaction))
            elif custom_id.startswith(DRAFT_PREFIX):
                await self._draft(interaction, custom_id)
            elif custom_id == DECLARE_FROM_ALERT:
                await self._from_alert(interaction)
            elif custom_id.startswith(PICK + ":"):
                await self._picked(interaction, custom_id)
            elif custom_id.startswith(FORM + ":"):
                await self._form(interaction, custom_id)
            elif (parsed := parse_action(custom_id)) is not None:
                await self._pressed(interaction, *parsed)
        except Exception as exc:
            await self.desk.bot.report_failure(interaction, exc, f"button {custom_id}")

    async def _draft(self, interaction: discord.Interaction, custom_id: str) -> None:
        """Declare-form components are answered by their view while it lives; after a
        restart only this listener sees them."""
        key = custom_id.removeprefix(DRAFT_PREFIX).split(":")[0]
        if key not in self.desk.drafts:
            await expired(interaction)

    async def _from_alert(self, interaction: discord.Interaction) -> None:
        """The alert's "Declare incident" button: the form, prefilled from the alert."""
        embeds = interaction.message.embeds if interaction.message else []
        title = (embeds[0].title or "") if embeds else ""
        summary = (
            "\n".join(
                part for part in ((embeds[0].description or ""), (embeds[0].url or "")) if part
            )
            if embeds
            else ""
        )
        form = declare_form(str(interaction.id), title=title, summary=summary)
        await interaction.response.send_modal(form)

    async def _pressed(
        self, interaction: discord.Interaction, incident_id: int, action: str
    ) -> None:
        service, user_id = self.desk.service, who(interaction).id
        if action == "join":
            with as_text():
                incident = await service.join(incident_id, user_id)
            where = f"<#{incident.space.space_id}>" if incident.space else "the incident"
            await interaction.response.send_message(f"You joined {where}.", ephemeral=True)
        elif action in ("status", "severity"):
            await self._ask(interaction, incident_id, action)
        elif (prompt := service.action_prompt(action)) is not None:
            form = discord.ui.Modal(
                discord.ui.InputText(
                    label=prompt.label[:45],
                    custom_id="text",
                    style=discord.InputTextStyle.long,
                    min_length=prompt.min_length,
                    max_length=prompt.max_length,
                ),
                title=f"Incident #{incident_id}"[:45],
                custom_id=f"{FORM}:{incident_id}:{action}",
            )
            await interaction.response.send_modal(form)
        else:
            await interaction.response.defer(ephemeral=True, invisible=False)
            with as_text():
                said = await service.act(incident_id, user_id, action)
            await interaction.followup.send(said or "Done.", ephemeral=True)

    async def _ask(self, interaction: discord.Interaction, incident_id: int, what: str) -> None:
        settings = self.desk.settings
        incident = await self.desk.service.get(incident_id)
        if what == "status":
            options = [
                discord.SelectOption(
                    label=settings.statuses.of(stage), value=stage, default=stage == incident.status
                )
                for stage in STAGES
                if stage != "closed"
            ]
        else:
            options = [
                discord.SelectOption(
                    label=level.name, value=level.name, default=level.name == incident.severity
                )
                for level in settings.severities[:25]
            ]
        view = discord.ui.View(timeout=None)
        view.add_item(
            discord.ui.Select(
                custom_id=f"{PICK}:{incident_id}:{what}",
                placeholder=f"New {what}",
                options=options,
            )
        )
        await interaction.response.send_message(
            f"Incident #{incident_id}: choose the new {what}.", view=view, ephemeral=True
        )

    async def _picked(self, interaction: discord.Interaction, custom_id: str) -> None:
        _, incident, what = custom_id.split(":", 2)
        data: dict[str, Any] = dict(cast(Any, interaction.data) or {})
        values = [str(v) for v in data.get("values") or []]
        if not values or not incident.isdigit():
            raise UserError("Choose one of the options.")
        await interaction.response.defer(ephemeral=True, invisible=False)
        service, user_id = self.desk.service, who(interaction).id
        with as_text():
            if what == "status":
                await service.set_status(int(incident), user_id, str(values[0]))
            else:
                await service.set_severity(int(incident), user_id, str(values[0]))
        await interaction.followup.send(
            f"Incident #{incident}: {what} is now {outside(str(values[0]), 40)}.", ephemeral=True
        )

    async def _form(self, interaction: discord.Interaction, custom_id: str) -> None:
        _, incident, action = custom_id.split(":", 2)
        text = form_values(interaction).get("text", "")
        await interaction.response.defer(ephemeral=True, invisible=False)
        with as_text():
            said = await self.desk.service.act(int(incident), who(interaction).id, action, text)
        await interaction.followup.send(said or "Done.", ephemeral=True)
