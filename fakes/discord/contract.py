"""Check REST traffic against Discord's own OpenAPI description.

A fake that accepts what Discord would reject (or answers what Discord never would) makes tests
lie, so every request py-cord sends and every response the fake returns goes through here. The
spec lives outside the project in ``../shared/specs`` and is never copied in; where it is absent
the check is skipped and :data:`CONTRACT_CHECKING` is ``False``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = PROJECT_ROOT / ".." / "shared" / "specs" / "discord-openapi.json"
CONTRACT_CHECKING: bool = SPEC_PATH.is_file()
SKIP_REASON = f"../shared/specs not present: {SPEC_PATH} is missing, contract checks are skipped"

# The spec's server is https://discord.com/api/v10; requests are checked as if sent there.
_HOST = "https://discord.com"
_PREFIX = "/api/v10"


@functools.cache
def _openapi() -> Any:
    """Load the spec once per test session (lazily; skipping spec validation saves ~5 s)."""
    from openapi_core import Config, OpenAPI

    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


# Known, harmless py-cord deviations: snowflakes sent as JSON ints where the spec says digit
# strings (Discord accepts both). Only these top-level keys on these paths are rewritten, so
# every other type error is still caught.
_INT_SNOWFLAKES = {
    "parent_id": ("/channels/", "/guilds/"),
    "recipient_id": ("/users/@me/channels",),
}


def _py_cord_quirks(path: str, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    fixed = dict(body)
    for key, prefixes in _INT_SNOWFLAKES.items():
        if isinstance(body.get(key), int) and path.startswith(prefixes):
            fixed[key] = str(body[key])
    # Channel permission overwrites carry their role/member ids as integers too, and files'
    # attachment entries are numbered with integers ({"id": 0, "filename": ...}).
    for key in ("permission_overwrites", "attachments"):
        if isinstance(body.get(key), list):
            fixed[key] = _string_ids(body[key])
    # A select's default values carry their ids as integers too, in messages and callbacks.
    if isinstance(fixed.get("data"), dict):
        fixed["data"] = dict(fixed["data"])
    for holder in (fixed, fixed.get("data")):
        if isinstance(holder, dict) and isinstance(holder.get("components"), list):
            holder["components"] = _string_default_ids(holder["components"])
    # AllowedMentions(roles=..., users=...) sends the ids as integers too.
    mentions = body.get("allowed_mentions")
    if isinstance(mentions, dict):
        fixed["allowed_mentions"] = {
            k: [str(i) if isinstance(i, int) else i for i in v]
            if k in ("roles", "users") and isinstance(v, list)
            else v
            for k, v in mentions.items()
        }
    return fixed


def _string_default_ids(components: list[Any]) -> list[Any]:
    fixed = []
    for component in components:
        if isinstance(component, dict):
            component = dict(component)
            if isinstance(component.get("components"), list):
                component["components"] = _string_default_ids(component["components"])
            if isinstance(component.get("default_values"), list):
                component["default_values"] = _string_ids(component["default_values"])
        fixed.append(component)
    return fixed


def _string_ids(items: list[Any]) -> list[Any]:
    """Objects of a list with an integer ``id`` get it as a string."""
    return [
        {**item, "id": str(item["id"])}
        if isinstance(item, dict) and isinstance(item.get("id"), int)
        else item
        for item in items
    ]


def _form_error_codes(details: Any) -> Any:
    """Discord's field errors carry string codes (``"COMPONENT_CUSTOM_ID_DUPLICATED"``) where
    the spec's ``Error`` says integer; validate their shape with the codes set aside."""
    if not isinstance(details, dict):
        return details
    return {
        key: [{**e, "code": 0} for e in value] if key == "_errors" else _form_error_codes(value)
        for key, value in details.items()
    }


def _errors(exc: Exception) -> str:
    """openapi-core's error plus the innermost schema errors, each with its JSON path."""
    schema_errors = getattr(exc.__cause__, "schema_errors", None) or ()
    details = [f"{e.json_path}: {e.message}" for e in schema_errors]
    return f"{type(exc).__name__}: " + ("; ".join(details) or str(exc.__cause__ or exc))


def _mock_request(
    method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
) -> Any:
    from openapi_core.testing import MockRequest

    data = None if body is None else json.dumps(_py_cord_quirks(path, body)).encode()
    return MockRequest(
        _HOST,
        method,
        _PREFIX + path,
        args=query,
        headers=headers,
        data=data,
        content_type="application/json",
    )


def check_request(
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> str | None:
    """Validate one request (path relative to the API base); return the problem or ``None``."""
    if not CONTRACT_CHECKING:
        return None
    request = _mock_request(method, path, query or {}, body, headers or {})
    try:
        _openapi().validate_request(request)
    except Exception as exc:
        return f"request {method} {path} violates the spec: {_errors(exc)}"
    return None


def check_response(
    method: str,
    path: str,
    status: int,
    body: Any,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> str | None:
    """Validate one response the fake is about to send; return the problem or ``None``."""
    if not CONTRACT_CHECKING:
        return None
    from openapi_core.testing import MockResponse

    request = _mock_request(method, path, query or {}, None, headers or {})
    if isinstance(body, dict) and "errors" in body:
        body = {**body, "errors": _form_error_codes(body["errors"])}
    data = b"" if body is None else json.dumps(body).encode()
    response = MockResponse(data, status_code=status)
    try:
        _openapi().validate_response(request, response)
    except Exception as exc:
        return f"response to {method} {path} ({status}) violates the spec: {_errors(exc)}"
    return None
