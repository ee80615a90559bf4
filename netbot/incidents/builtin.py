"""The built-in incident features, written with the same decorators as any extension:
`/incident duration`, the lead's take-a-break reminder, and the headline's Close button.

They are the working examples of the extension API (the README shows the same shapes). A
configured extension with a command, action or notification of the same name replaces the
built-in one.
"""

from __future__ import annotations

from netbot.incidents.config import IncidentsConfig
from netbot.incidents.extensions import Extension, IncidentContext
from netbot.incidents.messages import span
from netbot.incidents.records import MIN_RESOLUTION, ActionPrompt

CLOSE_BUTTON = "close"


def builtin_extension(settings: IncidentsConfig) -> Extension:
    """The built-in handlers for this configuration (take-a-break's interval comes from
    `incidents.take_a_break_minutes`; 0 leaves it out)."""
    builtin = Extension("builtin", replaceable=True)

    @builtin.incident_command(["duration"], helptext="How long has this incident been running?")
    def duration(ctx: IncidentContext, text: str) -> str:
        incident = ctx.incident
        lasted = span(incident.duration(ctx.now))
        if incident.resolved_at is not None:
            return f"Incident #{incident.id} lasted {lasted} (declared to resolved)."
        return f"Incident #{incident.id} has been running for {lasted}."

    if settings.take_a_break_minutes:

        @builtin.recurring_notification(
            interval_mins=settings.take_a_break_minutes, max_notifications=10
        )
        async def take_a_break(ctx: IncidentContext) -> None:
            incident = ctx.incident
            if incident.lead_id is None:
                return
            await ctx.post(
                f"<@{incident.lead_id}>, you have been leading incident #{incident.id} for "
                f"{span(incident.duration(ctx.now))}. Take a break: hand the lead over with "
                "/incident lead if you need one."
            )

    @builtin.action_handler(
        CLOSE_BUTTON, asks=ActionPrompt("Resolution", min_length=MIN_RESOLUTION)
    )
    async def close(ctx: IncidentContext, text: str | None) -> str:
        incident = await ctx.close(text or "")
        return f"Incident #{incident.id} is closed."

    return builtin
