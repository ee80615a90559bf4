"""Who is who: which Redmine login each Discord user acts as.

A Discord user asks to act as a Redmine login (`request_link`); an admin approves or denies
the request, or links someone directly (`set_link`). Only an approved link counts
(`approved_login`). An approval or denial names the request it decides (`Link.request_id`,
which covers the login and the moment it was asked): a member who asks for another login
while the first request is on screen cannot have the first approval land on the second.

These are plain blocking functions over `Database`, with no Discord objects: people, guilds,
channels and threads are their integer ids, never names, which change. From asyncio code call
them in a worker thread (`await asyncio.to_thread(links.approved_login, db, user_id)`). Each
call is one transaction, so an error leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from netbot.core.db import Database, upsert
from netbot.core.errors import NotFound, Refused, UserError
from netbot.core.models import snowflake, utcnow
from netbot.identity.models import LINK_APPROVED, LINK_PENDING, UserLink

MAX_LOGIN_LENGTH = 255


NO_PENDING_REQUEST = "That user has no pending link request."
REQUEST_CHANGED = (
    "That link request changed or was withdrawn after this message was posted; nothing was "
    "decided. The newest request has its own message."
)
REQUEST_ID_LENGTH = 16


@dataclass(frozen=True)
class Link:
    """A Discord user's link to a Redmine login, as stored; only an approved one is acted on."""

    discord_user_id: int
    redmine_login: str
    status: str
    requested_at: dt.datetime
    decided_by: int | None
    decided_at: dt.datetime | None

    @property
    def approved(self) -> bool:
        return self.status == LINK_APPROVED

    @property
    def request_id(self) -> str:
        """A short id of this very request: the user, the login and when it was asked.

        Asking again (for any login) makes a new id, so a button showing an older request
        no longer matches.
        """
        stamp = self.requested_at.astimezone(dt.UTC).isoformat()
        seed = f"{self.discord_user_id}\n{self.redmine_login}\n{stamp}".encode()
        return hashlib.sha256(seed).hexdigest()[:REQUEST_ID_LENGTH]


# --- links --------------------------------------------------------------------------------


def request_link(db: Database, discord_user_id: int, login: str) -> Link:
    """Ask to act as Redmine `login`, replacing any earlier request or link of this user.

    If the user is already approved for that very login, the link is returned unchanged, so
    asking twice never demotes them. Asking for a different login does: the old link stops
    counting until an admin approves the new request. Every request gets a new
    `request_id`, even for the same login.
    """
    discord_user_id = snowflake(discord_user_id)
    login = _login(login)
    with db.session() as session:
        current = session.get(UserLink, discord_user_id, with_for_update=True)
        if (
            current is not None
            and current.status == LINK_APPROVED
            and current.redmine_login == login
        ):
            return _link(current)
        row = {
            "discord_user_id": discord_user_id,
            "redmine_login": login,
            "status": LINK_PENDING,
            "requested_at": utcnow(),
            "decided_by": None,
            "decided_at": None,
        }
        upsert(session, UserLink, row, keys=("discord_user_id",))
        return _link(_reload_link(session, discord_user_id))


def approve_link(db: Database, discord_user_id: int, admin_id: int, request_id: str) -> Link:
    """Approve the pending request `request_id` on behalf of admin `admin_id`.

    NotFound if the user has no pending request; Refused if it is not `request_id` (the
    user asked again since), and then nothing changes.
    """
    discord_user_id = snowflake(discord_user_id)
    admin_id = snowflake(admin_id)
    with db.session() as session:
        current = _pending(session, discord_user_id, request_id)
        current.status = LINK_APPROVED
        current.decided_by = admin_id
        current.decided_at = utcnow()
        session.flush()
        return _link(current)


def deny_link(db: Database, discord_user_id: int, admin_id: int, request_id: str) -> None:
    """Drop the pending request `request_id`; NotFound if none, Refused if it changed.

    An approved link is left alone.
    """
    discord_user_id = snowflake(discord_user_id)
    snowflake(admin_id)
    with db.session() as session:
        session.delete(_pending(session, discord_user_id, request_id))


def set_link(db: Database, discord_user_id: int, login: str, admin_id: int) -> Link:
    """Link the user to `login` at once, approved by admin `admin_id`, replacing anything earlier."""
    discord_user_id = snowflake(discord_user_id)
    admin_id = snowflake(admin_id)
    login = _login(login)
    now = utcnow()
    row = {
        "discord_user_id": discord_user_id,
        "redmine_login": login,
        "status": LINK_APPROVED,
        "requested_at": now,
        "decided_by": admin_id,
        "decided_at": now,
    }
    with db.session() as session:
        upsert(session, UserLink, row, keys=("discord_user_id",))
        return _link(_reload_link(session, discord_user_id))


def remove_link(db: Database, discord_user_id: int) -> bool:
    """Forget the user's link or request, whatever its status; True if there was one."""
    discord_user_id = snowflake(discord_user_id)
    with db.session() as session:
        result = session.execute(
            delete(UserLink).where(UserLink.discord_user_id == discord_user_id)
        )
        # A DELETE's result is a CursorResult (with rowcount); execute() is typed as Result.
        return cast("CursorResult[Any]", result).rowcount > 0


def get_link(db: Database, discord_user_id: int) -> Link | None:
    """The user's link or pending request, or None."""
    discord_user_id = snowflake(discord_user_id)
    with db.session() as session:
        current = session.get(UserLink, discord_user_id)
        return None if current is None else _link(current)


def approved_login(db: Database, discord_user_id: int) -> str | None:
    """The Redmine login the user may act as, or None if they have no approved link."""
    discord_user_id = snowflake(discord_user_id)
    with db.session() as session:
        return session.scalar(
            select(UserLink.redmine_login).where(
                UserLink.discord_user_id == discord_user_id, UserLink.status == LINK_APPROVED
            )
        )


# --- helpers ------------------------------------------------------------------------------


def _link(row: UserLink) -> Link:
    return Link(
        discord_user_id=row.discord_user_id,
        redmine_login=row.redmine_login,
        status=row.status,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _pending(session: Session, discord_user_id: int, request_id: str) -> UserLink:
    """The user's pending request, locked for the decision, if it is `request_id`."""
    current = session.get(UserLink, discord_user_id, with_for_update=True)
    if current is None or current.status != LINK_PENDING:
        raise NotFound(NO_PENDING_REQUEST)
    if _link(current).request_id != request_id:
        raise Refused(REQUEST_CHANGED)
    return current


def _reload_link(session: Session, discord_user_id: int) -> UserLink:
    """The row as the database now has it, even if the session already held an older copy."""
    return session.execute(
        select(UserLink)
        .where(UserLink.discord_user_id == discord_user_id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _login(login: str) -> str:
    """The login as typed, without surrounding spaces; a UserError if empty or too long."""
    login = login.strip()
    if not login:
        raise UserError("Give a Redmine login.")
    if len(login) > MAX_LOGIN_LENGTH:
        raise UserError(f"A Redmine login is at most {MAX_LOGIN_LENGTH} characters.")
    return login
