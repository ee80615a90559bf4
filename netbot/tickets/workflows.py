"""Ticket workflows that span Redmine, netbot's database and the chat platform.

Opening a ticket's thread and linking a Discord account each take several steps over several
backends, and each step can fail; the order and the compensation (what is undone when a later
step fails) are the rules here. They take ids and data, never Discord objects: what only the
chat platform can do (open, find, reopen or delete a thread) is a `ThreadPort` the caller
provides, and how blocking calls are run (off the event loop, on which workers, recording
which health) is `Backends`. So the bot's cog and, later, the threader with its own REST
client run the very same steps.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from netbot import identity
from netbot.core.db import Database
from netbot.core.errors import BackendUnavailable, Refused, UserError
from netbot.redmine import OutcomeUnknown
from netbot.tickets import threads
from netbot.tickets.records import TicketDetail
from netbot.tickets.service import TicketService

T = TypeVar("T")

ONLY_ADMINS_LINK_OTHERS = "Only admins can link someone else."
ONLY_ADMINS_UNLINK_OTHERS = "Only admins can unlink someone else."
ONLY_ADMINS_DECIDE = "Only admins can approve or deny link requests."


class Backends(Protocol):
    """How the workflows' blocking calls run: each backend's on its own workers."""

    async def redmine(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking Redmine call (a `TicketService` method)."""
        ...

    async def database(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking call on netbot's database."""
        ...


@dataclass(frozen=True)
class FoundThread:
    """A thread the chat platform still has (archived or not)."""

    id: int
    archived: bool


class ThreadPort(Protocol):
    """What opening a ticket's thread needs of the chat platform."""

    def check_place(self) -> None:
        """Raise UserError if no thread can be opened where it was asked for."""
        ...

    async def fetch(self, thread_id: int) -> FoundThread | None:
        """The thread, archived ones included; None if it no longer exists."""
        ...

    async def unarchive(self, thread_id: int) -> None:
        """Open an archived thread again."""
        ...

    async def create(self, ticket_id: int, subject: str) -> int:
        """Open a new thread for the ticket (named after it); returns the thread's id."""
        ...

    async def delete(self, thread_id: int, why: str) -> None:
        """Delete a thread just opened whose recording failed (`why`: "Redmine refused to
        link", ...)."""
        ...


@dataclass(frozen=True)
class OpenedThread:
    """The ticket's thread after `ThreadWorkflow.open`."""

    thread_id: int
    ticket: TicketDetail  # as read before the thread was opened
    created: bool  # False: the thread the ticket already had
    reopened: bool  # it was archived and is open again


@dataclass(frozen=True)
class Opener:
    """Where a thread is asked for, and by whom (recorded with the thread)."""

    guild_id: int
    channel_id: int
    user_id: int


class ThreadWorkflow:
    """Open a ticket's thread, or reuse the one it has: never a second one.

    A new thread is recorded in the database before Redmine's `discord-thread` field is
    written; if either fails, the thread is deleted again (and the record dropped), so a retry
    starts clean. `known` ({thread id: ticket id}) is kept up to date for autocomplete.
    """

    def __init__(
        self,
        service: TicketService,
        database: Database,
        backends: Backends,
        known: MutableMapping[int, int],
    ) -> None:
        self.service = service
        self.database = database
        self.backends = backends
        self.known = known

    async def open(self, actor: str, ticket_id: int, port: ThreadPort, by: Opener) -> OpenedThread:
        """The ticket's thread: the recorded one if it still exists, else a new one."""
        redmine, database = self.backends.redmine, self.backends.database
        ticket = await redmine(self.service.show, actor, ticket_id)
        port.check_place()
        existing = await self._recorded(ticket_id, port)
        if existing is not None:
            if existing.archived:
                await port.unarchive(existing.id)
            if ticket.thread_id != str(existing.id):  # e.g. an earlier write's answer was lost
                await redmine(self.service.link_thread, actor, ticket_id, existing.id)
            self.known[existing.id] = ticket_id
            return OpenedThread(existing.id, ticket, created=False, reopened=existing.archived)
        thread_id = await port.create(ticket.id, ticket.subject)
        try:
            await database(
                threads.record_thread, self.database, ticket_id, thread_id,
                by.guild_id, by.channel_id, by.user_id,
            )  # fmt: skip
        except SQLAlchemyError as exc:
            await port.delete(thread_id, "netbot's database did not save")
            raise BackendUnavailable(
                f"netbot's database did not save the thread ({type(exc).__name__}: locked or "
                "read-only?); the thread was removed and nothing was changed. Try again later."
            ) from exc
        try:
            await redmine(self.service.link_thread, actor, ticket_id, thread_id)
        except OutcomeUnknown:
            # Thread and record stay: a retry finds them and writes Redmine's field again.
            self.known[thread_id] = ticket_id
            raise
        except UserError:
            await database(threads.forget_thread, self.database, ticket_id, thread_id)
            await port.delete(thread_id, "Redmine refused to link")
            raise
        self.known[thread_id] = ticket_id
        return OpenedThread(thread_id, ticket, created=True, reopened=False)

    async def _recorded(self, ticket_id: int, port: ThreadPort) -> FoundThread | None:
        """The ticket's recorded thread, or None if there is none or it was deleted."""
        thread_id = await self.backends.database(
            threads.thread_for_ticket, self.database, ticket_id
        )
        return None if thread_id is None else await port.fetch(thread_id)


class Linked(Enum):
    """What `LinkWorkflow.link` did."""

    LINKED = "linked"  # an admin linked the account at once
    ALREADY = "already"  # the account already acts as that login
    REQUESTED = "requested"  # a request waits for an admin's button


@dataclass(frozen=True)
class LinkOutcome:
    """The login a link names, what was done, and the request's id when one waits."""

    login: str
    done: Linked
    request_id: str | None = None


def check_decider(is_admin: bool) -> None:
    """Only admins approve or deny link requests."""
    if not is_admin:
        raise Refused(ONLY_ADMINS_DECIDE)


class LinkWorkflow:
    """Who may act as which Redmine login, and who may decide it.

    Admins link anyone at once; anyone else asks for themselves, and an admin approves the very
    request shown (its id). A Redmine administrator's login, or the login owning netbot's
    key, is never approvable by button (asked of Redmine when asked and again at approval):
    an admin links those directly.
    """

    def __init__(self, service: TicketService, database: Database, backends: Backends) -> None:
        self.service = service
        self.database = database
        self.backends = backends

    async def link(
        self, requester_id: int, target_id: int, login: str, *, requester_is_admin: bool
    ) -> LinkOutcome:
        """Link `target_id` to `login` (an admin), or ask to (anyone, for themselves)."""
        redmine, database = self.backends.redmine, self.backends.database
        if requester_is_admin:
            person = await redmine(self.service.link_target, login)
            await database(identity.set_link, self.database, target_id, person.login, requester_id)
            return LinkOutcome(person.login, Linked.LINKED)
        if target_id != requester_id:
            raise Refused(ONLY_ADMINS_LINK_OTHERS)
        # Administrators and netbot's own account are refused here: never offered to a button.
        person = await redmine(self.service.button_linkable, login)
        request = await database(identity.request_link, self.database, target_id, person.login)
        if request.approved:
            return LinkOutcome(person.login, Linked.ALREADY)
        return LinkOutcome(person.login, Linked.REQUESTED, request.request_id)

    async def unlink(self, requester_id: int, target_id: int, *, requester_is_admin: bool) -> bool:
        """Remove a link (one's own; admins: anyone's); False if there was none."""
        if target_id != requester_id and not requester_is_admin:
            raise Refused(ONLY_ADMINS_UNLINK_OTHERS)
        return await self.backends.database(identity.remove_link, self.database, target_id)

    async def approve(
        self, user_id: int, request_id: str, approver_id: int, *, approver_is_admin: bool
    ) -> identity.Link:
        """Approve the request `request_id` of `user_id`, unless it is not button-approvable."""
        check_decider(approver_is_admin)
        database = self.backends.database
        shown = await database(identity.get_link, self.database, user_id)
        if shown is not None and shown.request_id == request_id:
            # Asked again at approval: the login may have become an administrator's.
            await self.backends.redmine(self.service.button_linkable, shown.redmine_login)
        return await database(
            identity.approve_link, self.database, user_id, approver_id, request_id
        )

    async def deny(
        self, user_id: int, request_id: str, decider_id: int, *, decider_is_admin: bool
    ) -> None:
        """Deny the request `request_id` of `user_id`."""
        check_decider(decider_is_admin)
        await self.backends.database(
            identity.deny_link, self.database, user_id, decider_id, request_id
        )
