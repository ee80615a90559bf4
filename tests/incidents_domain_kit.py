"""What the incident domain tests share: a recording chat side and a service factory.

`RecordingSpaces` implements the `IncidentSpaces` port in memory (the Discord adapter is
tested through the real py-cord client in tests/test_incidents_bot*.py); it keeps every
call, and can be told to fail a method a number of times, like a platform outage.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from netbot.chat import Post, PostRef
from netbot.core.db import Database
from netbot.core.runtime import Workers
from netbot.core.tasks import ManualClock
from netbot.incidents import (
    Button,
    Incident,
    IncidentMirror,
    IncidentsConfig,
    IncidentService,
    SpacePlan,
    SpaceRef,
)
from netbot.incidents.builtin import builtin_extension
from netbot.incidents.extensions import Extension, Registry

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)  # a Thursday
GUILD = 4242
HEADLINES = 7000


class PlatformDown(Exception):
    pass


@dataclass
class Sent:
    incident_id: int
    post: Post
    buttons: tuple[Button, ...] = ()
    filename: str | None = None
    content: bytes | None = None
    into_archived: bool = False  # posted while its space was archived (locked)


@dataclass
class RecordingSpaces:
    """The chat side, in memory."""

    spaces: dict[int, SpacePlan] = field(default_factory=dict)  # space id -> plan
    sent: list[Sent] = field(default_factory=list)
    invites: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    headlines: dict[int, list[Post]] = field(default_factory=dict)  # message id -> versions
    states: list[tuple[int, str, str]] = field(default_factory=list)
    archived: set[int] = field(default_factory=set)
    failing: dict[str, int] = field(default_factory=dict)  # method -> failures left
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900_001))

    def _maybe_fail(self, method: str) -> None:
        if self.failing.get(method, 0) > 0:
            self.failing[method] -= 1
            raise PlatformDown(f"{method} failed")

    async def create_space(self, incident: Incident, plan: SpacePlan) -> SpaceRef:
        self._maybe_fail("create_space")
        space_id = next(self._ids)
        self.spaces[space_id] = plan
        return SpaceRef(space_id, plan.name, 55)

    async def invite(
        self, incident: Incident, users: Sequence[int], roles: Sequence[int] = ()
    ) -> None:
        self._maybe_fail("invite")
        self.invites.append((incident.id, tuple(users), tuple(roles)))

    async def post(self, incident: Incident, post: Post, buttons: Sequence[Button] = ()) -> PostRef:
        self._maybe_fail("post")
        assert incident.space is not None and incident.space.space_id in self.spaces
        archived = incident.space.space_id in self.archived
        self.sent.append(Sent(incident.id, post, tuple(buttons), into_archived=archived))
        return PostRef("discord", str(incident.space.space_id), str(next(self._ids)))

    async def attach(
        self, incident: Incident, post: Post, filename: str, content: bytes
    ) -> PostRef:
        self._maybe_fail("attach")
        self.sent.append(Sent(incident.id, post, (), filename, content))
        return PostRef(
            "discord", str(incident.space.space_id if incident.space else 0), str(next(self._ids))
        )

    async def show_headline(
        self, incident: Incident, headline: Post, ref: PostRef | None
    ) -> PostRef:
        self._maybe_fail("show_headline")
        if ref is None:
            message_id = next(self._ids)
            self.headlines[message_id] = [headline]
            return PostRef("discord", str(HEADLINES), str(message_id))
        self.headlines[int(ref.message_id)].append(headline)
        return ref

    async def show_state(self, incident: Incident) -> None:
        self.states.append((incident.id, incident.severity, incident.status))

    async def archive(self, incident: Incident) -> None:
        self._maybe_fail("archive")
        assert incident.space is not None
        self.archived.add(incident.space.space_id)

    async def unarchive(self, incident: Incident) -> None:
        assert incident.space is not None
        self.archived.discard(incident.space.space_id)

    def posts_of(self, incident_id: int) -> list[Sent]:
        return [s for s in self.sent if s.incident_id == incident_id]


def settings(**overrides: object) -> IncidentsConfig:
    data: dict[str, object] = {
        "headline_channel_id": HEADLINES,
        "category_ids": [55],
        "invite": {"always": {"users": [501], "roles": [601]}},
        "severities": [
            {"name": "critical", "update_reminder_minutes": 30,
             "invite": {"users": [502], "roles": [602]}},
            {"name": "major", "update_reminder_minutes": 60},
            {"name": "minor"},
        ],
        "take_a_break_minutes": 0,
        "lead_unclaimed_minutes": 0,
        "close_reminder_hours": 0,
        "postmortem_reminder_hours": 0,
        "timezone": "Europe/Berlin",
    }  # fmt: skip
    data.update(overrides)
    return IncidentsConfig.model_validate(data)


def make_service(
    database: Database,
    clock: ManualClock,
    spaces: RecordingSpaces,
    config: IncidentsConfig | None = None,
    extensions: Sequence[Extension] = (),
    modules: Sequence[str] = (),
    mirror: IncidentMirror | None = None,
) -> IncidentService:
    config = config or settings()
    registry = Registry([builtin_extension(config), *extensions])
    for module in modules:
        registry.load(module)
    return IncidentService(
        database, spaces, config, registry, clock, ZoneInfo(config.timezone or "UTC"),
        Workers(), mirror,
    )  # fmt: skip
