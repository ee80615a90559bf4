"""Check the fake NetBox's traffic against NetBox's own OpenAPI description (4.6.8).

A fake that answers what NetBox never would makes the capability's tests lie, so every request
pynetbox sends and every response the fake returns goes through here. The spec lives outside the
project in ``../shared/specs`` and is never copied in; where it is absent the checks are skipped
and :data:`CONTRACT_CHECKING` is ``False``.

Answers: NetBox's spec is OpenAPI 3.0 with ~4,900 ``nullable: true`` that openapi-core rejects
on real NetBox answers, so the schemas of bodies (components and inline bodies, not parameters:
that crashes openapi-core) are rewritten to 3.1 first: ``type: [t, "null"]`` (``anyOf`` with
null for ``$ref``/``allOf``), ``None`` added to nullable enums, 3.0's boolean
``exclusiveMinimum``/``exclusiveMaximum`` turned into 3.1's numbers. Choice objects (``{value,
label}``) become nullable too: NetBox's ChoiceField answers null for a blank choice (an address
without a role), which its spec does not say. A page's envelope (``count``, ``next``, ...) is
checked by openapi-core, its items by JSON Schema against the same rewritten components (three
times faster on whole pages): full items against the model, ``brief`` items against
``Brief<Model>`` where the spec has one, ``fields=`` items against the model with ``required``
narrowed to the fields asked, ``omit=``/``exclude=`` items without the dropped fields. Cursor
pages (``start=``, 4.6) carry ``count: null``, which the spec does not allow either.

Requests: see :func:`check_request` (the operation's parameter schemas, directly).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = PROJECT_ROOT / ".." / "shared" / "specs" / "netbox-openapi.json"
CONTRACT_CHECKING: bool = SPEC_PATH.is_file()
SKIP_REASON = f"../shared/specs not present: {SPEC_PATH} is missing, contract checks are skipped"

_HOST = "http://netbox.invalid"  # the spec's server is "" (relative): any host will do
TRUE = ("1", "true", "True")  # what NetBox (django-filter) reads as a true boolean


@functools.cache
def raw_spec() -> bytes:
    """The spec's bytes, as NetBox serves them at /api/schema/ (pynetbox's strict_filters)."""
    return SPEC_PATH.read_bytes()


def _to_31(node: Any) -> Any:
    """One schema rewritten from 3.0 to 3.1 (see the module), recursively."""
    if isinstance(node, list):
        return [_to_31(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _to_31(value) for key, value in node.items()}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if out.get(bound) is True and limit in out:
            out[bound] = out.pop(limit)
        elif isinstance(out.get(bound), bool):
            del out[bound]
    if set(out.get("properties", {})) == {"value", "label"}:
        out["nullable"] = True  # a blank choice: NetBox's ChoiceField answers null
    if not out.pop("nullable", False):
        return out
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        return out
    if any(key in out for key in ("$ref", "allOf", "oneOf", "anyOf")):
        shape = {k: out.pop(k) for k in ("$ref", "allOf", "oneOf", "anyOf") if k in out}
        out["anyOf"] = [shape, {"type": "null"}]
    return out  # no type at all: anything, null included


@functools.cache
def spec() -> dict[str, Any]:
    """The spec with bodies' schemas rewritten to 3.1 (loaded once per process)."""
    document = json.loads(raw_spec())
    document["openapi"] = "3.1.0"
    components = document["components"]
    components["schemas"] = _to_31(components["schemas"])
    for operations in document["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for holder in [operation.get("requestBody", {}), *operation["responses"].values()]:
                for media in holder.get("content", {}).values():
                    if "schema" in media:
                        media["schema"] = _to_31(media["schema"])
    return document


@functools.cache
def _openapi() -> Any:
    from openapi_core import Config, OpenAPI

    # Skipping the spec's own validation saves ~30 s per process.
    return OpenAPI.from_dict(spec(), config=Config(spec_validator_cls=None))


@functools.cache
def _item_validator(schema_name: str, keep: frozenset[str] | None) -> Any:
    """A JSON Schema validator for one component; with `keep`, only the required fields in
    it stay required (the others were trimmed by `fields=`, `omit=` or `exclude=`)."""
    from openapi_schema_validator import OAS31Validator

    document = spec()
    schema = copy.deepcopy(document["components"]["schemas"][schema_name])
    if keep is not None:
        schema["required"] = sorted(keep & set(schema.get("required", [])))
    return OAS31Validator({**schema, "components": document["components"]})


def _errors(exc: Exception) -> str:
    """openapi-core's error plus the innermost schema errors, each with its JSON path."""
    schema_errors = getattr(exc.__cause__, "schema_errors", None) or ()
    details = [f"{e.json_path}: {_short(e.message)}" for e in schema_errors][:3]
    return f"{type(exc).__name__}: " + ("; ".join(details) or str(exc.__cause__ or exc))


def _short(message: str, limit: int = 200) -> str:
    """An error message without the hundreds of enum values some NetBox fields list."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _mock_request(method: str, path: str, query: dict[str, str], body: Any,
                  headers: dict[str, str]) -> Any:  # fmt: skip
    from openapi_core.testing import MockRequest

    data = None if body is None else json.dumps(body).encode()
    return MockRequest(_HOST, method.lower(), path, args=query,
                       headers=headers, data=data, content_type="application/json")  # fmt: skip


def operation(method: str, path_template: str) -> dict[str, Any] | None:
    """The spec's operation for a templated path (`/api/dcim/sites/{id}/`), or None."""
    if not CONTRACT_CHECKING:
        return None
    found = spec()["paths"].get(path_template, {}).get(method.lower())
    return found if isinstance(found, dict) else None


def _boolean(text: str) -> bool:
    """A query boolean as NetBox (django-filter) reads it: pynetbox sends `brief=1`, `True`."""
    if text in TRUE:
        return True
    if text in ("false", "False", "0"):
        return False
    raise ValueError(text)


_CAST: dict[str, Callable[[str], Any]] = {
    "integer": int, "number": float, "boolean": _boolean, "string": str,
}  # fmt: skip


@functools.cache
def _parameters(method: str, path_template: str) -> dict[str, tuple[dict[str, Any], Any]]:
    """The operation's query parameters: name -> (schema, its JSON Schema validator)."""
    from openapi_schema_validator import OAS30Validator

    found = operation(method, path_template) or {}
    return {
        p["name"]: (p.get("schema", {}), OAS30Validator(p.get("schema", {})))
        for p in found.get("parameters", [])
        if p["in"] == "query"
    }


def check_request(method: str, path_template: str, query: Iterable[tuple[str, str]],
                  headers: dict[str, str]) -> list[str]:  # fmt: skip
    """The problems of one request (`/api/dcim/sites/{id}/` form, query as pairs).

    openapi-core takes ~0.4 s a request here (a NetBox list operation declares up to 360
    parameters, and it prepares every one), so requests are checked directly against the
    operation's own parameter schemas: each value cast as NetBox reads it, then validated;
    a parameter NetBox does not declare is a problem too (NetBox ignores it silently, so the
    client's filter does nothing). `exclude` is the one exception: NetBox still honours
    `exclude=config_context` though its spec no longer lists it.
    """
    if not CONTRACT_CHECKING:
        return []
    found = operation(method, path_template)
    if found is None:
        return [f"request {method} {path_template}: not an operation of NetBox's API"]
    problems = []
    auth = headers.get("Authorization", "")
    if found.get("security") and not auth.startswith(("Token ", "Bearer ")):
        problems.append("no `Authorization: Token <token>` (or `Bearer`) header")
    declared = _parameters(method, path_template)
    pairs = list(query)
    unknown = sorted({name for name, _ in pairs} - set(declared) - {"exclude"})
    if unknown:
        problems.append(f"NetBox has no parameter(s) {unknown}; it would ignore them silently")
    for name, text in pairs:
        if name not in declared:
            continue
        schema, validator = declared[name]
        many = schema.get("type") == "array"
        kind = (schema.get("items", {}) if many else schema).get("type", "string")
        try:
            value = _CAST.get(kind, str)(text)
        except ValueError:
            problems.append(f"{name}={text!r} is not a valid {kind}")
            continue
        errors = [_short(e.message) for e in validator.iter_errors([value] if many else value)]
        if errors:
            problems.append(f"{name}={text!r}: " + "; ".join(errors[:2]))
    return [f"request {method} {path_template} violates the spec: {p}" for p in problems]


def _item_schema_name(method: str, path_template: str) -> str | None:
    """The component a list or detail answer's items are (`Site` for /api/dcim/sites/)."""
    found = operation(method, path_template)
    if found is None:
        return None
    schema = found["responses"]["200"]["content"]["application/json"]["schema"]
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    if name.startswith("Paginated") and name.endswith("List"):
        page = spec()["components"]["schemas"][name]
        name = page["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
    return name or None


def _check_items(items: list[Any], schema_name: str, required: frozenset[str] | None) -> str:
    validator = _item_validator(schema_name, required)
    for index, item in enumerate(items):
        problems = [f"{e.json_path}: {_short(e.message)}" for e in validator.iter_errors(item)]
        if problems:
            return f"item {index} ({schema_name}): " + "; ".join(problems[:3])
    return ""


def check_response(method: str, path: str, path_template: str, status: int, body: Any,
                   query: dict[str, str] | None = None) -> str | None:  # fmt: skip
    """Validate one response the fake is about to send; the problem or None.

    Errors (4xx) are not described by NetBox's spec: their body must be `{"detail": text}`.
    """
    if not CONTRACT_CHECKING:
        return None
    query = query or {}
    where = f"response to {method} {path} ({status})"
    if status >= 400:
        ok = isinstance(body, dict) and isinstance(body.get("detail"), str) and len(body) == 1
        return None if ok else f"{where}: an error body is {{'detail': text}}, not {body!r}"
    brief = query.get("brief") in TRUE
    asked = _names(query.get("fields"))
    dropped = _names(query.get("omit")) | _names(query.get("exclude"))
    items: list[Any] | None = None
    whole = body
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        items, whole = body["results"], {**body, "results": []}  # items: JSON Schema, 3x faster
    elif isinstance(body, dict) and (brief or asked or dropped):
        items, whole = [body], None
    if isinstance(whole, dict) and whole.get("count", 0) is None and "start" in query:
        whole = {**whole, "count": 0}  # cursor paging (4.6) answers no count; the spec says int
    if whole is not None:
        from openapi_core.testing import MockResponse

        request = _mock_request(method, path, query, None, {})
        response = MockResponse(json.dumps(whole).encode(), status_code=status)
        try:
            _openapi().validate_response(request, response)
        except Exception as exc:
            return f"{where} violates the spec: {_errors(exc)}"
    if items is None:
        return None
    name = _item_schema_name(method, path_template)
    if name is None:
        return f"{where}: no schema for {path_template}"
    problem = ""
    if brief:
        brief_name = f"Brief{name.removesuffix('WithConfigContext')}"
        known = brief_name in spec()["components"]["schemas"]
        problem = _check_items(items, brief_name if known else name, None if known else frozenset())
    elif asked:
        extra = [sorted(set(item) - asked) for item in items if set(item) - asked]
        problem = f"fields={query['fields']} answered other fields too: {extra[0]}" if extra else ""
        problem = problem or _check_items(items, name, asked)
    elif not dropped:
        problem = _check_items(items, name, None)
    else:
        kept = [sorted(set(item) & dropped) for item in items if set(item) & dropped]
        problem = f"omitted fields still answered: {kept[0]}" if kept else ""
        every = frozenset(spec()["components"]["schemas"][name].get("properties", {}))
        problem = problem or _check_items(items, name, every - dropped)
    return f"{where} violates the spec: {problem}" if problem else None


def _names(text: str | None) -> frozenset[str]:
    """`fields=` / `omit=` / `exclude=` values: comma-separated field names."""
    return frozenset(name.strip() for name in (text or "").split(",") if name.strip())
