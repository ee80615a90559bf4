"""The one way to build the incident service on a runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from netbot.core.runtime import Runtime
from netbot.incidents.builtin import builtin_extension
from netbot.incidents.config import IncidentsConfig
from netbot.incidents.extensions import load_registry
from netbot.incidents.ports import IncidentMirror, IncidentSpaces
from netbot.incidents.postmortem import RedminePostmortem
from netbot.incidents.reminders import JOB
from netbot.incidents.service import IncidentService, PostmortemTicket
from netbot.threader import ThreaderConfig

if TYPE_CHECKING:
    from netbot.tickets import TicketsServices


def build(
    runtime: Runtime,
    spaces: IncidentSpaces,
    *,
    mirror: IncidentMirror | None = None,
    postmortem_ticket: PostmortemTicket | None = None,
    open_thread: Callable[[int, str], Awaitable[object]] | None = None,
) -> IncidentService:
    """The incident service working through `spaces` (the chat side), its handlers the
    built-in ones plus `incidents.extensions`, and its reminder job declared on the
    runtime's supervisor as `incidents.reminders`.

    Post-mortem tickets: `postmortem_ticket` if given, else, with `incidents.postmortem_project`
    set and Redmine configured (REDMINE_URL, REDMINE_TOKEN), a ticket in that project, whose
    thread `open_thread(ticket_id, subject)` opens (the chat side's, optional)."""
    settings = runtime.config.section("incidents", IncidentsConfig)
    registry = load_registry(builtin_extension(settings), settings.extensions)
    if postmortem_ticket is None:
        postmortem_ticket = redmine_postmortem(runtime, settings, open_thread)
    service = IncidentService(
        runtime.database, spaces, settings, registry, runtime.clock,
        settings.tz(runtime.config.timezone), runtime.workers, mirror, postmortem_ticket,
    )  # fmt: skip
    runtime.supervisor.every(JOB, settings.reminder_poll_seconds, service.tick)
    return service


def redmine_postmortem(
    runtime: Runtime,
    settings: IncidentsConfig,
    open_thread: Callable[[int, str], Awaitable[object]] | None = None,
) -> RedminePostmortem | None:
    """Post-mortem tickets in `incidents.postmortem_project`, through the tickets
    capability (its timeout and public URL), when both are configured; else None."""
    from netbot import tickets

    url = runtime.secrets.value("REDMINE_URL")
    if settings.postmortem_project is None or not url:
        return None
    try:
        base = runtime.config.section("tickets", tickets.TicketsConfig)
    except LookupError:
        base = tickets.TicketsConfig()
    services = tickets.build(
        url,
        runtime.secrets.secret("REDMINE_TOKEN").reveal(),
        base.model_copy(update={"project": settings.postmortem_project}),
        thread_field=runtime.config.section("threader", ThreaderConfig).thread_field,
    )
    if open_thread is None and runtime.config.switched_on("threader"):
        open_thread = threader_creates_thread(runtime, services)
    return RedminePostmortem(services, runtime.workers, open_thread)


def threader_creates_thread(
    runtime: Runtime, services: TicketsServices
) -> Callable[[int, str], Awaitable[object]]:
    """Ask the threader for the ticket's thread: its thread field set to the
    threader's "create" value, so the threader opens the thread in the channel configured
    for the ticket's tracker and keeps it in sync from then on."""
    create = runtime.config.section("threader", ThreaderConfig).create_value

    async def open_thread(ticket_id: int, subject: str) -> object:
        return await runtime.workers.run(
            "redmine", services.service.link_thread, None, ticket_id, create
        )

    return open_thread
