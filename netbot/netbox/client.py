"""pynetbox, wrapped: TLS and timeout on one session, lists fetched in parallel pages, plain
dicts out, and every failure turned into a message a person can act on.

Why a wrapper: pynetbox is synchronous (requests), so every call here runs on a worker
thread (`runtime.workers`), never on the event loop; its threaded listing computes one page
too many whenever the count is a multiple of the page size and builds a `Record` per row,
which an index of 50,000 objects does not need. Lists here are `ordering=id` (offset paging
without a stable order can repeat or skip rows), `limit` up to the server's MAX_PAGE_SIZE,
trimmed with `fields=` (NetBox 4.0+) or at least `exclude=config_context` (devices, VMs),
the first page telling the count and the other pages fetched in parallel.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pynetbox
import requests
from requests.adapters import HTTPAdapter

from netbot.core.errors import BackendUnavailable, NotFound
from netbot.core.secrets import Secret, mask_credentials

log = logging.getLogger(__name__)

Row = dict[str, Any]
# Endpoints whose full representation carries the (expensive) rendered config context.
HEAVY = frozenset({"dcim/devices", "virtualization/virtual-machines"})


@dataclass(frozen=True)
class Listing:
    """A list to read whole: its endpoint ("dcim/devices"), fields and filters."""

    path: str
    fields: Sequence[str] | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)


class NetboxUnavailable(BackendUnavailable):
    """NetBox is down, slow, refused the token, or is not NetBox: nothing was shown."""


class NetboxTokenRejected(NetboxUnavailable):
    """NetBox answered 401/403: NETBOX_TOKEN is wrong, expired, or may not read this."""


class _Session(requests.Session):
    """A session whose every request has the configured timeout and TLS check.

    The timeout because requests has none by default: a NetBox that accepts the connection
    and never answers would hold a thread for ever. The TLS check passed per request because
    requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (set in many container images) win
    over a session's own `verify`, which would silently drop `netbox.ca_bundle`.
    """

    def __init__(self, timeout: float, verify: bool | str) -> None:
        super().__init__()
        self.timeout = timeout
        self.verify = verify

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.verify)
        return super().request(*args, **kwargs)


class NetboxClient:
    """One NetBox (its API under `url`/api), read with `token`; blocking calls only."""

    def __init__(
        self,
        url: str,
        token: Secret,
        *,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        timeout: float = 10.0,
        page_size: int = 1000,
        parallel: int = 4,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.page_size = page_size
        session = _Session(timeout, ca_bundle or verify_tls)
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4 * parallel)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.hooks["response"].append(self._counted)
        self.api = pynetbox.api(self.url, token=token.reveal())
        self.api.http_session = session
        # Single requests only (never a call that waits for another): see `parallel`.
        self._pages = ThreadPoolExecutor(parallel, thread_name_prefix="netbox-pages")
        self._calls = ThreadPoolExecutor(parallel, thread_name_prefix="netbox-calls")
        self._lock = threading.Lock()
        self._requests = 0
        self.version: tuple[int, int] = (0, 0)

    # ------------------------------------------------------------------ bookkeeping
    def _counted(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self._requests += 1

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (a refresh's cost is the difference across it)."""
        with self._lock:
            return self._requests

    def close(self) -> None:
        self._calls.shutdown(wait=False, cancel_futures=True)
        self._pages.shutdown(wait=False, cancel_futures=True)
        self.api.http_session.close()

    def link(self, path: str, object_id: int) -> str:
        """The NetBox page of an object, e.g. link("dcim/devices", 12)."""
        return f"{self.url}/{path}/{object_id}/"

    # ------------------------------------------------------------------ requests
    def detect_version(self) -> str:
        """Ask /api/status/ which NetBox this is; lists use what that version supports."""
        with translated(self.url, self.timeout):
            status = self.api.status()
        text = str(status.get("netbox-version") or "") if isinstance(status, dict) else ""
        numbers = [int(p) for p in text.split("-")[0].split(".")[:2] if p.isdigit()]
        if len(numbers) < 2:
            raise NetboxUnavailable(
                f"{self.url}/api/status/ did not name a NetBox version: is this NetBox?"
            )
        self.version = (numbers[0], numbers[1])
        return text

    def _endpoint(self, path: str) -> Any:
        app, name = path.split("/")
        return getattr(getattr(self.api, app), name.replace("-", "_"))

    def _trim(self, path: str, fields: Sequence[str] | None) -> dict[str, str]:
        """`fields=` where NetBox has it (4.0+), else at least no config context."""
        if fields and self.version >= (4, 0):
            return {"fields": ",".join(fields)}
        return {"exclude": "config_context"} if path in HEAVY else {}

    def page(
        self,
        path: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        fields: Sequence[str] | None = None,
        **filters: Any,
    ) -> tuple[list[Row], int]:
        """One page of a list (and the list's total), in NetBox's rows."""
        params = {**self._trim(path, fields), **filters}
        params.setdefault("ordering", "id")
        with translated(self.url, self.timeout):
            found = self._endpoint(path).filter(
                limit=limit or self.page_size, offset=offset, **params
            )
            rows = list(found.response)
            return rows, int(found.request.count)

    def all(self, path: str, *, fields: Sequence[str] | None = None, **filters: Any) -> list[Row]:
        """Every row of a list (see `all_of`)."""
        return self.all_of({path: Listing(path, fields, filters)})[path]

    def all_of(self, listings: Mapping[str, Listing]) -> dict[str, list[Row]]:
        """Every row of several lists in two rounds: the first page of each at once (each
        tells its count), then all their other pages at once."""
        firsts = {
            name: self._pages.submit(self.page, it.path, fields=it.fields, **it.filters)
            for name, it in listings.items()
        }
        rows: dict[str, list[Row]] = {}
        rest: list[tuple[str, Future[tuple[list[Row], int]]]] = []
        for name, future in firsts.items():
            listing = listings[name]
            rows[name], count = future.result()
            for offset in range(len(rows[name]), count, self.page_size) if rows[name] else ():
                rest.append((name, self._pages.submit(
                    self.page, listing.path, offset=offset, fields=listing.fields,
                    **listing.filters,
                )))  # fmt: skip
        for name, future in rest:
            rows[name].extend(future.result()[0])
        return rows

    def count(self, path: str, **filters: Any) -> int:
        """How many rows match, in one request of one brief row."""
        return self.page(path, limit=1, brief=1, **filters)[1]

    def get(self, path: str, object_id: int) -> Row:
        """One object in full (devices without their config context); NotFound if gone."""
        params = self._trim(path, None)
        with translated(self.url, self.timeout):
            rows = list(self._endpoint(path).filter(id=object_id, limit=1, **params).response)
        if not rows:
            raise NotFound(
                f"NetBox has no {path.split('/')[1].rstrip('s')} with id {object_id} any more."
            )
        return rows[0]

    def available(self, prefix_id: int, what: str, limit: int) -> list[str]:
        """The first `limit` free addresses (`what` "ips") or child prefixes ("prefixes") of
        one prefix, from its own available-* endpoint: never a scan over all prefixes. The
        endpoint takes no `limit` in NetBox's API description: it answers a page (at least
        its default 50), cut here."""
        with translated(self.url, self.timeout):
            endpoint = self._endpoint("ipam/prefixes")
            holder = endpoint.return_obj({"id": prefix_id}, self.api, endpoint)
            found = getattr(holder, f"available_{what}").list()
            key = "address" if what == "ips" else "prefix"
            return [str(getattr(row, key)) for row in itertools.islice(found, limit)]

    def parallel(self, calls: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        """Several requests at once (`{"name": call}` -> `{"name": result}`), for a card
        built from a few lists. On their own pool: a call may list (whose pages go to the
        page pool), and a pool waiting on itself would deadlock."""
        futures = {name: self._calls.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def _token_problem(status: int, response: requests.Response) -> str:
    """Which token problem NetBox means: it answers 403 alike for a missing, an unknown and
    an under-privileged token, and only its `detail` tells them apart."""
    try:
        detail = str(response.json().get("detail", ""))
    except (ValueError, AttributeError):
        detail = ""
    if status == 401 or "token" in detail.lower() or "credentials" in detail.lower():
        return "it is wrong or expired"
    return "it may not read this"


@contextlib.contextmanager
def translated(url: str, timeout: float) -> Iterator[None]:
    """pynetbox's and requests' exceptions as messages naming the cause and the remedy."""
    try:
        yield
    except pynetbox.RequestError as exc:
        status = exc.req.status_code
        if status in (401, 403):
            raise NetboxTokenRejected(
                f"NetBox refused netbot's token (NETBOX_TOKEN, HTTP {status}): "
                f"{_token_problem(status, exc.req)}; an operator must fix the token."
            ) from None
        if status == 404:
            raise NotFound("NetBox has no such object (HTTP 404).") from None
        raise NetboxUnavailable(
            f"NetBox answered HTTP {status} {mask_credentials(str(exc.req.reason or ''))}; "
            "try again later."
        ) from None
    except pynetbox.ContentError:
        raise NetboxUnavailable(f"{url} answered something that is not NetBox's API.") from None
    except requests.exceptions.SSLError:
        raise NetboxUnavailable(
            f"NetBox's TLS certificate at {url} is not trusted: set netbox.ca_bundle to the "
            "certificate of the authority that signed it."
        ) from None
    except requests.exceptions.Timeout:
        raise NetboxUnavailable(
            f"NetBox did not answer within {timeout:g} s (netbox.timeout_seconds); try again later."
        ) from None
    except requests.exceptions.ConnectionError:
        raise NetboxUnavailable(f"NetBox is unreachable at {url}; try again later.") from None
