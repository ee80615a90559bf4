"""One way to call Redmine: as a person, with a timeout, and with errors people can read.

Every call goes through `RedmineGateway.call`, which turns python-redmine's and requests'
exceptions into netbot's `UserError`s (the message is shown to the user as it is) and retries
the empty 422 that Redmine answers under write contention. Writes impersonate the person
with `X-Redmine-Switch-User` (python-redmine's `impersonate`), so Redmine's own permissions
and workflow apply and the history names the right author; that only works with an
administrator's key, which `check_impersonation` verifies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from redminelib import Redmine
from redminelib import exceptions as rm
from redminelib.engines.sync import SyncEngine

from netbot.errors import BackendUnavailable, NotFound, Refused, UserError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Redmine answers 422 with an empty error list when two writes collide (SQLite locking, or
# several workers on one issue); a short backoff and a retry succeeds.
CONFLICT_RETRIES = 3
CONFLICT_BACKOFF_SECONDS = 0.2


class TimeoutEngine(SyncEngine):
    """python-redmine's engine with the timeout actually applied.

    python-redmine 2.5 stores `requests={"timeout": N}` on the requests Session, which
    requests never reads, so without this every call could hang forever on a stuck Redmine.
    """

    def construct_request_kwargs(
        self, method: str, headers: Any, params: Any, data: Any
    ) -> dict[str, Any]:
        kwargs = super().construct_request_kwargs(method, headers, params, data)
        kwargs["timeout"] = self.requests.get("timeout")
        return kwargs


@dataclass(frozen=True)
class RedmineGateway:
    """How to reach Redmine: base URL, the bot's key, and the per-request timeout."""

    url: str
    key: str
    timeout: float = 10.0
    # One client per (thread, login), so connections are reused: Redmine's puma makes a new
    # connection wait ~200 ms while an idle one is open. Per thread, because the bot calls
    # from a thread pool and a requests Session is not meant to be shared across threads.
    _clients: threading.local = field(default_factory=threading.local, compare=False)

    def __repr__(self) -> str:  # never show the key
        return f"RedmineGateway(url={self.url!r}, timeout={self.timeout})"

    def api(self, as_login: str | None = None) -> Redmine:
        """A python-redmine client, acting as `as_login` when given (impersonation)."""
        clients: dict[str | None, Redmine] = self._clients.__dict__.setdefault("by_login", {})
        if as_login not in clients:
            options: dict[str, object] = {
                "requests": {"timeout": self.timeout},
                "engine": TimeoutEngine,
            }
            if as_login:
                options["impersonate"] = as_login
            clients[as_login] = Redmine(self.url, key=self.key, **options)
        return clients[as_login]

    def call(self, action: Callable[[], T], *, what: str, as_login: str | None = None) -> T:
        """Run `action` (which talks to Redmine), translating failures into UserErrors.

        `what` names the thing being done ("ticket 12", "the ticket list") for messages.
        """
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                return action()
            except rm.ValidationError as exc:
                message = str(exc).strip()
                if message or attempt == CONFLICT_RETRIES:
                    raise Refused(
                        f"Redmine refused the change to {what}: {message or 'conflicting edit, try again'}."
                    ) from None
                log.info("redmine: empty 422 on %s, retry %d", what, attempt)
                time.sleep(CONFLICT_BACKOFF_SECONDS * attempt)
            except rm.ResourceNotFoundError:
                raise NotFound(f"Redmine has no {what}, or you may not see it.") from None
            except rm.ForbiddenError:
                who = f"{as_login}" if as_login else "netbot's Redmine account"
                raise Refused(f"Redmine does not allow {who} to do that on {what}.") from None
            except rm.ImpersonateError:
                raise Refused(
                    f"Redmine refused to act as {as_login!r}: the login is unknown or locked."
                ) from None
            except rm.AuthError:
                raise BackendUnavailable(
                    "Redmine refused netbot's API key; an operator must check REDMINE_TOKEN."
                ) from None
            except (rm.ServerError, rm.UnknownError, rm.JSONDecodeError) as exc:
                raise BackendUnavailable(
                    f"Redmine failed while handling {what} ({type(exc).__name__}); nothing was changed."
                ) from None
            except requests.exceptions.JSONDecodeError:
                raise BackendUnavailable(
                    f"Redmine gave an unreadable answer for {what}; try again later."
                ) from None
            except requests.Timeout:
                raise BackendUnavailable(
                    f"Redmine did not answer within {self.timeout:g} s for {what}; try again later."
                ) from None
            except requests.RequestException:
                raise BackendUnavailable(
                    f"Redmine is unreachable for {what}; try again later."
                ) from None
        raise AssertionError("unreachable")  # the loop either returns or raises

    def check_impersonation(self) -> str:
        """Return the key owner's login; raise unless the key can impersonate (is an admin)."""
        me = self.call(lambda: self.api().user.get("current"), what="the current user")
        if not getattr(me, "admin", False):
            raise UserError(
                "REDMINE_TOKEN must belong to a Redmine administrator: with any other key "
                "Redmine ignores X-Redmine-Switch-User and would record the key owner as author."
            )
        return me.login
