"""Validation against Tradera's own OpenAPI v4 document, at run time and for tests.

The file is ``/work/shared/api-specs/tradera/openapi-v4.json`` beside the repository (CI has the same layout;
``INTEGRATIONS_SHARED`` points elsewhere). Without it validation is off and :data:`AVAILABLE` is False.

* ``$ref``s resolve inside the document; OpenAPI 3.0 ``nullable: true`` allows null.
* ``format: int32|int64`` accept only JSON integers in range (``1.0`` and ``1.5`` are refused, as .NET's
  ``int`` binding refuses them: guesses.BIND_ERROR_STATUS); ``date-time`` and ``uuid`` are checked.
* Requests: properties typed as another schema may be null (guesses.NULL_REFS_BIND); undeclared properties
  are refused (``additionalProperties: false`` in the spec; guesses.BIND_UNKNOWN_FIELDS_REFUSED).
* :data:`CORRECTIONS`: the spec leaves ``IdDescriptionPair``, ``Category``, ``User`` and ``ItemStatus`` as
  empty objects that allow no property at all; the sandbox answers the guessed shapes (guesses.REF_SHAPES:
  v3 shapes, camelCase [3p: wsdl-ts IdDescriptionPair; 3p: py-client]; categories as the vendor MCP walks
  them [doc: plugin mcp/server.mjs]) and validates against those. ``GET /v4/reference-data/time`` is a bare
  string in the spec but ``{"time": ...}`` on the vendor page [doc: rest] (guesses.TIME_BODY_IS_OBJECT).

Public: :func:`validate_request`, :func:`validate_response` (lists of problems, empty when valid),
:func:`has_request_body`, :func:`operation`.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import uuid
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft7Validator, FormatChecker

from integrations_dagster.sandbox.tradera import guesses

_SHARED = Path(os.environ["INTEGRATIONS_SHARED"]) if os.environ.get("INTEGRATIONS_SHARED") else \
    Path(__file__).resolve().parents[3].parent / "shared"
SPEC_PATH = _SHARED / "api-specs" / "tradera" / "openapi-v4.json"
AVAILABLE = SPEC_PATH.exists()

_STR = {"type": "string", "nullable": True}
_INT = {"type": "integer", "format": "int32"}
CORRECTIONS: dict[str, dict] = {
    "IdDescriptionPair": {"type": "object", "additionalProperties": False,
                          "properties": {"id": _INT, "description": _STR, "value": _STR}},
    "Category": {"type": "object", "additionalProperties": False,
                 "properties": {"categoryId": _INT, "categoryName": _STR,
                                "subCategories": {"type": "array", "nullable": True,
                                                  "items": {"$ref": "#/components/schemas/Category"}}}},
    "User": {"type": "object", "additionalProperties": False,
             "properties": {"id": _INT, "alias": _STR, "firstName": _STR, "lastName": _STR, "email": _STR,
                            "phoneNumber": _STR, "mobilePhoneNumber": _STR, "address": _STR, "zipCode": _STR,
                            "city": _STR, "countryName": _STR, "totalRating": _INT}},
    "ItemStatus": {"type": "object", "additionalProperties": False,
                   "properties": {"ended": {"type": "boolean"}, "gotBidders": {"type": "boolean"},
                                  "gotWinner": {"type": "boolean"}}},
}
RESPONSE_OVERRIDES = {  # (method, template) -> schema
    ("get", "/v4/reference-data/time"): {"type": "object", "additionalProperties": False,
                                         "properties": {"time": {"type": "string", "format": "date-time"}}},
}
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _strict_int(_checker, value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(_checker, value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES = Draft7Validator.TYPE_CHECKER.redefine("integer", _strict_int).redefine("number", _number)
_Validator = jsonschema.validators.extend(Draft7Validator, type_checker=_TYPES)
FORMATS = FormatChecker(formats=())


@FORMATS.checks("int32")
def _int32(value: Any) -> bool:
    return not _strict_int(None, value) or -2**31 <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: Any) -> bool:
    return not _strict_int(None, value) or -2**63 <= value < 2**63


@FORMATS.checks("date-time")
def _date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@FORMATS.checks("uuid")
def _uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@FORMATS.checks("byte")
def _byte(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return True


def _transform(node: Any, request: bool) -> Any:
    """``nullable`` into JSON Schema types; descriptions dropped; in requests ``$ref`` properties nullable."""
    if isinstance(node, list):
        return [_transform(v, request) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _transform(v, request) for k, v in node.items()  # annotations only: a *property* may be so named
            if k not in ("description", "example", "default") or isinstance(v, dict)}
    if request and guesses.NULL_REFS_BIND and isinstance(node.get("properties"), dict):
        for name, prop in node["properties"].items():
            if isinstance(prop, dict) and set(prop) == {"$ref"}:
                node["properties"][name] = {"anyOf": [prop, {"type": "null"}]}
    if request and not guesses.BIND_UNKNOWN_FIELDS_REFUSED:
        node.pop("additionalProperties", None)
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@lru_cache(maxsize=None)
def _raw() -> dict:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=2)
def _components(request: bool) -> dict:
    schemas = copy.deepcopy(_raw()["components"]["schemas"])
    schemas.update(copy.deepcopy(CORRECTIONS))
    return {"schemas": _transform(schemas, request)}


@lru_cache(maxsize=None)
def _templates() -> list[tuple[re.Pattern, str, dict]]:
    """(pattern, template, operations) with literal templates first (``/shop-items/variant`` before ``{itemId}``)."""
    rows = []
    for template, ops in _raw()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "/?$")
        rows.append((template.count("{"), pattern, template, ops))
    rows.sort(key=lambda r: r[0])
    return [(p, t, ops) for _, p, t, ops in rows]


def operation(method: str, path: str) -> tuple[str, dict] | None:
    """(template, operation object) for a concrete path such as ``/v4/orders/12,13``; None if unknown."""
    if not AVAILABLE:
        return None
    path = path.split("?")[0]
    for pattern, template, ops in _templates():
        if pattern.match(path) and method.lower() in ops:
            return template, ops[method.lower()]
    return None


def _json_schema(content: dict | None) -> dict | None:
    content = content or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    return media.get("schema") if media else None


def has_request_body(method: str, path: str) -> bool:
    if not AVAILABLE:
        return method.upper() in ("POST", "PUT") and not path.rstrip("/").endswith("/ship")
    found = operation(method, path)
    return bool(found and "requestBody" in found[1])


@lru_cache(maxsize=256)
def _validator(schema_key: str, request: bool) -> Any:
    root = {**_transform(json.loads(schema_key), request), "components": _components(request)}
    return _Validator(root, format_checker=FORMATS)


def _problems(schema: dict, body: Any, request: bool) -> list[str]:
    validator = _validator(json.dumps(schema, sort_keys=True), request)
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'.'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}" for e in errors]


def validate_request(method: str, path: str, body: Any) -> list[str]:
    """Problems of ``body`` against the request schema of ``method path``; [] when valid or spec absent."""
    if not AVAILABLE:
        return []
    found = operation(method, path)
    if found is None:
        return [f"no operation {method.upper()} {path} in the Tradera spec"]
    schema = _json_schema(found[1].get("requestBody", {}).get("content"))
    if schema is None:
        return []
    return _problems(schema, body, request=True)


def validate_response(method: str, path: str, body: Any, status: int = 200) -> list[str]:
    """Problems of ``body`` against the ``status`` answer of ``method path``; [] when valid or spec absent."""
    if not AVAILABLE:
        return []
    found = operation(method, path)
    if found is None:
        return [f"no operation {method.upper()} {path} in the Tradera spec"]
    template, op = found
    schema = RESPONSE_OVERRIDES.get((method.lower(), template))
    if schema is None:
        response = op.get("responses", {}).get(str(status))
        if response is None:
            return [f"status {status} is not declared for {method.upper()} {template}"]
        schema = _json_schema(response.get("content"))
    if schema is None:
        return []
    return _problems(schema, body, request=False)
