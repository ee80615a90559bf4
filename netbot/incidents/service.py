"""The incident service: every incident action, from any chat command, button or job.

Each action checks its input first (a `UserError` says what is wrong, before anything is
written), writes the change and its timeline entry in one transaction (`IncidentStore`),
then tells the chat platform (`IncidentSpaces`): a notice in the space, the headline edited
in place, forum tags, archive. The database is the record: a platform failure after the
write is logged with an error id and repaired by the next change or the reminder job's
repair pass (`finish`), never by writing twice. Declaring is idempotent on the form's key
and resumable: a retry finishes whatever steps (space, invitations, headline) are missing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from netbot.chat import Mentions, Own, Post, PostRef, Text
from netbot.core.db import Database
from netbot.core.errors import NotFound, UserError, new_error_id
from netbot.core.runtime import Workers
from netbot.core.tasks import Clock
from netbot.core.text import clip
from netbot.incidents.config import STAGES, IncidentsConfig, Invitees, Stage
from netbot.incidents.extensions import CommandHandler, Handler, Registry
from netbot.incidents.messages import Messages
from netbot.incidents.models import IncidentRow
from netbot.incidents.names import space_name
from netbot.incidents.ports import IncidentMirror, IncidentSpaces
from netbot.incidents.postmortem import filename, render_postmortem
from netbot.incidents.records import (
    MIN_RESOLUTION,
    ActionPrompt,
    Button,
    DeclareRequest,
    HeadlineRef,
    Incident,
    IncidentPage,
    Participant,
    Postmortem,
    SeverityStats,
    SpaceEvent,
    SpaceMessage,
    SpacePlan,
    TimelineEntry,
)
from netbot.incidents.reminders import OWN_KINDS, SNOOZE_MINUTES, ReminderEngine, Schedule
from netbot.incidents.store import Change, IncidentStore

log = logging.getLogger(__name__)

T = TypeVar("T")
TITLE_MAX = 150
TEXT_MAX = 2000
MIN_REOPEN_REASON = 10
PER_PAGE_MAX = 25
# Changes said in the space as they happen (the others are in the headline and timeline).
ANNOUNCED = ("status", "severity", "lead", "comms", "title")


class PostmortemTicket(Protocol):
    """Opens a ticket holding a post-mortem (`RedminePostmortem`) and returns its id, or
    None when the incident gets none (a private one)."""

    async def __call__(self, incident: Incident, markdown: str) -> int | None: ...


def _text(value: str, what: str, *, required: bool = False, most: int = TEXT_MAX) -> str:
    value = value.strip()
    if required and not value:
        raise UserError(f"The {what} cannot be empty.")
    if len(value) > most:
        raise UserError(f"The {what} is {len(value)} characters long; at most {most} fit.")
    return value


def p90(values: Sequence[dt.timedelta]) -> dt.timedelta | None:
    """The 90th percentile by nearest rank (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def mean(values: Sequence[dt.timedelta]) -> dt.timedelta | None:
    return sum(values, dt.timedelta()) / len(values) if values else None


@dataclass
class _Context:
    """The `IncidentContext` a handler gets (see netbot.incidents.extensions)."""

    incident: Incident
    user_id: int | None
    now: dt.datetime
    tz: ZoneInfo
    service: IncidentService

    async def post(self, post: str | Post, buttons: Sequence[Button] = ()) -> None:
        message = Post(body=Own(post)) if isinstance(post, str) else post
        await self.service.spaces.post(
            self.incident, dataclasses.replace(message, mentions=Mentions()), buttons
        )

    async def add_timeline_entry(self, text: str) -> None:
        await self.service.note(self.incident.id, self.user_id, text)

    async def close(self, resolution: str) -> Incident:
        self.incident = await self.service.close(self.incident.id, self.user_id, resolution)
        return self.incident


class IncidentService:
    """Incidents of one bot: declared, changed, reminded, closed."""

    def __init__(
        self,
        database: Database,
        spaces: IncidentSpaces,
        settings: IncidentsConfig,
        registry: Registry,
        clock: Clock,
        tz: ZoneInfo,
        workers: Workers,
        mirror: IncidentMirror | None = None,
        postmortem_ticket: PostmortemTicket | None = None,
    ) -> None:
        self.spaces = spaces
        self.settings = settings
        self.registry = registry
        self.clock = clock
        self.tz = tz
        self.workers = workers
        self.messages = Messages(settings, tz)
        self.schedule = Schedule(settings, registry, tz)
        self.store = IncidentStore(
            database, self.schedule, self.messages.headline, self.messages.notice, mirror
        )
        self.reminders = ReminderEngine(self.store, self.schedule, clock, self._remind, workers)
        self.postmortem_ticket = postmortem_ticket
        self._locks: dict[int, asyncio.Lock] = {}
        self._repair_failed: set[int] = set()

    async def _db(self, call: Callable[..., T], *args: object) -> T:
        return await self.workers.run("database", call, *args)

    # ------------------------------------------------------------------ naming
    def status_name(self, stage: str) -> str:
        return self.messages.status(stage)

    def headline_post(self, incident: Incident) -> Post:
        return self.messages.headline(incident, self.clock.now())

    def stage(self, status: str) -> Stage:
        """A stage from its key or its configured name (any case)."""
        wanted = status.strip().lower()
        for stage in STAGES:
            if wanted in (stage, self.status_name(stage).lower()):
                return stage  # type: ignore[return-value]
        names = ", ".join(self.status_name(s) for s in STAGES[:-1])
        raise UserError(f"There is no status {status.strip()[:40]!r}; pick one of: {names}.")

    def severity(self, name: str) -> str:
        try:
            return self.settings.severity(name.strip()).name
        except KeyError:
            names = ", ".join(self.settings.severity_names)
            raise UserError(
                f"There is no severity {name.strip()[:40]!r}; pick one of: {names}."
            ) from None

    # ------------------------------------------------------------------ declaring
    async def declare(self, request: DeclareRequest) -> Incident:
        """Declare an incident, or return the one this form (`request.key`) declared."""
        title = _text(request.title, "title", required=True, most=TITLE_MAX)
        if not request.key or len(request.key) > 100:
            raise ValueError(f"a declare key is 1-100 characters: {request.key!r}")
        severity = self.severity(request.severity or self.settings.severity_names[-1])
        request = dataclasses.replace(
            request, title=title, severity=severity,
            summary=_text(request.summary, "summary"), impact=_text(request.impact, "impact"),
        )  # fmt: skip
        lead = request.lead_id or request.reporter_id
        invitees = self.settings.invitees(severity)
        incident, created = await self._db(
            self.store.declare, request, severity, lead, invitees.users, self.clock.now()
        )
        if created:
            log.info("incident %s declared (%s) by %s", incident.id, severity, request.reporter_id)
        return await self.finish(incident.id)

    async def finish(self, incident_id: int) -> Incident:
        """Do whichever of the declare's chat steps are not done yet: create the space,
        invite and mention the invitees once, post the headline. Raises if the platform
        fails (the next call picks up where this one stopped)."""
        async with self._locks.setdefault(incident_id, asyncio.Lock()):
            incident = await self._db(self.store.get, incident_id)
            invitees = self._invitees_of(incident.severity)
            lead = [incident.lead_id] if incident.lead_id else []
            people = tuple(dict.fromkeys([incident.reporter_id, *lead, *invitees.users]))
            if incident.space is None:
                plan = SpacePlan(
                    name=space_name(incident.id, incident.declared_at, incident.title, self.tz),
                    topic=self.messages.topic(incident),
                    private=incident.private,
                    users=people,
                    roles=tuple(invitees.roles),
                    severity=incident.severity,
                    status=self.status_name(incident.status),
                )
                space = await self.spaces.create_space(incident, plan)
                mirrored_topic = self.messages.topic(incident, quote=clip)  # the mirror escapes
                incident = await self._db(self.store.set_space, incident.id, space, mirrored_topic)
            if incident.is_open and not await self._db(self.store.invited, incident.id):
                pinged = tuple(u for u in people if u != incident.reporter_id)
                welcome = self.messages.welcome(incident, pinged, tuple(invitees.roles))
                await self.spaces.post(incident, welcome)
                await self._db(self.store.set_invited, incident.id)
            if incident.headline is None and self.settings.headline_channel_id is not None:
                incident = await self._show_headline(incident)
            return incident

    async def repair(self) -> None:
        """Finish every open incident whose chat steps are incomplete (a crash or an outage
        during declare); run by the reminder job before the reminders. A failure is logged
        once per incident and process, and tried again next time."""
        for incident in await self._db(
            self.store.unfinished, self.settings.headline_channel_id is not None
        ):
            try:
                await self.finish(incident.id)
            except Exception as exc:
                if incident.id not in self._repair_failed:
                    log.warning(
                        "incident %s: could not finish its space/headline (error %s): %s: %s",
                        incident.id, new_error_id(), type(exc).__name__, exc,
                    )  # fmt: skip
                self._repair_failed.add(incident.id)
            else:
                self._repair_failed.discard(incident.id)

    async def tick(self) -> None:
        """The supervisor job: repair, then send due reminders."""
        await self.repair()
        await self.reminders.tick()

    # ------------------------------------------------------------------ reading
    async def get(self, incident_id: int) -> Incident:
        return await self._db(self.store.get, incident_id)

    async def by_space(self, space_id: int) -> Incident | None:
        return await self._db(self.store.by_space, space_id)

    async def find(
        self, guild_id: int, text: str, limit: int = 25, open_only: bool = True
    ) -> list[Incident]:
        return await self._db(self.store.find, guild_id, text[:100], limit, open_only)

    async def listing(
        self, guild_id: int, *, closed: bool = False, since: dt.datetime | None = None,
        page: int = 1, per_page: int = 10,
    ) -> IncidentPage:  # fmt: skip
        per_page = min(max(per_page, 1), PER_PAGE_MAX)
        return await self._db(self.store.page, guild_id, closed, since, page, per_page)

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        await self.get(incident_id)
        return await self._db(self.store.timeline, incident_id)

    async def timeline_lines(self, incident_id: int) -> list[Text]:
        """The timeline as chat lines, each with its date and time zone."""
        return [self.messages.timeline_line(e) for e in await self.timeline(incident_id)]

    async def participants(self, incident_id: int) -> list[Participant]:
        await self.get(incident_id)
        return await self._db(self.store.participants, incident_id)

    async def stats(self, guild_id: int, since: dt.datetime | None = None) -> list[SeverityStats]:
        """Per severity (configuration order; removed severities after): how many, and
        mean and p90 time to acknowledge (declared -> identified) and to resolve."""
        incidents = await self._db(self.store.since, guild_id, since)
        order = self.settings.severity_names
        order += sorted({i.severity for i in incidents} - set(order))
        result = []
        for severity in order:
            group = [i for i in incidents if i.severity == severity]
            if not group:
                continue
            ack = [i.identified_at - i.declared_at for i in group if i.identified_at]
            res = [i.resolved_at - i.declared_at for i in group if i.resolved_at]
            result.append(
                SeverityStats(severity, len(group), len(ack), mean(ack), p90(ack), len(res),
                              mean(res), p90(res))
            )  # fmt: skip
        return result

    # ------------------------------------------------------------------ changing
    async def _change(
        self, incident_id: int, actor_id: int | None,
        apply: Callable[[IncidentRow], list[Change]],
        check: Callable[[Incident], None] | None = None,
    ) -> Incident:  # fmt: skip
        incident, entries = await self._db(
            self.store.change, incident_id, actor_id, self.clock.now(), apply, check
        )
        await self._after(incident, entries)
        return incident

    async def _after(self, incident: Incident, entries: Sequence[TimelineEntry]) -> None:
        """Tell the chat platform about a recorded change; failures are logged, not raised:
        the change is made (the headline catches up at the next change)."""
        fields = {e.field for e in entries}
        try:
            for entry in entries:
                if entry.field in ANNOUNCED and incident.space is not None:
                    await self.spaces.post(incident, self.messages.notice(entry))
            if fields & {"status", "severity"} and incident.space is not None:
                await self.spaces.show_state(incident)
            if self.settings.headline_channel_id is not None:
                await self._show_headline(incident)
        except Exception as exc:
            log.warning(
                "incident %s: change recorded but not shown in chat (error %s): %s: %s",
                incident.id, new_error_id(), type(exc).__name__, exc,
            )  # fmt: skip

    async def _show_headline(self, incident: Incident) -> Incident:
        ref = None
        if incident.headline is not None:
            ref = PostRef(
                "discord", str(incident.headline.channel_id), str(incident.headline.message_id)
            )
        shown = await self.spaces.show_headline(incident, self.headline_post(incident), ref)
        new = HeadlineRef(int(shown.channel_id), int(shown.message_id))
        if new != incident.headline:
            incident = await self._db(self.store.set_headline, incident.id, new)
        return incident

    @staticmethod
    def _open(incident: Incident) -> None:
        if not incident.is_open:
            raise UserError(
                f"Incident #{incident.id} is closed; reopen it first (/incident reopen)."
            )

    async def set_status(self, incident_id: int, actor_id: int | None, status: str) -> Incident:
        """Move to another stage (not `closed`: that is `close`, which needs a resolution)."""
        stage = self.stage(status)
        if stage == "closed":
            raise UserError(
                "Closing needs a resolution: use /incident close (or the Close button)."
            )

        def check(incident: Incident) -> None:
            self._open(incident)
            if incident.status == stage:
                raise UserError(f"Incident #{incident.id} is already {self.status_name(stage)}.")

        def apply(row: IncidentRow) -> list[Change]:
            old, now = row.status, self.clock.now()
            row.status = stage
            rank = STAGES.index(stage)
            if rank >= STAGES.index("identified") and row.identified_at is None:
                row.identified_at = now
            if stage == "resolved":
                row.resolved_at = now
            elif rank < STAGES.index("resolved"):
                row.resolved_at = None
            return [Change("status", old, stage)]

        return await self._change(incident_id, actor_id, apply, check)

    async def set_severity(self, incident_id: int, actor_id: int | None, severity: str) -> Incident:
        name = self.severity(severity)

        def check(incident: Incident) -> None:
            self._open(incident)
            if incident.severity == name:
                raise UserError(f"Incident #{incident.id} is already {name}.")

        def apply(row: IncidentRow) -> list[Change]:
            old, row.severity = row.severity, name
            return [Change("severity", old, name)]

        before = await self.get(incident_id)
        incident = await self._change(incident_id, actor_id, apply, check)
        had = self._invitees_of(before.severity).roles
        invitees = self.settings.invitees(name)  # the new level's people join too
        await self._invite(incident, invitees.users, [r for r in invitees.roles if r not in had])
        return incident

    def _invitees_of(self, severity: str) -> Invitees:
        try:
            return self.settings.invitees(severity)
        except KeyError:  # a severity since removed from the configuration
            return self.settings.invite.always

    @staticmethod
    def _field(name: str, value: str) -> Callable[[IncidentRow], list[Change]]:
        def apply(row: IncidentRow) -> list[Change]:
            old = getattr(row, name)
            setattr(row, name, value)
            return [Change(name, old, value)]

        return apply

    async def set_title(self, incident_id: int, actor_id: int | None, text: str) -> Incident:
        """The title shown in the headline (the space keeps the name it was created with)."""
        value = _text(text, "title", required=True, most=TITLE_MAX)
        return await self._change(incident_id, actor_id, self._field("title", value), self._open)

    async def set_summary(self, incident_id: int, actor_id: int | None, text: str) -> Incident:
        value = _text(text, "summary", required=True)
        return await self._change(incident_id, actor_id, self._field("summary", value))

    async def set_impact(self, incident_id: int, actor_id: int | None, text: str) -> Incident:
        value = _text(text, "impact", required=True)
        return await self._change(incident_id, actor_id, self._field("impact", value))

    async def set_lead(
        self, incident_id: int, actor_id: int | None, user_id: int | None
    ) -> Incident:
        """Hand the lead to `user_id`, or (None) give it up: the lead reminder then asks
        every `lead_unclaimed_minutes` for someone to claim it."""
        return await self._set_role("lead", incident_id, actor_id, user_id)

    async def set_comms(
        self, incident_id: int, actor_id: int | None, user_id: int | None
    ) -> Incident:
        return await self._set_role("comms", incident_id, actor_id, user_id)

    async def _set_role(
        self, role: str, incident_id: int, actor_id: int | None, user_id: int | None
    ) -> Incident:
        column = f"{role}_id"

        def check(incident: Incident) -> None:
            self._open(incident)
            if getattr(incident, column) == user_id:
                who = "nobody" if user_id is None else f"<@{user_id}>"
                raise UserError(f"{who} is already the {role} of incident #{incident.id}.")

        def apply(row: IncidentRow) -> list[Change]:
            old = getattr(row, column)
            setattr(row, column, user_id)
            return [
                Change(
                    role,
                    None if old is None else str(old),
                    None if user_id is None else str(user_id),
                )
            ]

        incident = await self._change(incident_id, actor_id, apply, check)
        if user_id is not None:
            await self._invite(incident, [user_id])
        return incident

    async def join(self, incident_id: int, user_id: int) -> Incident:
        """`user_id` joins the incident's space. A private incident is joined only by
        invitation (a participant's `invite`)."""
        incident = await self.get(incident_id)
        self._open(incident)
        if incident.private:
            known = {p.user_id for p in await self._db(self.store.participants, incident_id)}
            if user_id not in known:
                raise UserError(
                    f"Incident #{incident.id} is private: ask its lead or a participant to "
                    "invite you (/incident invite)."
                )
        if await self._invite(incident, [user_id]):
            await self.on_event(incident.id, SpaceEvent("member_join", user_id))
        return incident

    async def invite(
        self, incident_id: int, actor_id: int, users: Sequence[int], roles: Sequence[int] = ()
    ) -> Incident:
        """A participant brings more people or roles into the space."""
        incident = await self.get(incident_id)
        self._open(incident)
        known = {p.user_id for p in await self._db(self.store.participants, incident_id)}
        if incident.private and actor_id not in known:
            raise UserError(
                f"Only the people in private incident #{incident.id} can invite others."
            )
        await self._invite(incident, users, roles)
        return incident

    async def _invite(
        self, incident: Incident, users: Sequence[int], roles: Sequence[int] = ()
    ) -> list[int]:
        """Give access to these users (those not in yet) and roles; the users new to it."""
        now = self.clock.now()
        new = [u for u in users if await self._db(self.store.add_participant, incident.id, u, now)]
        if (new or roles) and incident.space is not None:
            await self.spaces.invite(incident, new, roles)
        return new

    async def note(
        self, incident_id: int, actor_id: int | None, text: str, *, action_item: bool = False
    ) -> TimelineEntry:
        """A note (or an action item, for the post-mortem) on the timeline, said in the space."""
        value = _text(text, "note", required=True)
        incident = await self.get(incident_id)
        kind = "action" if action_item else "note"
        entry, _ = await self._db(
            self.store.add_entry, incident_id, kind, actor_id, self.clock.now(), value
        )
        if incident.space is not None:
            try:
                await self.spaces.post(incident, self.messages.notice(entry))
            except Exception as exc:
                log.warning("incident %s: note recorded, not posted (error %s): %s",
                            incident.id, new_error_id(), type(exc).__name__)  # fmt: skip
        return entry

    async def close(self, incident_id: int, actor_id: int | None, resolution: str) -> Incident:
        """Close with a resolution (required): the space is archived and locked."""
        value = _text(resolution, "resolution", most=TEXT_MAX)
        if len(value) < MIN_RESOLUTION:
            raise UserError(
                f"Closing needs a resolution (what fixed it?) of at least {MIN_RESOLUTION} "
                "characters."
            )

        def apply(row: IncidentRow) -> list[Change]:
            old, now = row.status, self.clock.now()
            row.status, row.resolution, row.closed_at = "closed", value, now
            row.identified_at = row.identified_at or now
            row.resolved_at = row.resolved_at or now
            return [Change("status", old, "closed", value)]

        incident = await self._change(incident_id, actor_id, apply, self._open)
        await self._archive(incident, self.spaces.archive)
        return incident

    async def reopen(self, incident_id: int, actor_id: int | None, reason: str) -> Incident:
        """Reopen a closed incident (the reason, at least 10 characters, goes on the
        timeline); the space comes back from the archive."""
        value = _text(reason, "reason", most=TEXT_MAX)
        if len(value) < MIN_REOPEN_REASON:
            raise UserError(f"Reopening needs a reason of at least {MIN_REOPEN_REASON} characters.")

        def check(incident: Incident) -> None:
            if incident.is_open:
                raise UserError(f"Incident #{incident.id} is not closed.")

        def apply(row: IncidentRow) -> list[Change]:
            old = row.status
            row.status, row.closed_at, row.resolved_at, row.resolution = (
                "investigating",
                None,
                None,
                "",
            )
            return [Change("status", old, "investigating", value)]

        incident, entries = await self._db(
            self.store.change, incident_id, actor_id, self.clock.now(), apply, check
        )
        await self._archive(incident, self.spaces.unarchive)  # first: then the notice fits
        await self._after(incident, entries)
        return incident

    async def _archive(
        self, incident: Incident, call: Callable[[Incident], Awaitable[None]]
    ) -> None:
        """Archive or unarchive the space; a failure is logged (the state change stands)."""
        if incident.space is None:
            return
        try:
            await call(incident)
        except Exception as exc:
            log.warning("incident %s: space not (un)archived (error %s): %s: %s",
                        incident.id, new_error_id(), type(exc).__name__, exc)  # fmt: skip

    # ------------------------------------------------------------------ timeline
    async def timeline_add_message(
        self, incident_id: int, actor_id: int | None, message: SpaceMessage
    ) -> TimelineEntry:
        """Add a chat message to the timeline (by reaction or the message command), once:
        adding it again returns the entry it already has (NotFound: no such incident)."""
        entry, _ = await self._db(
            self.store.add_entry, incident_id, "message", actor_id, self.clock.now(),
            message.text[:TEXT_MAX], message,
        )  # fmt: skip
        return entry

    async def timeline_update_message(
        self, message_id: int, text: str, attachments: Sequence[str] = ()
    ) -> int:
        """An edited message: its timeline entries (if any) take the new text."""
        return len(
            await self._db(self.store.update_message, message_id, text[:TEXT_MAX], attachments)
        )

    async def timeline_remove_message(self, message_id: int, incident_id: int | None = None) -> int:
        """A deleted message or a removed reaction: its entries leave the timeline."""
        return await self._db(self.store.remove_message, message_id, incident_id)

    # ------------------------------------------------------------------ close-out
    async def postmortem(self, incident_id: int, actor_id: int | None) -> Postmortem:
        """The post-mortem document, posted as a file into the space (and, with a ticket
        opener wired, a ticket holding it). Stops the post-mortem reminder."""
        incident = await self.get(incident_id)
        now = self.clock.now()
        timeline = await self._db(self.store.timeline, incident_id)
        people = await self._db(self.store.participants, incident_id)
        markdown = render_postmortem(incident, timeline, people, self.messages, now)
        document = Postmortem(filename(incident), markdown, incident.ticket_id)
        if incident.space is not None:
            post = Post(
                body=Own(f"Post-mortem of incident #{incident.id}, requested by <@{actor_id}>.")
            )
            await self.spaces.attach(incident, post, document.filename, markdown.encode())
        if self.postmortem_ticket is not None and incident.ticket_id is None:
            try:
                ticket = await self.postmortem_ticket(incident, markdown)
            except Exception as exc:  # the document is out; the ticket can be asked for again
                error_id = new_error_id()
                log.warning(
                    "incident %s: post-mortem ticket not opened (error %s): %s: %s",
                    incident.id, error_id, type(exc).__name__, exc,
                )  # fmt: skip
                document = dataclasses.replace(document, ticket_error=error_id)
            else:
                if ticket is not None:
                    incident = await self._db(self.store.set_ticket, incident.id, ticket)
                    document = dataclasses.replace(document, ticket_id=ticket)

        def apply(row: IncidentRow) -> list[Change]:
            row.postmortem_at = row.postmortem_at or now
            return []

        await self._change(incident_id, actor_id, apply)
        return document

    # ------------------------------------------------------------------ reminders
    async def snooze(
        self, incident_id: int, kind: str, minutes: int, user_id: int | None
    ) -> dt.datetime:
        if minutes not in SNOOZE_MINUTES:
            raise UserError(f"Snooze for {', '.join(map(str, SNOOZE_MINUTES))} minutes.")
        until = self.clock.now() + dt.timedelta(minutes=minutes)
        if not await self._db(self.store.snooze, incident_id, kind, until):
            raise UserError("That reminder is no longer pending.")
        log.info(
            "incident %s: reminder %s snoozed until %s by %s", incident_id, kind, until, user_id
        )
        return until

    @staticmethod
    def snooze_buttons(kind: str) -> tuple[Button, ...]:
        return tuple(
            Button(f"Snooze {m // 60} h" if m >= 60 else f"Snooze {m} min", f"snooze:{m}:{kind}")
            for m in SNOOZE_MINUTES
        )

    async def _remind(self, incident: Incident, kind: str, count: int) -> bool:
        """Send the `count`-th reminder `kind` of `incident` (raises if the platform fails)."""
        if incident.space is None:
            raise RuntimeError(f"incident {incident.id} has no space yet")
        if kind in OWN_KINDS:
            post = self.messages.reminder(incident, kind, count, self.clock.now())
            await self.spaces.post(incident, post, self.snooze_buttons(kind))
            return True
        note = self.registry.notification(kind)
        if note is None:
            return False
        try:
            await self.registry.run(note.name, note.func, incident, self._context(incident, None))
        except UserError as refused:  # nobody to show it to; sending again would not help
            log.warning("incident %s: notification %s refused: %s", incident.id, kind, refused)
        return True

    # ------------------------------------------------------------------ extensions
    def _context(self, incident: Incident, user_id: int | None) -> _Context:
        return _Context(incident, user_id, self.clock.now(), self.tz, self)

    def commands(self) -> list[CommandHandler]:
        return self.registry.commands()

    async def run_command(
        self, incident_id: int, user_id: int, name: str, text: str = ""
    ) -> str | None:
        """`/incident <name> [text]` of an extension; its reply for the caller."""
        handler = self.registry.command(name)
        if handler is None:
            raise NotFound(f"There is no incident command {name[:40]!r}.")
        return await self._reply(handler.name, handler.func, incident_id, user_id, text, "command")

    def action_prompt(self, action_id: str) -> ActionPrompt | None:
        """What the action asks for before it runs (None: nothing)."""
        handler = self.registry.action(action_id)
        return None if handler is None else handler.asks

    async def act(
        self, incident_id: int, user_id: int, action_id: str, text: str | None = None
    ) -> str | None:
        """A button was clicked: a snooze (`snooze:<minutes>:<kind>`) or an extension's
        action; the reply for the clicker."""
        if action_id.startswith("snooze:"):
            _, minutes, kind = action_id.split(":", 2)
            until = await self.snooze(
                incident_id, kind, int(minutes) if minutes.isdigit() else 0, user_id
            )
            return f"Snoozed until {until.astimezone(self.tz):%H:%M %Z}."
        handler = self.registry.action(action_id)
        if handler is None:
            raise UserError("This button no longer does anything.")
        if handler.asks is not None:
            value = (text or "").strip()
            if not handler.asks.min_length <= len(value) <= handler.asks.max_length:
                raise UserError(
                    f"{handler.asks.label} needs {handler.asks.min_length} to "
                    f"{handler.asks.max_length} characters."
                )
        return await self._reply(handler.name, handler.func, incident_id, user_id, text, "button")

    async def _reply(
        self, name: str, func: Handler, incident_id: int, user_id: int, arg: str | None, what: str
    ) -> str | None:
        """Run a command's or button's handler for `user_id`; its reply (a UserError it
        raises, such as closing a closed incident, goes to the user as any other)."""
        incident = await self.get(incident_id)
        ran = await self.registry.run(name, func, incident, self._context(incident, user_id), arg)
        if not ran.ok:
            return f"That {what} failed (error {ran.error_id})."
        return None if ran.value is None else str(ran.value)

    async def on_message(self, incident_id: int, message: SpaceMessage) -> None:
        """A message in an incident's space: keyword handlers, then `message` events."""
        await self.on_event(
            incident_id, SpaceEvent("message", message.author_id, message, message.message_id)
        )

    async def on_event(self, incident_id: int, event: SpaceEvent) -> None:
        """Something happened in an incident's space: the handlers for it run (a failing
        one is logged and skipped). The incident is read only when some handler runs."""
        message = event.message if event.kind == "message" else None
        keywords = [] if message is None else self.registry.keyword_matches(message.text)
        handlers = self.registry.event_handlers(event.kind)
        if not keywords and not handlers:
            return
        incident = await self.get(incident_id)
        context = self._context(incident, event.user_id)
        for keyword in keywords:
            await self.registry.run(keyword.name, keyword.func, incident, context, message)
        for handler in handlers:
            await self.registry.run(handler.name, handler.func, incident, context, event)
