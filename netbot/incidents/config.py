"""The `incidents:` section of the configuration: severities, who is invited, reminders, where
incident spaces live, and which extension modules to load.

Severities are listed highest first; everything keyed by severity (update reminders, invites)
names a severity from that list, checked here so a typo is a start-up problem, not a silent
"nobody was invited". User and role ids are only checked against the guild by
`unknown_invitees` (the chat side knows the guild; see `netbot.incidents.checks`).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from netbot.core.config import Section, Snowflake

# The lifecycle's stages, in order; their shown names are configurable (`statuses`).
STAGES = ("investigating", "identified", "monitoring", "resolved", "closed")
Stage = Literal["investigating", "identified", "monitoring", "resolved", "closed"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Invitees(Section):
    """Who is invited to an incident's space: people and whole roles."""

    users: list[Snowflake] = Field(default_factory=list)
    roles: list[Snowflake] = Field(default_factory=list)


class SeverityLevel(Section):
    """One severity: its name, how often the space is reminded to post an update, and who
    is invited on top of `invite.always`."""

    name: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _-]*$")
    description: str = ""
    # Minutes between "post an update" reminders; None: no update reminder at this level.
    update_reminder_minutes: int | None = Field(default=None, ge=1)
    # Update reminders only inside `office_hours` (when configured).
    office_hours_only: bool = False
    invite: Invitees = Field(default_factory=Invitees)


def _default_severities() -> list[SeverityLevel]:
    return [
        SeverityLevel(name="critical", update_reminder_minutes=30),
        SeverityLevel(name="major", update_reminder_minutes=60),
        SeverityLevel(name="minor", update_reminder_minutes=240, office_hours_only=True),
        SeverityLevel(name="trivial"),
    ]


class StatusNames(Section):
    """The name shown for each stage of the lifecycle (the stages themselves are fixed)."""

    investigating: str = Field(default="Investigating", min_length=1, max_length=20)
    identified: str = Field(default="Identified", min_length=1, max_length=20)
    monitoring: str = Field(default="Monitoring", min_length=1, max_length=20)
    resolved: str = Field(default="Resolved", min_length=1, max_length=20)
    closed: str = Field(default="Closed", min_length=1, max_length=20)

    def of(self, stage: str) -> str:
        return str(getattr(self, stage))


class OfficeHours(Section):
    """When reminders that respect office hours may fire (in the display time zone)."""

    EXPECTED: ClassVar[dict[str, str]] = {
        "start": 'a quoted time of day such as "09:00"',
        "end": 'a quoted time of day such as "18:00"',
    }

    start: str = Field(default="09:00", pattern=_CLOCK)
    end: str = Field(default="18:00", pattern=_CLOCK)
    days: list[Weekday] = Field(default_factory=lambda: [*WEEKDAYS[:5]], min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> OfficeHours:
        if self.start >= self.end:
            raise ValueError(f"office hours start {self.start} is not before end {self.end}")
        return self

    def next_open(self, moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
        """`moment` if it falls inside office hours, else the next opening (UTC)."""
        local = moment.astimezone(tz)
        start = dt.time.fromisoformat(self.start)
        end = dt.time.fromisoformat(self.end)
        for day in range(8):
            date = local.date() + dt.timedelta(days=day)
            if WEEKDAYS[date.weekday()] not in self.days:
                continue
            opening = dt.datetime.combine(date, start, tzinfo=tz)
            closing = dt.datetime.combine(date, end, tzinfo=tz)
            if local < closing:
                return max(local, opening).astimezone(dt.UTC)
        raise AssertionError("unreachable: at least one office day per week")


class InviteConfig(Section):
    """Auto-invite: `always` for every incident, plus each severity's own `invite`."""

    always: Invitees = Field(default_factory=Invitees)


class IncidentsConfig(Section):
    """Incidents: declared, coordinated and closed from Discord (see the README's Incidents)."""

    EXPECTED: ClassVar[dict[str, str]] = {
        "timezone": "an IANA time zone name such as Europe/Berlin",
        "extensions": "a list of importable Python module paths such as my_team.handlers",
    }

    severities: list[SeverityLevel] = Field(default_factory=_default_severities, min_length=1)
    statuses: StatusNames = Field(default_factory=StatusNames)
    invite: InviteConfig = Field(default_factory=InviteConfig)
    # `channel`: a text channel per incident; `forum`: a post per incident in `forum_channel_id`.
    space: Literal["channel", "forum"] = "channel"
    # Categories for incident channels, used in order; when all are full (Discord: 50
    # channels each) a new one named `overflow_category_name` (with {n}) is created.
    category_ids: list[Snowflake] = Field(default_factory=list)
    overflow_category_name: str = Field(default="Incidents {n}", min_length=1, max_length=90)
    archive_category_id: Snowflake | None = None
    forum_channel_id: Snowflake | None = None
    # Where the one headline post per incident lives (edited in place).
    headline_channel_id: Snowflake | None = None
    timeline_reaction: str = Field(default="\N{PUSHPIN}", min_length=1, max_length=64)
    # Reminders; 0 turns one off.
    take_a_break_minutes: int = Field(default=90, ge=0)
    lead_unclaimed_minutes: int = Field(default=10, ge=0)
    close_reminder_hours: int = Field(default=24, ge=0)
    postmortem_reminder_hours: int = Field(default=72, ge=0)
    reminder_poll_seconds: int = Field(default=30, ge=5)
    office_hours: OfficeHours | None = None
    # Extra handler modules (see netbot.incidents.extensions), imported at start-up.
    extensions: list[str] = Field(default_factory=list)
    # The time zone times are shown in; unset: the core `timezone`.
    timezone: str | None = None
    # The Redmine project a post-mortem ticket is opened in (tickets enabled); unset: none.
    postmortem_project: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("extensions")
    @classmethod
    def _module_paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if not all(part.isidentifier() for part in path.split(".")):
                raise ValueError(f"{path!r} is not a Python module path")
        return value

    @field_validator("overflow_category_name")
    @classmethod
    def _numbered(cls, value: str) -> str:
        if "{n}" not in value:
            raise ValueError("the overflow category name needs {n} (its number)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> IncidentsConfig:
        names = [level.name.lower() for level in self.severities]
        if len(set(names)) != len(names):
            raise ValueError(f"severity names repeat: {', '.join(self.severity_names)}")
        if self.space == "forum" and self.forum_channel_id is None:
            raise ValueError("space: forum needs forum_channel_id")
        return self

    @property
    def severity_names(self) -> list[str]:
        """Highest first."""
        return [level.name for level in self.severities]

    def severity(self, name: str) -> SeverityLevel:
        """The level called `name` (case-insensitive); KeyError if there is none."""
        for level in self.severities:
            if level.name.lower() == name.lower():
                return level
        raise KeyError(name)

    def invitees(self, severity: str) -> Invitees:
        """`always` plus the severity's own, each id once, in configuration order."""
        level = self.severity(severity)
        users = list(dict.fromkeys([*self.invite.always.users, *level.invite.users]))
        roles = list(dict.fromkeys([*self.invite.always.roles, *level.invite.roles]))
        return Invitees(users=users, roles=roles)

    def tz(self, core_timezone: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or core_timezone)


def unknown_invitees(
    settings: IncidentsConfig, known_users: set[int], known_roles: set[int]
) -> list[str]:
    """One line per configured invitee the guild does not know (`known_*`: the guild's
    member and role ids), saying where it is configured. Reported at start-up and by the
    check; an unknown id is then skipped at invite time, never a crash."""
    problems: list[str] = []
    places = [("incidents.invite.always", settings.invite.always)]
    places += [(f"incidents.severities[{s.name}].invite", s.invite) for s in settings.severities]
    for where, invitees in places:
        problems += [
            f"{where}.users: no member {u}" for u in invitees.users if u not in known_users
        ]
        problems += [f"{where}.roles: no role {r}" for r in invitees.roles if r not in known_roles]
    return problems
