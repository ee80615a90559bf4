"""`/incident ...`: every incident action as a slash command (the buttons' equivalents too).

Inside an incident's channel (or forum post) a command needs no incident; elsewhere the
`incident` option autocompletes open incidents. Replies are ephemeral: the change itself is
announced in the space and on the headline by the service.

py-cord reads option types from annotation objects: no `from __future__ import annotations`.
"""

import datetime as dt
import logging

import discord
from discord.ext import commands

from cogs.incidents.declare import declare_form
from cogs.incidents.desk import Desk
from netbot.chat.markdown import render
from netbot.core.errors import UserError
from netbot.core.text import clip, outside
from netbot.discord_bot import as_text
from netbot.incidents import STAGES

log = logging.getLogger(__name__)

REPLY_LIMIT = 1900
INCIDENT_HELP = "The incident (not needed inside its channel)"


def _since(text: str | None) -> dt.datetime | None:
    """`YYYY-MM-DD` as the start of that day (UTC); a specific refusal otherwise."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{outside(text, 40)} is not a date like 2026-01-31.") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _span(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


class IncidentCommands(commands.Cog):
    incident = discord.SlashCommandGroup("incident", "Declare and run incidents")

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    # ------------------------------------------------------------------ autocomplete
    async def complete_incident(
        self, ctx: discord.AutocompleteContext
    ) -> list[discord.OptionChoice]:
        return await self._choices(ctx, open_only=True)

    async def _choices(
        self, ctx: discord.AutocompleteContext, *, open_only: bool
    ) -> list[discord.OptionChoice]:
        guild_id = ctx.interaction.guild_id
        if guild_id is None:
            return []
        typed = str(ctx.value or "")
        found = await self.desk.service.find(guild_id, typed, limit=25, open_only=open_only)
        return [
            discord.OptionChoice(clip(f"#{i.id} {i.severity} {i.title}", 100), str(i.id))
            for i in found
        ]

    async def complete_any_incident(
        self, ctx: discord.AutocompleteContext
    ) -> list[discord.OptionChoice]:
        """Closed ones too (reopen, post-mortem)."""
        return await self._choices(ctx, open_only=False)

    async def complete_status(self, ctx: discord.AutocompleteContext) -> list[discord.OptionChoice]:
        names = self.desk.settings.statuses
        typed = str(ctx.value or "").lower()
        return [
            discord.OptionChoice(names.of(s), s)
            for s in STAGES
            if s != "closed" and typed in names.of(s).lower()
        ]

    async def complete_severity(self, ctx: discord.AutocompleteContext) -> list[str]:
        typed = str(ctx.value or "").lower()
        return [n for n in self.desk.settings.severity_names if typed in n.lower()][:25]

    async def complete_command(self, ctx: discord.AutocompleteContext) -> list[str]:
        typed = str(ctx.value or "").lower()
        names = [n for handler in self.desk.service.commands() for n in handler.names]
        return [n for n in names if typed in n][:25]

    # The `incident` option of every command that acts on one.
    in_incident = discord.option(
        "incident", str, description=INCIDENT_HELP, required=False, autocomplete=complete_incident
    )

    any_incident = discord.option(
        "incident",
        str,
        description=INCIDENT_HELP,
        required=False,
        autocomplete=complete_any_incident,
    )

    async def _target(self, ctx: discord.ApplicationContext, chosen: str | None) -> int:
        with as_text():
            incident = await self.desk.resolve(chosen, ctx.channel_id)
        return incident.id

    async def _begin(self, ctx: discord.ApplicationContext, chosen: str | None) -> int:
        """The incident a command acts on (refused at once if none), then "thinking..."."""
        incident_id = await self._target(ctx, chosen)
        await ctx.defer(ephemeral=True)
        return incident_id

    # ------------------------------------------------------------------ declaring
    @incident.command(description="Declare an incident (opens a form)")
    @discord.option("title", str, description="A short title", required=False, max_length=100)
    async def declare(self, ctx: discord.ApplicationContext, title: str | None = None) -> None:
        await ctx.send_modal(declare_form(str(ctx.interaction.id), title=title or ""))

    # ------------------------------------------------------------------ changing
    @incident.command(description="Change the status")
    @discord.option("status", str, autocomplete=complete_status)
    @in_incident
    async def status(
        self, ctx: discord.ApplicationContext, status: str, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            changed = await self.desk.service.set_status(incident_id, ctx.author.id, status)
        await ctx.respond(
            f"Incident #{incident_id} is now {self.desk.settings.statuses.of(changed.status)}."
        )

    @incident.command(description="Change the severity")
    @discord.option("severity", str, autocomplete=complete_severity)
    @in_incident
    async def severity(
        self, ctx: discord.ApplicationContext, severity: str, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            changed = await self.desk.service.set_severity(incident_id, ctx.author.id, severity)
        await ctx.respond(f"Incident #{incident_id} is now {outside(changed.severity)}.")

    @incident.command(description="Change the summary")
    @discord.option("text", str, max_length=1000)
    @in_incident
    async def summary(
        self, ctx: discord.ApplicationContext, text: str, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            await self.desk.service.set_summary(incident_id, ctx.author.id, text)
        await ctx.respond(f"Incident #{incident_id}: summary updated.")

    @incident.command(description="Change the impact")
    @discord.option("text", str, max_length=1000)
    @in_incident
    async def impact(
        self, ctx: discord.ApplicationContext, text: str, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            await self.desk.service.set_impact(incident_id, ctx.author.id, text)
        await ctx.respond(f"Incident #{incident_id}: impact updated.")

    @incident.command(description="Add a note (or an action item) to the timeline")
    @discord.option("text", str, max_length=1000)
    @discord.option(
        "action_item", bool, description="An action item for the post-mortem", required=False
    )
    @in_incident
    async def note(
        self,
        ctx: discord.ApplicationContext,
        text: str,
        action_item: bool = False,
        incident: str | None = None,
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            await self.desk.service.note(incident_id, ctx.author.id, text, action_item=action_item)
        await ctx.respond(
            f"Incident #{incident_id}: {'action item' if action_item else 'note'} added."
        )

    @incident.command(description="Set the incident lead")
    @discord.option("user", discord.Member)
    @in_incident
    async def lead(
        self, ctx: discord.ApplicationContext, user: discord.Member, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            await self.desk.service.set_lead(incident_id, ctx.author.id, user.id)
        await ctx.respond(f"Incident #{incident_id}: lead is now {user.mention}.")

    @incident.command(description="Set who handles communications")
    @discord.option("user", discord.Member)
    @in_incident
    async def comms(
        self, ctx: discord.ApplicationContext, user: discord.Member, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            await self.desk.service.set_comms(incident_id, ctx.author.id, user.id)
        await ctx.respond(f"Incident #{incident_id}: comms is now {user.mention}.")

    @incident.command(description="Join the incident's channel")
    @in_incident
    async def join(self, ctx: discord.ApplicationContext, incident: str | None = None) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            joined = await self.desk.service.join(incident_id, ctx.author.id)
        where = f"<#{joined.space.space_id}>" if joined.space else f"incident #{incident_id}"
        await ctx.respond(f"You joined {where}.")

    @incident.command(description="Invite someone (or a role) into the incident's channel")
    @discord.option("user", discord.Member, required=False)
    @discord.option("role", discord.Role, required=False)
    @in_incident
    async def invite(
        self,
        ctx: discord.ApplicationContext,
        user: discord.Member | None = None,
        role: discord.Role | None = None,
        incident: str | None = None,
    ) -> None:
        if user is None and role is None:
            raise UserError("Choose someone or a role to invite.")
        incident_id = await self._begin(ctx, incident)
        users, roles = [user.id] if user else [], [role.id] if role else []
        with as_text():
            await self.desk.service.invite(incident_id, ctx.author.id, users, roles)
        who = " and ".join(x.mention for x in (user, role) if x is not None)
        await ctx.respond(f"Incident #{incident_id}: invited {who}.")

    @incident.command(description="Close the incident (archives its channel)")
    @discord.option("resolution", str, description="What fixed it", max_length=1000)
    @in_incident
    async def close(
        self, ctx: discord.ApplicationContext, resolution: str, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            await self.desk.service.close(incident_id, ctx.author.id, resolution)
        await ctx.respond(f"Incident #{incident_id} is closed.")

    @incident.command(description="Reopen a closed incident")
    @discord.option("reason", str, description="Why (at least 10 characters)", max_length=1000)
    @any_incident
    async def reopen(
        self, ctx: discord.ApplicationContext, reason: str, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            await self.desk.service.reopen(incident_id, ctx.author.id, reason)
        await ctx.respond(f"Incident #{incident_id} is open again.")

    # ------------------------------------------------------------------ extensions
    @incident.command(description="How long the incident has been running")
    @in_incident
    async def duration(self, ctx: discord.ApplicationContext, incident: str | None = None) -> None:
        await self._run(ctx, incident, "duration", "")

    @incident.command(name="run", description="Run a command an extension added")
    @discord.option("command", str, autocomplete=complete_command)
    @discord.option("text", str, required=False, max_length=1000)
    @in_incident
    async def run(
        self,
        ctx: discord.ApplicationContext,
        command: str,
        text: str = "",
        incident: str | None = None,
    ) -> None:
        await self._run(ctx, incident, command, text)

    async def _run(
        self, ctx: discord.ApplicationContext, incident: str | None, name: str, text: str
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            said = await self.desk.service.run_command(incident_id, ctx.author.id, name, text)
        await ctx.respond(clip(said or "Done.", REPLY_LIMIT))

    # ------------------------------------------------------------------ reading
    @incident.command(name="list", description="List incidents")
    @discord.option("closed", bool, description="Closed ones instead of open ones", required=False)
    @discord.option("since", str, description="Declared on or after (YYYY-MM-DD)", required=False)
    @discord.option("page", int, required=False, min_value=1)
    async def list_(
        self,
        ctx: discord.ApplicationContext,
        closed: bool = False,
        since: str | None = None,
        page: int = 1,
    ) -> None:
        guild_id, start = ctx.guild_id or 0, _since(since)  # its refusal is escaped already
        with as_text():
            found = await self.desk.service.listing(guild_id, closed=closed, since=start, page=page)
        if not found.items:
            await ctx.respond("No incidents.", ephemeral=True)
            return
        lines = [
            f"#{i.id} **{outside(i.severity)}** {self.desk.settings.statuses.of(i.status)}: "
            f"{outside(i.title, 100)}" + (f" <#{i.space.space_id}>" if i.space else "")
            for i in found.items
        ]
        lines.append(f"Page {found.page} of {found.pages} ({found.total} incidents)")
        await ctx.respond(clip("\n".join(lines), REPLY_LIMIT), ephemeral=True)

    @incident.command(description="Show the timeline")
    @in_incident
    async def timeline(self, ctx: discord.ApplicationContext, incident: str | None = None) -> None:
        incident_id = await self._target(ctx, incident)
        lines = [
            render(line, REPLY_LIMIT)
            for line in await self.desk.service.timeline_lines(incident_id)
        ]
        text = "\n".join(lines) or "The timeline is empty."
        if len(text) > REPLY_LIMIT:  # the newest lines matter most while it runs
            text = "...\n" + text[-REPLY_LIMIT:].partition("\n")[2]
        await ctx.respond(text, ephemeral=True)

    @incident.command(description="Write the post-mortem document into the incident's channel")
    @any_incident
    async def postmortem(
        self, ctx: discord.ApplicationContext, incident: str | None = None
    ) -> None:
        incident_id = await self._begin(ctx, incident)
        with as_text():
            document = await self.desk.service.postmortem(incident_id, ctx.author.id)
        ticket = f" and ticket #{document.ticket_id}" if document.ticket_id else ""
        await ctx.respond(f"Post-mortem {outside(document.filename)} posted{ticket}.")

    @incident.command(description="Time to acknowledge and to resolve, by severity")
    @discord.option("since", str, description="Declared on or after (YYYY-MM-DD)", required=False)
    async def stats(self, ctx: discord.ApplicationContext, since: str | None = None) -> None:
        rows = await self.desk.service.stats(ctx.guild_id or 0, _since(since))
        if not rows:
            await ctx.respond("No incidents yet.", ephemeral=True)
            return
        lines = ["severity: count | acknowledge mean / p90 | resolve mean / p90"]
        lines += [
            f"{outside(r.severity)}: {r.count} | {_span(r.ack_mean)} / {_span(r.ack_p90)} | "
            f"{_span(r.resolve_mean)} / {_span(r.resolve_p90)}"
            for r in rows
        ]
        await ctx.respond("\n".join(lines), ephemeral=True)
