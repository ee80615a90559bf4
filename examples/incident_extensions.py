"""An example incident extension module, loaded from configuration:

    incidents:
      extensions: [examples.incident_extensions]

It shows the building blocks the built-in features (netbot/incidents/builtin.py: duration,
take-a-break, the Close button) do not: a keyword handler (which needs Discord's Message
Content intent), a single notification, an event handler, and a command that posts a button
handled by an action handler. Handlers get an `IncidentContext` and plain records only.
"""

from __future__ import annotations

from netbot.incidents import Button, Extension, IncidentContext, SpaceEvent, SpaceMessage

RUNBOOK_URL = "https://wiki.example.org/runbooks/incidents"
STATUSPAGE_DONE = "statuspage-done"

extension = Extension("examples")


@extension.keyword_handler(["runbook", "run book"])
async def runbook(ctx: IncidentContext, message: SpaceMessage) -> None:
    """Someone mentions the runbook: point at it."""
    await ctx.post(f"The incident runbook is at {RUNBOOK_URL}")


@extension.single_notification(initial_delay_mins=15)
async def statuspage(ctx: IncidentContext) -> None:
    """Fifteen minutes in: has the status page been updated?"""
    await ctx.post(
        f"Incident #{ctx.incident.id} has run 15 minutes: has the status page been updated?",
        [Button("Status page updated", STATUSPAGE_DONE, "success")],
    )


@extension.action_handler(STATUSPAGE_DONE)
async def statuspage_done(ctx: IncidentContext, text: str | None) -> str:
    """The button above: recorded on the timeline."""
    await ctx.add_timeline_entry("Status page updated")
    return "Noted on the timeline."


@extension.event_handler("member_join")
async def welcome(ctx: IncidentContext, event: SpaceEvent) -> None:
    """Someone joined the space: tell them where things stand (no ping)."""
    await ctx.post(f"Welcome <@{event.user_id}>: see the headline for the current status.")


@extension.incident_command(["statuspage"], helptext="Ask for a status page update")
async def statuspage_command(ctx: IncidentContext, text: str) -> str:
    await statuspage(ctx)
    return "Asked."
