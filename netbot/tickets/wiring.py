"""One way to build the tickets capability's services, for the cog, tickets.py and the threader.

Each of them used to wire a gateway, a catalog and a service by hand, and one day two of them
would have disagreed (a timeout, the public URL, the project). The heavy imports
(python-redmine, requests) happen inside `build`, so importing the capability registry stays
cheap and `tickets.py --help` stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from netbot.core.secrets import EnvVar

if TYPE_CHECKING:
    from netbot.redmine import RedmineGateway
    from netbot.tickets.catalog import Catalog
    from netbot.tickets.service import TicketService

# The Redmine issue custom field naming a ticket's Discord thread: `/ticket thread` and the
# post-mortem write it, the threader reads it. Renamed with `threader.thread_field`; every
# builder of the service is handed that one setting.
THREAD_FIELD = "discord-thread"

REDMINE_ENV = (
    EnvVar("REDMINE_URL", "the base URL of your Redmine, e.g. https://redmine.example.org", False),
    EnvVar(
        "REDMINE_TOKEN",
        "Redmine > My account > API access key (an admin's key, for impersonation)",
    ),
)


class TicketsSettings(Protocol):
    """What building needs of the settings: `TicketsConfig` in the bot; tickets.py's options."""

    @property
    def project(self) -> str: ...

    @property
    def request_timeout_seconds(self) -> float: ...

    @property
    def public_url(self) -> str | None: ...


@dataclass(frozen=True)
class TicketsServices:
    """The capability's services over one Redmine and one project, sharing one gateway."""

    gateway: RedmineGateway
    catalog: Catalog
    service: TicketService


def build(
    url: str, key: str, settings: TicketsSettings, *, thread_field: str = THREAD_FIELD
) -> TicketsServices:
    """The gateway (timeout and public URL from `settings`), the catalog and the service of
    `settings.project`, for Redmine at `url` with the API key `key`; `thread_field` names
    the custom field of a ticket's Discord thread."""
    from netbot.redmine import RedmineGateway
    from netbot.tickets.catalog import Catalog
    from netbot.tickets.service import TicketService

    gateway = RedmineGateway(
        url, key, timeout=settings.request_timeout_seconds, public_url=settings.public_url
    )
    catalog = Catalog(gateway, settings.project)
    service = TicketService(gateway, catalog, settings.project, thread_field)
    return TicketsServices(gateway, catalog, service)
