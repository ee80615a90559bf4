"""What the threader asks of Redmine, as plain JSON, through the shared `RedmineGateway`.

Blocking calls (python-redmine on requests); the sync runs them on worker threads. Names
that never change while the threader runs (statuses, priorities, people) are read once and
kept, so a cycle's cost does not grow with them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from netbot.core.errors import BackendUnavailable, NotFound
from netbot.redmine import OutcomeUnknown, RedmineGateway
from netbot.threader.render import Names

RETRIES = 3
BACKOFF_SECONDS = 0.5


class RedmineSide:
    """One Redmine, read and written for the threader; `requests` counts the calls made."""

    def __init__(
        self, gateway: RedmineGateway, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.gateway = gateway
        self._sleep = sleep
        self.requests = 0
        self._lock = threading.Lock()
        self._people: dict[int, str] = {}
        self._statuses: dict[int, tuple[str, bool]] | None = None
        self._priorities: dict[int, str] | None = None

    def _rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call, tried again with backoff while Redmine answers 5xx or times out before
        the request left; never a write whose outcome is unknown (its claim resolves it)."""
        for attempt in range(RETRIES):
            with self._lock:
                self.requests += 1
            try:
                return self.gateway.rest(method, path, **kwargs)
            except OutcomeUnknown:
                raise
            except BackendUnavailable:
                if attempt == RETRIES - 1:
                    raise
                self._sleep(BACKOFF_SECONDS * 2**attempt)
        raise AssertionError("unreachable")

    # --- names ---------------------------------------------------------------------------

    def field_id(self, name: str) -> int | None:
        answer = self._rest("get", "/custom_fields.json", what="the custom field list")
        for item in answer.get("custom_fields", []):
            if item.get("name") == name and item.get("customized_type") == "issue":
                return int(item["id"])
        return None

    def statuses(self) -> dict[int, tuple[str, bool]]:
        """Status id -> (name, is_closed)."""
        if self._statuses is None:
            answer = self._rest("get", "/issue_statuses.json", what="the status list")
            self._statuses = {
                int(s["id"]): (str(s["name"]), bool(s.get("is_closed")))
                for s in answer.get("issue_statuses", [])
            }
        return self._statuses

    def names(self, people_ids: set[int]) -> Names:
        """Names for change lines; each person (user or group) is asked for once."""
        if self._priorities is None:
            answer = self._rest(
                "get", "/enumerations/issue_priorities.json", what="the priority list"
            )
            self._priorities = {
                int(p["id"]): str(p["name"]) for p in answer.get("issue_priorities", [])
            }
        for person in people_ids - set(self._people):
            self._people[person] = self._person(person)
        statuses = {k: name for k, (name, _) in self.statuses().items()}
        return Names(statuses, self._priorities, dict(self._people))

    def _person(self, person_id: int) -> str:
        for kind, key in (("users", "user"), ("groups", "group")):
            try:
                found = self._rest("get", f"/{kind}/{person_id}.json", what=f"{key} {person_id}")
            except NotFound:
                continue
            item = found.get(key, {})
            return str(
                item.get("name")
                or f"{item.get('firstname', '')} {item.get('lastname', '')}".strip()
            )
        return f"#{person_id}"

    # --- tickets -------------------------------------------------------------------------

    def changed(self, field_id: int, since: str) -> Iterator[list[dict[str, Any]]]:
        """Enrolled tickets (their thread field has any value), open or closed, updated at
        or after `since` (every one when ""), a page at a time."""
        params = {"status_id": "*", f"cf_{field_id}": "*"}
        if since:
            params["updated_on"] = f">={since}"
        for page in self.gateway.issue_pages(params, what="the enrolled ticket list"):
            with self._lock:
                self.requests += 1
            yield page

    def issue(self, ticket_id: int) -> dict[str, Any]:
        """The ticket with its journals and attachments."""
        answer = self._rest(
            "get", f"/issues/{ticket_id}.json", params={"include": "journals,attachments"},
            what=f"ticket {ticket_id}",
        )  # fmt: skip
        issue: dict[str, Any] = answer["issue"]
        return issue

    def add_note(
        self, ticket_id: int, text: str, as_login: str | None, uploads: list[dict[str, str]]
    ) -> None:
        body: dict[str, Any] = {"notes": text}
        if uploads:
            body["uploads"] = uploads
        self._rest(
            "put", f"/issues/{ticket_id}.json", body={"issue": body}, as_login=as_login,
            what=f"ticket {ticket_id}", check=f"#{ticket_id}",
        )  # fmt: skip

    def edit_note(self, journal_id: int, text: str, as_login: str | None) -> None:
        """Replace a note's text (Redmine 5.0+); never called with empty text, which would
        destroy the journal."""
        if not text.strip():
            raise ValueError("an empty note would delete the journal")
        self._rest(
            "put", f"/journals/{journal_id}.json",
            body={"journal": {"notes": text, "private_notes": False}}, as_login=as_login,
            what=f"note {journal_id}", check=f"note {journal_id}",
        )  # fmt: skip

    def upload(self, data: bytes, filename: str, as_login: str | None) -> str:
        """Upload a file; its token, for attaching it to a note."""
        answer = self._rest(
            "post", "/uploads.json", body=data, params={"filename": filename},
            as_login=as_login, what=f"the upload of {filename}",
        )  # fmt: skip
        return str(answer["upload"]["token"])

    def set_field(self, ticket_id: int, field_id: int, value: str) -> None:
        self._rest(
            "put", f"/issues/{ticket_id}.json",
            body={"issue": {"custom_fields": [{"id": field_id, "value": value}]}},
            what=f"ticket {ticket_id}", check=f"#{ticket_id}",
        )  # fmt: skip
