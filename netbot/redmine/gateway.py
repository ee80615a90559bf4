"""One way to call Redmine: as a person, with a timeout, and with errors people can read.

Every call goes through `RedmineGateway.call`, which turns python-redmine's and requests'
exceptions into netbot's `UserError`s (the message is shown to the user as it is) and retries
the empty 422 that Redmine answers under write contention. Writes impersonate the person
with `X-Redmine-Switch-User` (python-redmine's `impersonate`), so Redmine's own permissions
and workflow apply and the history names the right author; that only works with an
administrator's key, which `check_impersonation` verifies.

A write whose answer is lost (a timeout, a broken connection, an unreadable answer after the
request left) may well have been saved: it is reported as `OutcomeUnknown`, never as "nothing
was changed", which is said only when the request cannot have reached Redmine or Redmine
answered that it failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from redminelib import Redmine
from redminelib import exceptions as rm
from redminelib.engines.sync import SyncEngine
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from netbot.core.errors import BackendUnavailable, NotFound, Refused, UserError
from netbot.core.text import clip

log = logging.getLogger(__name__)

T = TypeVar("T")

# Redmine answers 422 with an empty error list when two writes collide (SQLite locking, or
# several workers on one issue); a short backoff and a retry succeeds.
CONFLICT_RETRIES = 3
CONFLICT_BACKOFF_SECONDS = 0.2
# Gateways in front of Redmine answer these when Redmine itself did not answer in time or
# broke off: the write may have been done.
GATEWAY_LOST = (502, 504)
ECHO_LIMIT = 100  # characters of a login or typed value repeated in a message
PAGE_SIZE = 100  # Redmine's largest page (its default `limit` cap)


class ActorRefused(Refused):
    """Redmine refused the impersonated person, not the request: the login is unknown or
    locked (412), or that person may not do it (403). The threader then writes as the bot."""


class OutcomeUnknown(BackendUnavailable):
    """A write left for Redmine but its outcome is not known (or not confirmed).

    The user must look before retrying: the change may well have been saved.
    """


def without_credentials(url: str) -> str:
    """`url` without `user:password@` (REDMINE_URL may carry basic auth), and without a
    trailing slash: the form safe to show people."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)).rstrip("/")


def _never_sent(exc: requests.RequestException) -> bool:
    """Whether the request surely never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _not_found(what: str) -> str:
    """The sentence for a 404 on `what`: a thing ("ticket 12": Redmine has no ticket 12), or,
    after "the"/"your", a list or account every Redmine has ("the user list"), whose 404 means
    REDMINE_URL does not lead to Redmine's API (not "Redmine has no the user list")."""
    if what.startswith(("the ", "your ")):
        return f"Redmine answered 'not found' for {what}: an operator must check REDMINE_URL."
    return f"Redmine has no {what}, or you may not see it."


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

    def process_response(self, response: requests.Response) -> Any:
        """Refuse an empty 200/201 to a GET or POST, which must carry JSON.

        python-redmine turns an empty body into `True`, which then fails deep inside it as a
        TypeError; here it is what it is, an unreadable answer.
        """
        if (
            response.status_code in (200, 201)
            and response.request.method in ("GET", "POST")
            and not response.content.strip()
        ):
            raise rm.JSONDecodeError(response)
        return super().process_response(response)


@dataclass(frozen=True)
class RedmineGateway:
    """How to reach Redmine: base URL, the bot's key, and the per-request timeout."""

    url: str
    key: str
    timeout: float = 10.0
    # The base URL people are shown (links in Discord); None: `url` without its credentials.
    public_url: str | None = None
    # One client per (thread, login), so connections are reused: Redmine's puma makes a new
    # connection wait ~200 ms while an idle one is open. Per thread, because the bot calls
    # from a thread pool and a requests Session is not meant to be shared across threads.
    _clients: threading.local = field(default_factory=threading.local, compare=False)

    def __repr__(self) -> str:  # never show the key, nor credentials in the URL
        return f"RedmineGateway(url={self.link_url!r}, timeout={self.timeout})"

    @property
    def link_url(self) -> str:
        """The base of every link shown to people: never carries credentials."""
        return without_credentials(self.public_url or self.url)

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

    def call(
        self,
        action: Callable[[], T],
        *,
        what: str,
        as_login: str | None = None,
        check: str | None = None,
        missing: str | None = None,
    ) -> T:
        """Run `action` (which talks to Redmine), translating failures into UserErrors.

        `what` names the thing being done ("ticket 12", "the ticket list") for messages.
        `check` is given for a write, and names where to look when its outcome is unknown
        ("#12"): a lost answer then raises `OutcomeUnknown` saying so. `missing` is the
        sentence for a 404 when what is missing is not `what` itself (a list is never
        missing; its project is).
        """
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                return action()
            except rm.ValidationError as exc:
                message = clip(str(exc).strip(), 300)
                if message or attempt == CONFLICT_RETRIES:
                    raise Refused(
                        f"Redmine refused the change to {what}: {message or 'conflicting edit, try again'}."
                    ) from None
                log.info("redmine: empty 422 on %s, retry %d", what, attempt)
                time.sleep(CONFLICT_BACKOFF_SECONDS * attempt)
            except rm.ResourceNotFoundError:
                raise NotFound(missing or _not_found(what)) from None
            except rm.ForbiddenError:
                who = clip(as_login, ECHO_LIMIT) if as_login else "netbot's Redmine account"
                refused = ActorRefused if as_login else Refused
                raise refused(f"Redmine does not allow {who} to do that on {what}.") from None
            except rm.ImpersonateError:
                raise ActorRefused(
                    f"Redmine refused to act as {clip(as_login or '', ECHO_LIMIT)!r}: "
                    "the login is unknown or locked."
                ) from None
            except rm.AuthError:
                raise BackendUnavailable(
                    "Redmine refused netbot's API key; an operator must check REDMINE_TOKEN."
                ) from None
            except (rm.JSONDecodeError, requests.exceptions.JSONDecodeError):
                if check:
                    raise OutcomeUnknown(
                        f"Redmine gave an unreadable answer for {what} after taking the change: "
                        f"it was probably saved; check {check} before retrying."
                    ) from None
                raise BackendUnavailable(
                    f"Redmine gave an unreadable answer for {what}; try again later."
                ) from None
            except rm.UnknownError as exc:
                status = exc.status_code
                if check and status in GATEWAY_LOST:
                    raise self._unknown(
                        f"Redmine's gateway answered {status} for {what}", check
                    ) from None
                raise BackendUnavailable(
                    f"Redmine failed while handling {what} (HTTP {status}); nothing was changed."
                ) from None
            except rm.ServerError:
                # Redmine saves each change in one transaction, rolled back on a 500.
                raise BackendUnavailable(
                    f"Redmine failed while handling {what} (ServerError); nothing was changed."
                ) from None
            except requests.Timeout as exc:
                message = f"Redmine did not answer within {self.timeout:g} s for {what}"
                if check and not _never_sent(exc):
                    raise self._unknown(message, check) from None
                raise BackendUnavailable(f"{message}; try again later.") from None
            except requests.RequestException as exc:
                message = f"Redmine is unreachable for {what}"
                if check and not _never_sent(exc):
                    raise self._unknown(f"{message} (the connection broke)", check) from None
                done = "nothing was changed, " if check else ""
                raise BackendUnavailable(f"{message}; {done}try again later.") from None
        raise AssertionError("unreachable")  # the loop either returns or raises

    def issue_pages(
        self,
        params: dict[str, str],
        *,
        what: str,
        missing: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[list[dict[str, Any]]]:
        """The issues matching `params`, one page (a list of plain JSON dicts) at a time, in
        id order.

        Why not python-redmine's `issue.filter`: it loads every page into one list of full
        issues before the first is seen (about 3.8 KB each, 100,000 open tickets hold 380 MB
        at once); here a caller keeps what it needs of a page and the page is dropped.
        Paged by id (`issue_id=>=` the next id, `sort=id`) rather than by offset, so a ticket
        closed or created during the walk never shifts a page and makes another one skipped.
        """
        api = self.api()
        url = f"{api.url}/issues.json"
        next_id = 1
        while True:
            query = {**params, "sort": "id", "issue_id": f">={next_id}", "limit": str(page_size)}

            def fetch(query: dict[str, str] = query) -> dict[str, Any]:
                answer: dict[str, Any] = api.engine.request("get", url, params=query)
                return answer

            answer = self.call(fetch, what=what, missing=missing)
            page: list[dict[str, Any]] = answer.get("issues") or []
            if page and page[0]["id"] < next_id:  # a Redmine that ignored the id filter
                raise BackendUnavailable(f"Redmine did not page {what} by id; try again later.")
            if page:
                yield page
            if len(page) < page_size:
                return
            next_id = page[-1]["id"] + 1

    def rest(
        self,
        method: str,
        path: str,
        *,
        what: str,
        as_login: str | None = None,
        params: dict[str, str] | None = None,
        body: Any = None,
        check: str | None = None,
    ) -> Any:
        """One REST call on a path python-redmine has no resource for (`/journals/7.json`)
        or where the plain JSON is wanted; errors as `call` translates them. `body` bytes
        are sent as `application/octet-stream` (uploads), anything else as JSON."""
        api = self.api(as_login)
        headers = {"Content-Type": "application/octet-stream"} if isinstance(body, bytes) else None

        def send() -> Any:
            return api.engine.request(
                method, f"{api.url}{path}", headers=headers, params=params, data=body
            )

        return self.call(send, what=what, as_login=as_login, check=check)

    @staticmethod
    def _unknown(message: str, check: str) -> OutcomeUnknown:
        """The error for a write that left but whose answer was lost."""
        return OutcomeUnknown(
            f"{message}, after the change was sent: it may or may not have been saved; "
            f"check {check} before retrying."
        )

    def check_impersonation(self) -> str:
        """Return the key owner's login; raise unless the key can impersonate (is an admin)."""
        me = self.call(lambda: self.api().user.get("current"), what="the current user")
        if not getattr(me, "admin", False):
            raise UserError(
                "REDMINE_TOKEN must belong to a Redmine administrator: with any other key "
                "Redmine ignores X-Redmine-Switch-User and would record the key owner as author."
            )
        return me.login
