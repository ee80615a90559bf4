"""Declaring an incident: a form (title, summary, impact), then severity, lead and private
in one ephemeral message, then the Declare button.

Discord allows at most five fields in a form and no user picker in it, so the choices come
second, as selects (the lead defaults to whoever declares). The draft between the two steps
lives in this process only: a form is seconds old, and after a restart the Declare button
says to start again rather than guess. The incident itself is declared once per form: the
form's key travels to the service, so pressing Declare twice, or Discord retrying the
interaction, gives the one incident back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord

from cogs.incidents.desk import Desk
from netbot.core.text import outside
from netbot.discord_bot import as_text, who
from netbot.incidents import DeclareRequest

log = logging.getLogger(__name__)

TITLE_MAX = 100
TEXT_MAX = 1000
FORM_EXPIRED = "This form expired (netbot restarted); run `/incident declare` again."
PRIVATE, PUBLIC = "private", "public"


@dataclass
class Draft:
    """What the form said and what has been chosen since."""

    key: str
    guild_id: int
    reporter_id: int
    title: str
    summary: str
    impact: str
    severity: str
    lead_id: int
    private: bool = False


def _long(label: str, custom_id: str, value: str) -> discord.ui.InputText:
    """An optional paragraph field of the form."""
    return discord.ui.InputText(
        label=label,
        custom_id=custom_id,
        style=discord.InputTextStyle.long,
        required=False,
        max_length=TEXT_MAX,
        value=value[:TEXT_MAX] or None,
    )


FORM_PREFIX = "incdeclare:"  # incdeclare:<key>: the form
DRAFT_PREFIX = "incdraft:"  # incdraft:<key>:severity|lead|private|declare: the choices
DRAFTS_KEPT = 500  # forms between their two steps, per process (the oldest are dropped)


def declare_form(key: str, title: str = "", summary: str = "") -> discord.ui.Modal:
    """Step one: the words. Its custom id carries `key`, the form's identity for the
    service's idempotency; its submission is answered by id (`submitted`), so a form opened
    before a restart is still taken after it."""
    return discord.ui.Modal(
        discord.ui.InputText(
            label="Title", custom_id="title", max_length=TITLE_MAX, value=title[:TITLE_MAX] or None
        ),
        _long("Summary: what is happening", "summary", summary),
        _long("Impact: who is affected, how", "impact", ""),
        title="Declare an incident",
        custom_id=f"{FORM_PREFIX}{key}",
    )


async def submitted(
    desk: Desk, interaction: discord.Interaction, key: str, values: dict[str, str]
) -> None:
    """The form came back: keep it as a draft and ask for the choices."""
    title = values.get("title", "").strip()
    if not title:
        await interaction.response.send_message("An incident needs a title.", ephemeral=True)
        return
    user_id = who(interaction).id
    draft = Draft(
        key=key,
        guild_id=interaction.guild_id or 0,
        reporter_id=user_id,
        title=title,
        summary=values.get("summary", "").strip(),
        impact=values.get("impact", "").strip(),
        severity=desk.settings.severity_names[-1],
        lead_id=user_id,
    )
    desk.drafts[key] = draft
    while len(desk.drafts) > DRAFTS_KEPT:
        desk.drafts.pop(next(iter(desk.drafts)))
    await interaction.response.send_message(
        choices_text(draft), view=ChoicesView(desk, draft), ephemeral=True
    )


def choices_text(draft: Draft) -> str:
    return (
        f"**{outside(draft.title, TITLE_MAX)}**\n"
        "Choose the severity, the lead and whether it is private, then press Declare."
    )


class ChoicesView(discord.ui.View):
    """Step two: severity, lead, private; then Declare. Each choice is kept in the draft."""

    def __init__(self, desk: Desk, draft: Draft) -> None:
        super().__init__(timeout=None)
        self.desk, self.draft = desk, draft
        key = draft.key
        severity: discord.ui.Select[Any] = discord.ui.Select(
            custom_id=f"{DRAFT_PREFIX}{key}:severity",
            placeholder="Severity",
            options=[
                discord.SelectOption(
                    label=level.name,
                    value=level.name,
                    description=level.description[:100] or None,
                    default=level.name == draft.severity,
                )
                for level in desk.settings.severities[:25]
            ],
        )
        lead: discord.ui.Select[Any] = discord.ui.Select(
            discord.ComponentType.user_select,
            custom_id=f"{DRAFT_PREFIX}{key}:lead",
            placeholder="Lead",
            default_values=[
                discord.SelectDefaultValue(
                    id=draft.lead_id, type=discord.SelectDefaultValueType.user
                )
            ],
        )
        private: discord.ui.Select[Any] = discord.ui.Select(
            custom_id=f"{DRAFT_PREFIX}{key}:private",
            options=[
                discord.SelectOption(
                    label="Public: everyone may see it", value=PUBLIC, default=True
                ),
                discord.SelectOption(label="Private: only the invited", value=PRIVATE),
            ],
        )
        severity.callback = self._chose(severity, "severity")  # type: ignore[method-assign]
        lead.callback = self._chose(lead, "lead")  # type: ignore[method-assign]
        private.callback = self._chose(private, "private")  # type: ignore[method-assign]
        declare: discord.ui.Button[Any] = discord.ui.Button(
            label="Declare",
            style=discord.ButtonStyle.danger,
            custom_id=f"{DRAFT_PREFIX}{key}:declare",
        )
        declare.callback = self._declare  # type: ignore[method-assign]
        for item in (severity, lead, private, declare):
            self.add_item(item)

    def _chose(self, select: discord.ui.Select[Any], what: str) -> Any:
        async def chosen(interaction: discord.Interaction) -> None:
            value = select.values[0] if select.values else None
            if what == "severity" and isinstance(value, str):
                self.draft.severity = value
            elif what == "lead" and value is not None:
                self.draft.lead_id = value.id if hasattr(value, "id") else int(value)
            elif what == "private":
                self.draft.private = value == PRIVATE
            await interaction.response.defer()

        return chosen

    async def _declare(self, interaction: discord.Interaction) -> None:
        await declare(self.desk, interaction, self.draft)

    async def on_error(
        self, error: Exception, item: discord.ui.Item[Any], interaction: discord.Interaction
    ) -> None:
        await self.desk.bot.report_failure(interaction, error, "the declare choices")


async def declare(desk: Desk, interaction: discord.Interaction, draft: Draft) -> None:
    """Declare the draft's incident (once, whatever the number of presses) and say where."""
    await interaction.response.defer(ephemeral=True, invisible=False)
    request = DeclareRequest(
        key=f"discord:{draft.key}",
        guild_id=draft.guild_id,
        reporter_id=draft.reporter_id,
        title=draft.title,
        summary=draft.summary,
        impact=draft.impact,
        severity=draft.severity,
        lead_id=draft.lead_id,
        private=draft.private,
    )
    with as_text():
        incident = await desk.service.declare(request)
    if incident.space is not None:
        desk.remember_space(incident.space.space_id, incident.id)
    where = f" in <#{incident.space.space_id}>" if incident.space else ""
    await interaction.followup.send(
        f"Declared incident #{incident.id} ({outside(incident.severity)}){where}.", ephemeral=True
    )


async def expired(interaction: discord.Interaction) -> None:
    """A Declare press for a draft this process does not know (it restarted)."""
    await interaction.response.send_message(FORM_EXPIRED, ephemeral=True)
