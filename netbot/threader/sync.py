"""One sync cycle: every enrolled ticket and its Discord thread, both ways, exactly once.

Cost. A cycle with nothing new makes one Redmine request (the enrolled tickets updated since
the cursor: `cf_N=*&status_id=*&updated_on=>=T`) and one Discord request per guild (its
active threads, each with `last_message_id`). Only a ticket whose `updated_on` moved, or a
thread whose `last_message_id` moved, is read further; a thread that left the active list
is fetched once, to see its last message before it was archived.

Exactly once. Every remote write is preceded by a claim row (`store.claim`) naming a token
the write carries (the marker line of `render`). Its result is recorded as a link in the
transaction that deletes the claim. A claim still there at the next look, once older than
`claim_settle_seconds` (so a write still in flight is not taken for a lost one), is
resolved from the remote side: the token found means the write landed (its link is
recorded); not found means it did not (the claim is dropped and the write is made again).
A ticket with a younger claim waits. Discord's cursor (`last_message_id`) moves only past
messages that are linked or skipped, Redmine's past tickets that synced without error.

Failures. Each ticket is synced on its own: an error is recorded on the ticket (shown by
`/ticket sync`), logged once while it repeats (ticket, thread, message ids), and the cycle
goes on with the next ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from netbot import identity
from netbot.core.config import CoreConfig
from netbot.core.db import Database
from netbot.core.errors import BackendUnavailable, NotFound, Refused, UserError
from netbot.core.models import utcnow
from netbot.redmine import ActorRefused
from netbot.threader import render, store
from netbot.threader.config import ThreaderConfig
from netbot.threader.discord_rest import DiscordError, DiscordRest, DiscordUnavailable, Webhook
from netbot.threader.lock import SyncLocks
from netbot.threader.models import ORIGIN_DISCORD, ORIGIN_REDMINE
from netbot.threader.redmine import RedmineSide

log = logging.getLogger(__name__)

T = TypeVar("T")

WEBHOOK_NAME = "netbot threader"
SAME_SECOND = dt.timedelta(seconds=2)  # Redmine's updated_on has one-second resolution
# Discord message types that are people talking: default and reply (not joins, pins...).
CONVERSATION_TYPES = (0, 19)
ARCHIVED = 50083  # Discord's error code: the thread is archived


class ItemFailed(Exception):
    """One message or journal of a ticket failed: names it, for the log line and the
    ticket's last error (which already name the ticket and thread)."""

    def __init__(self, item: str, cause: BaseException) -> None:
        super().__init__(f"{item}: {_why(cause)}")


SYNC_ERRORS = (
    UserError, DiscordError, DiscordUnavailable, SQLAlchemyError, OSError, ItemFailed,
)  # fmt: skip


class SetupProblem(Exception):
    """The threader cannot run as configured (exit code 2): `message` says what to fix."""


class BackendDown(Exception):
    """Redmine or Discord could not be asked what changed: the cycle did nothing (exit 1)."""


class ClaimsPending(Exception):
    """A write of this ticket is still settling; the ticket waits for the next cycle."""


@dataclass
class CycleReport:
    """What one cycle did, for logs, /metrics, the bench and `--once`'s output."""

    ran: bool = True  # False: another threader held the cycle's lock
    redmine_requests: int = 0
    discord_requests: int = 0
    tickets: int = 0  # tickets looked at beyond the listings
    posted: int = 0  # messages posted to Discord
    noted: int = 0  # notes written to Redmine
    edited: int = 0  # notes or messages edited (tombstones included)
    failed: list[int] = field(default_factory=list)
    backlog: int = 0  # tickets left for the next cycle, claims included

    def line(self) -> str:
        return (
            f"cycle: {self.tickets} ticket(s) synced, {self.posted} posted to Discord, "
            f"{self.noted} noted in Redmine, {self.edited} edited, {len(self.failed)} failed, "
            f"backlog {self.backlog}; requests: Redmine {self.redmine_requests}, "
            f"Discord {self.discord_requests}"
        )


@dataclass
class _Work:
    state: store.TicketState
    thread: dict[str, Any] | None
    thread_changed: bool


class Threader:
    """The sync of every enrolled ticket (see the module doc); `cycle()` runs one pass."""

    def __init__(
        self,
        *,
        database: Database,
        redmine: RedmineSide,
        discord: DiscordRest,
        config: ThreaderConfig,
        core: CoreConfig,
        link_url: str,
        locks: SyncLocks,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = database
        self.redmine = redmine
        self.discord = discord
        self.config = config
        self.core = core
        self.link_url = link_url.rstrip("/")
        self.locks = locks
        self.clock = clock
        self.field_id = 0
        self.bot_id = 0
        self._hooks: dict[int, Webhook] = {}
        self._roles: dict[int, dict[int, str]] = {}
        self._channel_names: dict[int, str] = {}
        self._logged: set[tuple[int, str]] = set()

    # --- plumbing ------------------------------------------------------------------------

    async def _r(self, call: Callable[..., T], *args: Any) -> T:
        """A blocking Redmine call, off the event loop."""
        return await asyncio.to_thread(call, *args)

    async def _d(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A blocking database call, off the event loop."""
        return await asyncio.to_thread(call, self.db, *args, **kwargs)

    async def prepare(self) -> None:
        """Read what every cycle needs once: the thread field's id, who the bot is, the
        statuses. SetupProblem when the configuration cannot work, BackendDown when a
        backend did not answer."""
        try:
            field_id = await self._r(self.redmine.field_id, self.config.thread_field)
            await self._r(self.redmine.statuses)
            me = await self.discord.me()
        except BackendUnavailable as exc:
            raise BackendDown(exc.message) from None
        except DiscordUnavailable as exc:
            raise BackendDown(str(exc)) from None
        except DiscordError as exc:
            if exc.status == 401:
                raise SetupProblem("Discord refused DISCORD_TOKEN (401)") from None
            raise BackendDown(str(exc)) from None
        if field_id is None:
            raise SetupProblem(
                f"Redmine has no issue custom field named {self.config.thread_field!r} "
                "(threader.thread_field): create it (a text field, used as a filter)"
            )
        self.field_id, self.bot_id = field_id, int(me["id"])

    def _log_once(self, ticket_id: int, message: str) -> None:
        """One warning per (ticket, message) for the process's life (0: not a ticket's)."""
        if (ticket_id, message) not in self._logged:
            self._logged.add((ticket_id, message))
            where = f"ticket {ticket_id}: " if ticket_id else ""
            log.warning("threader: %s%s", where, message)

    # --- the cycle -----------------------------------------------------------------------

    async def cycle(self, *, recheck: bool = False) -> CycleReport:
        """One pass over every enrolled ticket; BackendDown when nothing could be listed."""
        if not self.field_id:
            await self.prepare()
        report = CycleReport()
        redmine_before, discord_before = self.redmine.requests, self.discord.requests
        if not await self.locks.cycle():
            report.ran = False
            return report
        try:
            cycles = await self._d(store.count_cycle)
            every = self.config.recheck_every_cycles
            recheck = recheck or (every > 0 and cycles % every == 0)
            await self._cycle(report, recheck)
        finally:
            await self.locks.end_cycle()
            report.redmine_requests = self.redmine.requests - redmine_before
            report.discord_requests = self.discord.requests - discord_before
        return report

    async def _cycle(self, report: CycleReport, recheck: bool) -> None:
        since = await self._d(store.cursor)
        try:
            pages = await self._r(lambda: list(self.redmine.changed(self.field_id, since)))
            changed = {int(issue["id"]): issue for page in pages for issue in page}
            states = await self._d(store.tickets)
            guilds = {*self.core.guilds, *(s.guild_id for s in states.values())}
            active: dict[int, dict[str, Any]] = {}
            for guild_id in sorted(guilds):
                for found in await self._active_threads(guild_id):
                    active[int(found["id"])] = found
        except BackendUnavailable as exc:
            raise BackendDown(exc.message) from None
        except (DiscordUnavailable, DiscordError) as exc:
            raise BackendDown(str(exc)) from None
        for ticket_id, issue in changed.items():
            try:
                await self._enrol(issue, states.get(ticket_id), active)
            except Refused as exc:  # fixed only by editing the ticket, which moves the cursor
                self._log_once(ticket_id, f"not enrolled: {exc.message}")
            except SYNC_ERRORS as exc:
                self._log_once(ticket_id, f"enrolment failed: {_why(exc)}")
                report.failed.append(ticket_id)
        states = await self._d(store.tickets)
        open_claims = {claim.ticket_id for claim in await self._d(store.claims)}
        work: list[_Work] = []
        for ticket_id, state in sorted(states.items()):
            thread = active.get(state.thread_id)
            if thread is not None and not state.active:  # unarchived: watch it leave again
                await self._d(store.set_ticket, ticket_id, active=True)
            if thread is None and state.active:
                try:
                    thread = await self._left_active(state)
                except SYNC_ERRORS as exc:
                    thread = None
                    await self._failed(state, exc)
                if thread is None:  # deleted, or unreadable: recorded on the ticket
                    report.failed.append(ticket_id)
                    continue
            todo = _work(state, changed.get(ticket_id), thread, ticket_id in open_claims, recheck)
            if todo is not None:
                work.append(todo)
        limit = self.config.max_tickets_per_cycle
        report.backlog = max(0, len(work) - limit)
        skipped = {item.state.ticket_id for item in work[limit:]}
        for item in work[:limit]:
            ticket_id = item.state.ticket_id
            if not await self.locks.ticket(ticket_id):
                skipped.add(ticket_id)
                continue
            try:
                # Another threader may have synced it since the listing: decide again on
                # the state as it is now, under the lock.
                fresh = await self._d(store.ticket, ticket_id)
                claims = await self._d(store.claims, ticket_id)
                current = None if fresh is None else _work(
                    fresh, changed.get(ticket_id), item.thread, bool(claims), recheck
                )  # fmt: skip
                if current is not None:
                    await self._sync_ticket(current, claims, report, recheck)
                    report.tickets += 1
            except ClaimsPending:
                skipped.add(ticket_id)
            except SYNC_ERRORS as exc:
                report.failed.append(ticket_id)
                await self._failed(item.state, exc)
            finally:
                await self.locks.release(ticket_id)
        report.backlog += len(skipped) + await self._d(store.pending_count)
        behind = [str(changed[t]["updated_on"]) for t in {*report.failed, *skipped} if t in changed]
        stamps = [str(issue["updated_on"]) for issue in changed.values()]
        new_cursor = min(behind) if behind else max([since, *stamps])
        if new_cursor != since:
            await self._d(store.set_cursor, new_cursor)

    async def _active_threads(self, guild_id: int) -> list[dict[str, Any]]:
        """The guild's active threads; none (logged once) for a guild the bot cannot read,
        e.g. one it is not in: that guild's tickets wait, the others sync."""
        try:
            return await self.discord.active_threads(guild_id)
        except DiscordError as exc:
            if exc.status not in (403, 404):
                raise
            self._log_once(0, f"guild {guild_id} skipped: {exc}")
            return []

    async def _failed(self, state: store.TicketState, exc: BaseException) -> None:
        message = _why(exc)
        try:
            new = await self._d(store.failed, state.ticket_id, message)
        except SQLAlchemyError:
            new = True
        if new:
            log.warning(
                "threader: ticket %d (thread %d) failed: %s",
                state.ticket_id, state.thread_id, message,
            )  # fmt: skip

    async def _left_active(self, state: store.TicketState) -> dict[str, Any] | None:
        """A thread missing from the active list: archived (read it once, for messages
        posted before it was archived) or deleted."""
        thread = await self.discord.channel(state.thread_id)
        if thread is None:
            await self._d(store.set_ticket, state.ticket_id, active=False)
            await self._failed(
                state, Refused(f"thread {state.thread_id} no longer exists in Discord")
            )
            return None
        archived = bool((thread.get("thread_metadata") or {}).get("archived"))
        if archived:
            await self._d(store.set_ticket, state.ticket_id, active=False)
        return thread

    # --- enrolment -----------------------------------------------------------------------

    async def _enrol(
        self, issue: dict[str, Any], state: store.TicketState | None, active: dict[int, Any]
    ) -> None:
        """Follow the ticket's `discord-thread` field: a thread id enrols it (a new id moves
        it), the create value opens its thread first."""
        ticket_id = int(issue["id"])
        value = _field(issue, self.field_id).strip()
        if value.isdigit():
            thread_id = int(value)
            if state is not None and state.thread_id == thread_id:
                return
            thread = active.get(thread_id) or await self.discord.channel(thread_id)
            if thread is None or "thread_metadata" not in thread:
                raise Refused(f"its {self.config.thread_field} names {value}, which is no thread")
            guild_id = int(thread.get("guild_id") or 0)
            if guild_id not in self.core.guilds:
                raise Refused(f"thread {value} is not in a guild on the allow-list")
            await self._d(store.enrol, ticket_id, thread_id, guild_id, int(thread["parent_id"]))
        elif value.lower() == self.config.create_value.lower():
            await self._create_thread(issue, state, active)
        elif value:
            raise Refused(
                f"its {self.config.thread_field} is {value[:40]!r}: neither a thread id nor "
                f"{self.config.create_value!r}"
            )

    def _channel_for(self, issue: dict[str, Any]) -> int | None:
        tracker = str((issue.get("tracker") or {}).get("name", ""))
        if tracker in self.config.tracker_channels:
            return self.config.tracker_channels[tracker]
        assignee = str((issue.get("assigned_to") or {}).get("name", ""))
        team = next((t for t in self.core.teams if t.name == assignee and t.channels), None)
        if team is not None:
            return team.channels[0]
        return self.config.default_channel

    async def _create_thread(
        self, issue: dict[str, Any], state: store.TicketState | None, active: dict[int, Any]
    ) -> None:
        """Open the ticket's thread (claimed: a crash never opens two), enrol it, then write
        its id into the ticket's field."""
        ticket_id = int(issue["id"])
        if state is None:
            channel_id = self._channel_for(issue)
            if channel_id is None:
                raise Refused(
                    "it asks for a thread, but no channel is configured for its tracker or "
                    "team (threader.tracker_channels, teams, threader.default_channel)"
                )
            name = f"#{ticket_id} {issue.get('subject', '')}"[:100]
            claims = [c for c in await self._d(store.claims, ticket_id) if c.kind == "thread"]
            thread = None
            for claim in claims:
                thread = next(
                    (t for t in active.values()
                     if int(t.get("parent_id") or 0) == channel_id
                     and int(t.get("owner_id") or 0) == self.bot_id
                     and str(t.get("name", "")).startswith(claim.token)),
                    None,
                )  # fmt: skip
                if thread is None and not self._settled(claim):
                    return  # the creation may still be in flight
                await self._d(store.settle, claim.id)
            created = None
            if thread is None:
                created = await self._d(
                    store.claim, ticket_id, 0, "thread", ticket_id, f"#{ticket_id} "
                )
                thread = await self.discord.create_thread(channel_id, name)
            guild_id = int(thread.get("guild_id") or 0)
            await self._d(store.enrol, ticket_id, int(thread["id"]), guild_id, channel_id)
            if created is not None:  # the claims read above are settled already
                await self._d(store.settle, created.id)
            thread_id = int(thread["id"])
        else:
            thread_id = state.thread_id
        await self._r(self.redmine.set_field, ticket_id, self.field_id, str(thread_id))

    def _settled(self, claim: store.Claim) -> bool:
        age = self.clock() - claim.created_at
        return age.total_seconds() >= self.config.claim_settle_seconds

    # --- one ticket ----------------------------------------------------------------------

    async def _sync_ticket(
        self, item: _Work, claims: list[store.Claim], report: CycleReport, recheck: bool
    ) -> None:
        """Sync one ticket; `claims` are its open claims, read under its lock."""
        state = item.state
        if any(not self._settled(c) for c in claims):
            raise ClaimsPending
        issue = await self._r(self.redmine.issue, state.ticket_id)
        thread_last = int((item.thread or {}).get("last_message_id") or 0)
        if claims:
            await self._resolve(state, claims, issue)
        links = await self._d(store.links, state.ticket_id)
        posted = await self._redmine_to_discord(state, issue, links, thread_last, report)
        cursor = state.last_message_id
        if item.thread_changed or recheck:
            # Still current for Discord's links: Redmine to Discord writes only its own.
            cursor = await self._discord_to_redmine(state, links, report)
        statuses = await self._r(self.redmine.statuses)
        closed = statuses.get(int(issue["status"]["id"]), ("", False))[1]
        # Posting into an archived thread unarchives it; Discord refuses to archive an
        # archived thread again (50083).
        if item.thread is not None:
            archived = bool((item.thread.get("thread_metadata") or {}).get("archived"))
        else:  # not listed as active since it left the list: archived
            archived = not state.active
        archived = archived and not posted
        if closed and (closed != state.closed or posted) and not archived:
            await self.discord.set_archived(state.thread_id, True)
        elif not closed and state.closed and archived:
            await self.discord.set_archived(state.thread_id, False)
        stamp = str(issue["updated_on"])
        now = self.clock()
        seen_at = state.updated_seen_at
        if stamp != state.updated_on:
            seen_at = now
        elif seen_at is not None and now - seen_at >= SAME_SECOND:
            seen_at = None
        await self._d(
            store.synced, state.ticket_id, updated_on=stamp, updated_seen_at=seen_at,
            closed=closed, last_message_id=cursor,
        )  # fmt: skip

    async def _resolve(
        self, state: store.TicketState, claims: list[store.Claim], issue: dict[str, Any]
    ) -> None:
        """Settle claims left by an earlier run from what the remote side shows."""
        messages: list[dict[str, Any]] | None = None
        for claim in claims:
            link = None
            if claim.kind == "note":
                journal = _journal_with(issue, claim.token)
                if journal is not None:
                    link = store.Link(
                        int(journal["id"]), claim.source_id, state.ticket_id, state.thread_id,
                        ORIGIN_DISCORD, claim.part, claim.source_hash, False,
                    )  # fmt: skip
            elif claim.kind == "post":
                if messages is None:
                    messages, _ = await self.discord.messages_since(
                        state.thread_id, claim.after_id or 0
                    )
                found = next(
                    (m for m in messages
                     if m.get("webhook_id") and claim.token in str(m.get("content", ""))),
                    None,
                )  # fmt: skip
                if found is not None:
                    link = store.Link(
                        claim.source_id, int(found["id"]), state.ticket_id, state.thread_id,
                        ORIGIN_REDMINE, claim.part, claim.source_hash, False,
                    )  # fmt: skip
            else:
                continue
            await self._d(store.settle, claim.id, link)
            log.info(
                "threader: ticket %d: claim %s %d part %d resolved: %s",
                state.ticket_id, claim.kind, claim.source_id, claim.part,
                "it landed" if link else "it did not land, writing again",
            )  # fmt: skip

    # --- Redmine to Discord --------------------------------------------------------------

    async def _hook(self, parent_id: int) -> Webhook:
        if parent_id not in self._hooks:
            self._hooks[parent_id] = await self.discord.webhook_for(parent_id, WEBHOOK_NAME)
        return self._hooks[parent_id]

    async def _redmine_to_discord(
        self,
        state: store.TicketState,
        issue: dict[str, Any],
        links: list[store.Link],
        after_id: int,
        report: CycleReport,
    ) -> bool:
        """Post each new journal, carry note edits over, tombstone deleted notes; whether
        anything was posted. `links` are the ticket's, as they are now."""
        from_discord = {link.journal_id for link in links if link.origin == ORIGIN_DISCORD}
        posts: dict[int, list[store.Link]] = {}
        for link in links:
            if link.origin == ORIGIN_REDMINE:
                posts.setdefault(link.journal_id, []).append(link)
        journals = sorted(issue.get("journals") or [], key=lambda j: int(j["id"]))
        people = {
            int(value)
            for j in journals
            for d in j.get("details") or []
            if d.get("name") == "assigned_to_id"
            for value in (d.get("old_value"), d.get("new_value"))
            if value and str(value).isdigit()
        }
        names = await self._r(self.redmine.names, people)
        attachments = {int(a["id"]): a for a in issue.get("attachments") or []}
        staff = state.parent_id in self.config.staff_only_channels
        posted = False
        for journal in journals:
            journal_id = int(journal["id"])
            if journal_id in from_discord:
                continue
            parts = render.journal_parts(
                journal, ticket_id=state.ticket_id, base_url=self.link_url, names=names,
                attachments=attachments, include_private=staff,
            )  # fmt: skip
            source = render.digest(journal.get("notes") or "", journal.get("private_notes"))
            existing = posts.get(journal_id, [])
            same = bool(existing) and existing[0].source_hash == source
            if (same and len(existing) >= len(parts)) or (not parts and not existing):
                continue  # (a crash between two parts leaves `same` with parts missing)
            hook = await self._hook(state.parent_id)
            if not parts:  # its text was removed and nothing else is left to show
                parts = [render.tombstone_parts(self.link_url, state.ticket_id, journal_id)]
            for extra in existing[len(parts) :]:  # an edit made it shorter
                await self.discord.delete_webhook_message(hook, state.thread_id, extra.message_id)
                await self._d(store.drop_link, journal_id, extra.message_id)
            author = render.webhook_name(str((journal.get("user") or {}).get("name", "")))
            for index, content in enumerate(parts):
                if index < len(existing):
                    if same:
                        continue
                    await self._edit_post(
                        hook, state.thread_id, existing[index].message_id, content
                    )
                    await self._d(
                        store.set_link, journal_id, existing[index].message_id, source_hash=source
                    )
                    report.edited += 1
                    continue
                token = content.rsplit("\n", 1)[-1]
                claim = await self._d(
                    store.claim, state.ticket_id, state.thread_id, "post", journal_id, token,
                    part=index, after_id=after_id, source_hash=source,
                )  # fmt: skip
                try:
                    message = await self._post(hook, state.thread_id, content, author)
                except SYNC_ERRORS as exc:
                    raise ItemFailed(f"journal {journal_id}", exc) from exc
                link = store.Link(
                    journal_id, int(message["id"]), state.ticket_id, state.thread_id,
                    ORIGIN_REDMINE, index, source, False,
                )  # fmt: skip
                await self._d(store.settle, claim.id, link)
                report.posted += 1
                posted = True
        current = {int(j["id"]) for j in journals}
        for journal_id, existing in posts.items():
            if journal_id not in current and not existing[0].tombstone:
                hook = await self._hook(state.parent_id)
                text = render.tombstone_parts(self.link_url, state.ticket_id, journal_id)
                await self._edit_post(hook, state.thread_id, existing[0].message_id, text)
                await self._d(store.set_link, journal_id, existing[0].message_id, tombstone=True)
                report.edited += 1
        return posted

    async def _post(
        self, hook: Webhook, thread_id: int, content: str, author: str
    ) -> dict[str, Any]:
        """Post in the thread as `author`. A post unarchives an archived thread itself, but
        not a locked one: that one the bot opens first (the lock stays)."""
        post = functools.partial(self.discord.execute_webhook, hook, thread_id, content, author)
        return await self._despite_archive(thread_id, post, archive_again=False)

    async def _edit_post(
        self, hook: Webhook, thread_id: int, message_id: int, content: str
    ) -> None:
        """Edit a posted message; in an archived thread the thread is opened for the edit and
        archived again."""
        edit = functools.partial(
            self.discord.edit_webhook_message, hook, thread_id, message_id, content
        )
        await self._despite_archive(thread_id, edit, archive_again=True)

    async def _despite_archive(
        self, thread_id: int, write: Callable[[], Awaitable[T]], *, archive_again: bool
    ) -> T:
        """`write` in the thread. Discord refuses it with 50083 in an archived thread (an edit
        always, a post when the thread is locked): the bot (Manage Threads) unarchives the
        thread, writes again and, with `archive_again`, archives it again."""
        try:
            return await write()
        except DiscordError as exc:
            if exc.code != ARCHIVED:
                raise
        await self.discord.set_archived(thread_id, False)
        result = await write()
        if archive_again:
            await self.discord.set_archived(thread_id, True)
        return result

    # --- Discord to Redmine --------------------------------------------------------------

    async def _discord_to_redmine(
        self, state: store.TicketState, links: list[store.Link], report: CycleReport
    ) -> int:
        """Note each new message; carry edits and deletes over for the messages read.
        Returns the new message cursor. Of `links` only the Discord-origin ones are used."""
        messages, complete = await self.discord.messages_since(
            state.thread_id, state.last_message_id
        )
        noted: dict[int, list[store.Link]] = {}
        for link in links:
            if link.origin == ORIGIN_DISCORD:
                noted.setdefault(link.message_id, []).append(link)
        cursor = state.last_message_id
        claims: list[tuple[store.Claim, int]] = []
        for message in messages:
            message_id = int(message["id"])
            if message_id <= state.last_message_id or message_id in noted:
                continue
            if self._skip(message):
                if not claims:
                    cursor = message_id
                continue
            try:
                claim = await self._note(state, message)
            except SYNC_ERRORS as exc:
                raise ItemFailed(f"message {message_id}", exc) from exc
            claims.append((claim, message_id))
            report.noted += 1
        if claims:
            issue = await self._r(self.redmine.issue, state.ticket_id)
            for claim, message_id in claims:
                journal = _journal_with(issue, claim.token)
                if journal is None:  # answered 204 but not there: resolved at the next look
                    break
                link = store.Link(
                    int(journal["id"]), message_id, state.ticket_id, state.thread_id,
                    ORIGIN_DISCORD, 0, claim.source_hash, False,
                )  # fmt: skip
                await self._d(store.settle, claim.id, link, last_message_id=message_id)
                cursor = max(cursor, message_id)
            else:
                cursor = max([cursor, *(int(m["id"]) for m in messages)])
        elif messages:
            cursor = max([cursor, *(int(m["id"]) for m in messages)])
        await self._edits_and_deletes(state, messages, complete, noted, report)
        return cursor

    def _skip(self, message: dict[str, Any]) -> bool:
        """Bot and webhook messages (the threader's own posts among them) and system
        messages are never copied."""
        author = message.get("author") or {}
        return bool(
            message.get("webhook_id")
            or author.get("bot")
            or int(message.get("type", 0)) not in CONVERSATION_TYPES
        )

    async def _author(self, message: dict[str, Any]) -> tuple[str | None, str]:
        author = message.get("author") or {}
        login = await self._d(identity.approved_login, int(author["id"]))
        return login, render.display_name(author, message.get("member"))

    async def _names(
        self, guild_id: int, message: dict[str, Any]
    ) -> tuple[dict[int, str], dict[int, str]]:
        """Role and channel names for the mentions in `message` (asked once each)."""
        content = str(message.get("content") or "")
        if render.ROLE_MENTION.search(content) and guild_id not in self._roles:
            roles = await self.discord.request("GET", f"/guilds/{guild_id}/roles")
            self._roles[guild_id] = {int(r["id"]): str(r["name"]) for r in roles}
        for match in render.CHANNEL_MENTION.finditer(content):
            channel_id = int(match.group(1))
            if channel_id not in self._channel_names:
                found = await self.discord.channel(channel_id)
                self._channel_names[channel_id] = str((found or {}).get("name") or "channel")
        return self._roles.get(guild_id, {}), self._channel_names

    async def _note(self, state: store.TicketState, message: dict[str, Any]) -> store.Claim:
        """Write the message as a note (claimed), as its linked author when Redmine lets it,
        else as the bot's account with a line saying who wrote it and why."""
        login, name = await self._author(message)
        why = None
        uploads, linked = [], []
        for item in message.get("attachments") or []:
            if int(item.get("size", 0)) > self.config.max_upload_bytes:
                linked.append(item)
                continue
            try:
                data = await self.discord.download(str(item["url"]), self.config.max_upload_bytes)
            except (DiscordError, aiohttp.ClientError) as exc:  # e.g. expired on the CDN
                self._log_once(state.ticket_id, f"message {message['id']}: {exc}")
                data = None
            if data is None:  # unreadable, or larger than it said: linked instead
                linked.append(item)
                continue
            filename = str(item.get("filename", "file"))
            try:
                try:
                    token = await self._r(self.redmine.upload, data, filename, login)
                except ActorRefused as exc:
                    login, why = None, _reason(exc)
                    token = await self._r(self.redmine.upload, data, filename, None)
            except Refused:  # 422: larger than Redmine's attachment_max_size
                linked.append(item)
                continue
            uploads.append({"token": token, "filename": filename,
                            "content_type": str(item.get("content_type") or "application/octet-stream")})  # fmt: skip
        roles, channels = await self._names(state.guild_id, message)

        def text(as_login: str | None, reason: str | None) -> str:
            attribution = None if as_login else render.attribution_line(name, reason)
            return render.note_text(
                message, guild_id=state.guild_id, attribution=attribution, linked_files=linked,
                roles=roles, channels=channels,
            )  # fmt: skip

        marker = render.message_marker(state.guild_id, state.thread_id, int(message["id"]))
        claim = await self._d(
            store.claim, state.ticket_id, state.thread_id, "note", int(message["id"]), marker,
            source_hash=render.message_hash(message),
        )  # fmt: skip
        try:
            await self._r(self.redmine.add_note, state.ticket_id, text(login, why), login, uploads)
        except ActorRefused as exc:
            self._log_once(state.ticket_id, f"message {message['id']}: {exc.message}")
            await self._r(
                self.redmine.add_note, state.ticket_id, text(None, _reason(exc)), None, uploads
            )
        return claim

    async def _edits_and_deletes(
        self,
        state: store.TicketState,
        messages: list[dict[str, Any]],
        complete: bool,
        noted: dict[int, list[store.Link]],
        report: CycleReport,
    ) -> None:
        """For the messages read: an edited one updates its note, a missing one (within the
        range read) leaves a tombstone."""
        if not messages and not complete:
            return
        seen = {int(m["id"]): m for m in messages}
        oldest = min(seen) if seen else 0
        for message_id, linked in noted.items():
            first = min(linked, key=lambda link: link.part)
            latest = max(linked, key=lambda link: link.part)
            if first.tombstone:
                continue
            message = seen.get(message_id)
            if message is None:
                if complete or message_id > oldest:
                    text = render.tombstone_note(state.guild_id, state.thread_id, message_id)
                    await self._r(self.redmine.edit_note, first.journal_id, text, None)
                    await self._d(store.set_link, first.journal_id, message_id, tombstone=True)
                    report.edited += 1
                continue
            source = render.message_hash(message)
            if source == latest.source_hash:
                continue
            login, name = await self._author(message)
            roles, channels = await self._names(state.guild_id, message)
            text = render.note_text(
                message, guild_id=state.guild_id,
                attribution=None if login else render.attribution_line(name), linked_files=[],
                roles=roles, channels=channels,
            )  # fmt: skip
            try:
                try:
                    await self._r(self.redmine.edit_note, first.journal_id, text, login)
                except ActorRefused:
                    await self._r(self.redmine.edit_note, first.journal_id, text, None)
            except (NotFound, Refused):
                await self._follow_up(state, message, latest.part + 1, text, login)
                report.noted += 1
                continue
            await self._d(store.set_link, first.journal_id, message_id, source_hash=source)
            report.edited += 1

    async def _follow_up(
        self,
        state: store.TicketState,
        message: dict[str, Any],
        edit: int,
        text: str,
        login: str | None,
    ) -> None:
        """Where Redmine refuses to edit a note: a new note, marked as the message's edit."""
        marker = render.message_marker(state.guild_id, state.thread_id, int(message["id"]), edit)
        text = text.rsplit("\n\n", 1)[0] + "\n\n" + marker
        claim = await self._d(
            store.claim, state.ticket_id, state.thread_id, "note", int(message["id"]), marker,
            part=edit, source_hash=render.message_hash(message),
        )  # fmt: skip
        try:
            await self._r(self.redmine.add_note, state.ticket_id, text, login, [])
        except ActorRefused:
            await self._r(self.redmine.add_note, state.ticket_id, text, None, [])
        issue = await self._r(self.redmine.issue, state.ticket_id)
        journal = _journal_with(issue, marker)
        if journal is not None:
            link = store.Link(
                int(journal["id"]), int(message["id"]), state.ticket_id, state.thread_id,
                ORIGIN_DISCORD, edit, claim.source_hash, False,
            )  # fmt: skip
            await self._d(store.settle, claim.id, link)


def _work(
    state: store.TicketState,
    listed: dict[str, Any] | None,
    thread: dict[str, Any] | None,
    claimed: bool,
    recheck: bool,
) -> _Work | None:
    """What there is to do for a ticket: None when nothing changed on either side (its
    listing by Redmine, its thread's last message) and nothing is claimed or rechecked."""
    stamp = str(listed["updated_on"]) if listed else state.updated_on
    issue_changed = listed is not None and (
        stamp != state.updated_on or state.updated_seen_at is not None
    )
    thread_changed = int((thread or {}).get("last_message_id") or 0) > state.last_message_id
    if issue_changed or thread_changed or claimed or (recheck and not state.closed):
        return _Work(state, thread, thread_changed)
    return None


def _field(issue: dict[str, Any], field_id: int) -> str:
    for item in issue.get("custom_fields") or []:
        if int(item.get("id", 0)) == field_id:
            return str(item.get("value") or "")
    return ""


def _journal_with(issue: dict[str, Any], token: str) -> dict[str, Any] | None:
    """The journal whose note carries `token` as a whole line."""
    for journal in issue.get("journals") or []:
        if token in str(journal.get("notes") or "").split("\n"):
            return dict(journal)
    return None


def _reason(exc: ActorRefused) -> str:
    return exc.message.rstrip(".")


def _why(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return exc.message
    if isinstance(exc, ItemFailed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def run_every(
    threader: Threader,
    period: float,
    stop: asyncio.Event,
    on_cycle: Callable[[CycleReport | None, BaseException | None], Awaitable[None]],
) -> None:
    """Cycles every `period` seconds until `stop` is set; a backend outage is reported to
    `on_cycle` and retried at the next period, never ends the loop."""
    while not stop.is_set():
        try:
            report = await threader.cycle()
        except (BackendDown, SetupProblem) as exc:
            await on_cycle(None, exc)
        else:
            await on_cycle(report, None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period)
