"""What the incident domain needs from the chat platform, and only the chat platform can do.

The domain decides (names, topic, who is invited, what is said, when); an adapter on the chat
side (cogs/incidents/spaces.py for Discord) carries it out. Every method raises on failure
(the platform down, a missing permission); the service records what it has done so far, so a
retried declare finishes the missing steps instead of creating a second space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from netbot.chat import Post, PostRef
from netbot.incidents.records import Button, Incident, SpacePlan, SpaceRef

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class IncidentSpaces(Protocol):
    """The incident spaces on one chat platform."""

    async def create_space(self, incident: Incident, plan: SpacePlan) -> SpaceRef:
        """Create the incident's space: a channel named `plan.name` in the first incidents
        category with room (creating the next overflow category if all are full), or a post
        in the forum channel tagged with severity and status (tags created if missing). Its
        topic is `plan.topic`, set once; the name never changes afterwards. Private: visible
        only to `plan.users`, `plan.roles` and the bot. Not private: `users`/`roles` still get
        explicit access (which matters once the channel is archived)."""
        ...

    async def invite(
        self, incident: Incident, users: Sequence[int], roles: Sequence[int] = ()
    ) -> None:
        """Give these users and roles access to the incident's space (a permission
        overwrite, or adding them to the forum post). Ids the guild does not know are
        skipped with a log line, never an error."""
        ...

    async def post(self, incident: Incident, post: Post, buttons: Sequence[Button] = ()) -> PostRef:
        """Post into the incident's space; `post.mentions` says who may be pinged."""
        ...

    async def attach(
        self, incident: Incident, post: Post, filename: str, content: bytes
    ) -> PostRef:
        """Post a file (a post-mortem) into the incident's space."""
        ...

    async def show_headline(
        self, incident: Incident, headline: Post, ref: PostRef | None
    ) -> PostRef:
        """Post the incident's headline in the headline channel (`ref` None) or edit it in
        place (`ref`), with the Join, Update status, Change severity and Close buttons
        carrying the incident id. Returns where it is (a new post if the old one is gone)."""
        ...

    async def show_state(self, incident: Incident) -> None:
        """Reflect severity and status on the space itself where that is free of rate
        limits: forum mode re-applies the tags; channel mode does nothing (never renames,
        never edits the topic again)."""
        ...

    async def archive(self, incident: Incident) -> None:
        """Closed: channel moved to the archive category and locked (no one sends); forum
        post archived and locked."""
        ...

    async def unarchive(self, incident: Incident) -> None:
        """Reopened: the reverse of `archive` (back into an incidents category)."""
        ...


class IncidentMirror(Protocol):
    """Another place incidents are shown (the Slack bridge), told of each change inside the
    transaction that writes it, so its outbox rows commit or roll back with the change.
    Timeline keys are "entry:<timeline entry id>", stable for edits and removals."""

    def headline(self, session: Session, incident_id: int, post: Post) -> None:
        """The headline as it now reads (on declare and on every change)."""
        ...

    def timeline(
        self,
        session: Session,
        incident_id: int,
        key: str,
        post: Post,
        *,
        status_change: bool = False,
    ) -> None:
        """A timeline entry added or updated."""
        ...

    def timeline_removed(self, session: Session, incident_id: int, key: str) -> None: ...

    def opened(self, session: Session, incident_id: int, name: str, topic: str) -> None:
        """The incident's space got its name and topic (once)."""
        ...

    def closed(self, session: Session, incident_id: int) -> None: ...
