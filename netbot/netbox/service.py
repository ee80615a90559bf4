"""The one way to build the NetBox capability's services on a runtime."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from netbot.core.errors import UserError
from netbot.core.runtime import Runtime
from netbot.core.secrets import Secret
from netbot.netbox.catalog import Catalog
from netbot.netbox.client import NetboxClient
from netbot.netbox.config import NetboxConfig
from netbot.netbox.lookups import Lookups

log = logging.getLogger(__name__)

REFRESH_JOB = "netbox.refresh"
TOKEN_ENV = "NETBOX_TOKEN"


@dataclass(frozen=True)
class NetboxServices:
    """The commands' client and the index's own (a refresh never holds the threads a command
    needs), the catalog of names, and the lookups over both."""

    settings: NetboxConfig
    client: NetboxClient
    catalog: Catalog
    lookups: Lookups

    def close(self) -> None:
        self.client.close()
        self.catalog.client.close()


def build(runtime: Runtime, on_miss: Callable[[], None] = lambda: None) -> NetboxServices:
    """The services for the configured NetBox; UserError when `netbox.url` is not set.

    Warns once when TLS checking is off: anyone between netbot and NetBox could then read
    the token and answer in NetBox's place.
    """
    settings = runtime.config.section("netbox", NetboxConfig)
    if settings.url is None:
        raise UserError("netbox.url is not set in the configuration")
    if not settings.verify_tls:
        log.warning(
            "netbox: verify_tls is off: NetBox's certificate is not checked, so anyone on the "
            "path could read NETBOX_TOKEN; set netbox.ca_bundle to its CA's certificate instead"
        )
    token = runtime.secrets.secret(TOKEN_ENV)
    commands = client_for(settings, token)
    catalog = Catalog(client_for(settings, token), runtime.clock.now)
    lookups = Lookups(commands, catalog, rows_per_page=settings.rows_per_page, on_miss=on_miss)
    return NetboxServices(settings, commands, catalog, lookups)


def client_for(settings: NetboxConfig, token: Secret) -> NetboxClient:
    """A client for the configured NetBox, as the bot (two of them) and `netbot check` use."""
    return NetboxClient(
        settings.url or "", token, verify_tls=settings.verify_tls,
        ca_bundle=settings.ca_bundle, timeout=settings.timeout_seconds,
        page_size=settings.page_size, parallel=settings.parallel_requests,
    )  # fmt: skip
