"""Check Slack Web API traffic against Slack's own API description, and hand-written schemas
where that description stops.

Why: a fake that accepts what Slack would reject (or answers what Slack never would) makes
the bridge's tests lie. Every call the fake serves goes through `check_request` (what
slack_sdk sent) and `check_response` (what the fake answers); the fake records a problem in
its `failures`, which fails the test.

Which methods use which:
- Slack's archived 2020 Swagger 2.0 description (`../shared/specs/
  slack-web-openapi-v2-without-examples.json`, read from there, never copied): auth.test,
  chat.postMessage, chat.update, chat.delete, conversations.create, conversations.setTopic,
  conversations.archive, conversations.history, conversations.replies, conversations.info,
  conversations.join, conversations.list, users.info. Requests: the operation's `parameters` (`token` aside: slack_sdk sends it in
  the Authorization header), no others allowed; answers: its `200` schema (`ok: true`) or
  its `default` schema (`ok: false`, any HTTP status). Skipped (`CONTRACT_CHECKING` False,
  `SKIP_REASON`) where `../shared` is absent.
- Hand-written (always checked): apps.connections.open (absent from the description), and
  the parts of the others the description lacks or gets wrong, each because Slack today
  differs from the 2020 text (see slack.md):
  1. parameters added since 2020 (`_NEWER_PARAMS`): `metadata` (chat.postMessage/update,
     checked by `METADATA`), `include_all_metadata` (conversations.history), `markdown_text`,
     `reply_broadcast`/`file_ids` on chat.update, `team_id` on conversations.create;
     parameters the description forgets to require (`_REQUIRED`: chat.delete's channel and ts,
     every conversations.* method's channel, conversations.create's name, users.info's user);
  2. how values travel: booleans as true/false or "0"/"1"/"true"/"false", numbers (ts) as
     digit strings, `blocks` as a JSON array (or JSON text), `metadata` as an object;
  3. tuple-form `items` on values that are not arrays (`objs_conversation`, `objs_user`,
     `bot_id`, `latest`, ...) check nothing as written: they become `anyOf` their variants;
  4. error answers may also carry the errors Slack documents for every method today
     (`_COMMON_ERRORS`: `missing_scope` with `needed`/`provided`, `ratelimited`, ...) and
     the method-specific ones added since (`_NEWER_ERRORS`);
  5. success answers may carry `warning`/`response_metadata`; a message may carry `metadata`,
     `edited` and `app_id`; chat.update's `message.blocks` is an array (the description says
     object); conversations.history's `messages` may be empty (it says at least one);
     conversations.replies' messages are checked as `objs_message` (its own 2020 shapes
     allow neither `bot_id`, `blocks` nor `metadata`).
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs pinned; Any is fine here

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = PROJECT_ROOT / ".." / "shared" / "specs" / "slack-web-openapi-v2-without-examples.json"
CONTRACT_CHECKING: bool = SPEC_PATH.is_file()
SKIP_REASON = f"../shared/specs not present: {SPEC_PATH} is missing, Slack contract checks skipped"

METADATA = {
    "type": "object",
    "required": ["event_type", "event_payload"],
    "additionalProperties": False,
    "properties": {
        "event_type": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "event_payload": {"type": "object"},
    },
}
_BOOLEAN = {"anyOf": [{"type": "boolean"}, {"enum": ["0", "1", "true", "false"]}]}
_NUMBER = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\d+(\.\d+)?$"}]}
_INTEGER = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\d+$"}]}
_TYPES = {"boolean": _BOOLEAN, "number": _NUMBER, "integer": _INTEGER, "string": {"type": "string"}}
# Values slack_sdk sends as JSON (the description says "string": JSON text in a form).
_JSON_PARAMS = {
    "blocks": {"anyOf": [{"type": "string"}, {"$ref": "#/definitions/blocks"}]},
    "attachments": {"anyOf": [{"type": "string"}, {"type": "array"}]},
    "metadata": {"anyOf": [{"type": "string"}, METADATA]},
}
_NEWER_PARAMS: dict[str, dict[str, Any]] = {
    "chat.postMessage": {"metadata": METADATA, "markdown_text": {"type": "string"}},
    "chat.update": {
        "metadata": METADATA,
        "markdown_text": {"type": "string"},
        "reply_broadcast": _BOOLEAN,
        "file_ids": {"type": "string"},
    },
    "conversations.history": {"include_all_metadata": _BOOLEAN},
    "conversations.replies": {"include_all_metadata": _BOOLEAN},
    "conversations.create": {"team_id": {"type": "string"}},
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "chat.delete": ("channel", "ts"),
    "conversations.create": ("name",),
    "conversations.setTopic": ("channel", "topic"),
    "conversations.archive": ("channel",),
    "conversations.history": ("channel",),
    "conversations.replies": ("channel", "ts"),
    "conversations.info": ("channel",),
    "conversations.join": ("channel",),
    "users.info": ("user",),
}
_COMMON_ERRORS = (
    "missing_scope", "ratelimited", "not_authed", "invalid_auth", "token_revoked",
    "token_expired", "account_inactive", "no_permission", "not_allowed_token_type",
    "fatal_error", "internal_error", "service_unavailable", "request_timeout",
    "invalid_arguments", "unknown_method",
)  # fmt: skip
_NEWER_ERRORS: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("invalid_blocks", "invalid_metadata_format", "invalid_thread_ts"),
    "chat.update": (
        "invalid_blocks",
        "invalid_metadata_format",
        "is_archived",
        "not_in_channel",
    ),
    "chat.delete": ("is_archived", "not_in_channel"),
    "conversations.history": ("not_in_channel", "invalid_cursor", "message_not_found"),
    "conversations.replies": ("not_in_channel", "invalid_cursor", "invalid_thread_ts"),
    "conversations.list": ("invalid_cursor",),
}
_ERROR_EXTRAS = {
    "needed": {"type": "string"},
    "provided": {"type": "string"},
    "warning": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "string"}},
    "response_metadata": {"type": "object"},
}
_SUCCESS_EXTRAS = {"warning": {"type": "string"}, "response_metadata": {"type": "object"}}
_MESSAGE_EXTRAS = {
    "metadata": METADATA,
    "app_id": {"type": "string"},
    "edited": {"type": "object", "required": ["user", "ts"],
               "properties": {"user": {"type": "string"}, "ts": {"$ref": "#/definitions/defs_ts"}}},
}  # fmt: skip
# apps.connections.open: not in the 2020 description.
_HAND_WRITTEN: dict[str, dict[str, dict[str, Any]]] = {
    "apps.connections.open": {
        "request": {"type": "object", "additionalProperties": False, "properties": {}},
        "ok": {
            "type": "object",
            "additionalProperties": False,
            "required": ["ok", "url"],
            "properties": {
                "ok": {"enum": [True]},
                "url": {"type": "string", "pattern": "^wss?://"},
            },
        },
        "error": {
            "type": "object",
            "required": ["ok", "error"],
            "additionalProperties": False,
            "properties": {"ok": {"enum": [False]}, "error": {"type": "string"}, **_ERROR_EXTRAS},
        },
    },
}


@functools.cache
def _spec() -> dict[str, Any]:
    """The description, read once, with the repairs of the module's list (3) applied."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    spec = _tuples_to_any_of(spec)
    message = spec["definitions"]["objs_message"]
    message["properties"].update(copy.deepcopy(_MESSAGE_EXTRAS))
    return spec


def _tuples_to_any_of(node: Any) -> Any:
    if isinstance(node, list):
        return [_tuples_to_any_of(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {key: _tuples_to_any_of(value) for key, value in node.items()}
    if isinstance(fixed.get("items"), list) and "type" not in fixed:
        fixed["anyOf"] = fixed.pop("items")
    return fixed


def _operation(method: str) -> dict[str, Any] | None:
    path = _spec()["paths"].get(f"/{method}")
    return None if path is None else next(iter(path.values()))


@functools.cache
def _validator(method: str, kind: str) -> Any | None:
    """The validator of `method`'s request ("request"), success ("ok") or error ("error")."""
    if method in _HAND_WRITTEN:
        return jsonschema.Draft4Validator(_HAND_WRITTEN[method][kind])
    if not CONTRACT_CHECKING or (operation := _operation(method)) is None:
        return None
    if kind == "request":
        schema = _request_schema(method, operation)
    else:
        schema = copy.deepcopy(
            operation["responses"]["200" if kind == "ok" else "default"]["schema"]
        )
        _relax_answer(method, kind, schema)
    return jsonschema.Draft4Validator({**schema, "definitions": _spec()["definitions"]})


def _request_schema(method: str, operation: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = set(_REQUIRED.get(method, ()))
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if name == "token":
            continue
        properties[name] = _JSON_PARAMS.get(name) or _TYPES[parameter.get("type", "string")]
        if parameter.get("required"):
            required.add(name)
    properties.update(_NEWER_PARAMS.get(method, {}))
    return {"type": "object", "properties": properties, "required": sorted(required),
            "additionalProperties": False}  # fmt: skip


def _relax_answer(method: str, kind: str, schema: dict[str, Any]) -> None:
    """The module's list (4) and (5), on a copy of one answer schema."""
    properties = schema.setdefault("properties", {})
    if kind == "error":
        error = properties.setdefault("error", {"type": "string"})
        if "enum" in error:
            error["enum"] = [*error["enum"], *_COMMON_ERRORS, *_NEWER_ERRORS.get(method, ())]
        properties.update(_ERROR_EXTRAS)
        return
    for name, extra in _SUCCESS_EXTRAS.items():
        properties.setdefault(name, extra)
    if method == "chat.update":
        properties["message"]["properties"]["blocks"] = {"$ref": "#/definitions/blocks"}
    if method == "conversations.history":
        properties["messages"].pop("minItems", None)
    if method == "conversations.replies":
        properties["messages"]["items"] = {"$ref": "#/definitions/objs_message"}


def _problems(validator: Any, value: Any) -> str:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return "; ".join(f"{e.json_path}: {e.message[:300]}" for e in errors[:5])


def covered(method: str) -> bool:
    """Whether `method` has a schema here (the description's, or a hand-written one)."""
    return _validator(method, "request") is not None


def check_request(method: str, params: dict[str, Any]) -> str | None:
    """The problems of one call's parameters (token aside), or None."""
    validator = _validator(method, "request")
    if validator is None:
        return None if not CONTRACT_CHECKING else f"{method}: no schema for this method"
    problems = _problems(validator, params)
    return f"request {method} violates the contract: {problems}" if problems else None


def check_response(method: str, body: dict[str, Any]) -> str | None:
    """The problems of one answer the fake is about to send, or None."""
    validator = _validator(method, "ok" if body.get("ok") is True else "error")
    if validator is None:
        return None
    problems = _problems(validator, body)
    return f"answer to {method} violates the contract: {problems}" if problems else None
