"""Redmine tickets: the command layer shared by `/ticket` (cogs/tickets) and `tickets.py`."""

from netbot.core.capability import Capability, EnvVar
from netbot.tickets.config import TicketsConfig

REDMINE_ENV = (
    EnvVar("REDMINE_URL", "the base URL of your Redmine, e.g. https://redmine.example.org", False),
    EnvVar(
        "REDMINE_TOKEN",
        "Redmine > My account > API access key (an admin's key, for impersonation)",
    ),
)

CAPABILITY = Capability(
    name="tickets",
    cog="cogs.tickets",
    settings=TicketsConfig,
    env=REDMINE_ENV,
    models="netbot.tickets.models",
)

__all__ = ["CAPABILITY", "REDMINE_ENV", "TicketsConfig"]
