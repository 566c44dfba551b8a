"""Test helper: validates BigCommerce request and response bodies against the vendor's OpenAPI files.

The files live in ``../shared/api-specs/bigcommerce`` beside the repository (CI has the same layout).
Local ``$ref``s are resolved against the file they come from; OpenAPI 3 ``nullable: true`` allows null.
Where the spec's prose contradicts its own schema, :data:`CORRECTIONS` follows the prose and says where.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "api-specs" / "bigcommerce"
FILES = ("products_catalog.v3.yml", "product-variants_catalog.v3.yml", "product-variant-options_catalog.v3.yml",
         "categories_catalog.v3.yml", "inventory.v3.yml", "orders.v2.oas2.yml", "webhooks.v3.yml")

# schema name -> {property: replacement}: the spec's description allows what its schema does not.
CORRECTIONS = {
    # "This value is `null` for complex products." [spec: products_catalog.v3.yml#components/schemas/product_Full]
    ("products_catalog.v3.yml", "product_Full"): {"base_variant_id": {"type": ["integer", "null"]}},
}


# Operations whose inline variant schema drops the ``nullable`` that ``productVariant_Full`` in the same file
# gives the same fields ("If ... this value is `null`, the product's default price ... will be used"
# [spec: product-variants_catalog.v3.yml#components/schemas/productVariant_Full]): numbers may be null there.
NULLABLE_NUMBERS = {"getVariants", "updateVariantsBatch"}


def _numbers_nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _numbers_nullable(v) for k, v in node.items()}
        if node.get("type") == "number":
            node["type"] = ["number", "null"]
        return node
    if isinstance(node, list):
        return [_numbers_nullable(v) for v in node]
    return node


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items() if k not in ("example", "examples")}
        if node.pop("nullable", False):
            if isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
                if "enum" in node:
                    node["enum"] = [*node["enum"], None]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@lru_cache(maxsize=None)
def _doc(name: str) -> dict:
    doc = _nullable(yaml.safe_load((SPEC_DIR / name).read_text()))
    for (file, schema), props in CORRECTIONS.items():
        if file == name:
            target = doc["components"]["schemas"][schema]
            for part in target.get("allOf", [target]):
                for prop, replacement in props.items():
                    if prop in (part.get("properties") or {}):
                        part["properties"][prop] = replacement
    return doc


def available() -> bool:
    return all((SPEC_DIR / name).exists() for name in FILES)


def _operation(method: str, path: str) -> tuple[dict, dict]:
    """(document, operation) for ``/v3/catalog/products/12`` style paths (after ``/stores/{hash}``)."""
    version, _, rest = path.lstrip("/").partition("/")
    rest = "/" + rest.split("?")[0]
    for name in FILES:
        doc = _doc(name)
        if ("/v2" if "orders.v2" in name else "/v3") != "/" + version:
            continue
        for template, ops in doc["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
            if re.match(pattern, rest) and method.lower() in ops:
                # prefer literal matches (``/catalog/variants`` over ``/catalog/products/{id}``)
                literal = "{" not in template
                if literal or not any(re.match("^" + t + "$", rest) for t in doc["paths"] if "{" not in t):
                    return doc, ops[method.lower()]
    raise AssertionError(f"no operation {method} {path} in the BigCommerce spec files")


def _deref(doc: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _inline(doc: dict, node: Any, depth: int = 0) -> Any:
    """``node`` with its local ``$ref``s replaced by their targets (to patch one operation's schema)."""
    if isinstance(node, dict):
        if "$ref" in node and depth < 12:
            return _inline(doc, _deref(doc, node), depth + 1)
        return {k: _inline(doc, v, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(doc, v, depth) for v in node]
    return node


def _validate(doc: dict, schema: dict, body: Any, where: str) -> None:
    root = {**copy.deepcopy(schema), "components": doc["components"]}
    errors = sorted(Draft7Validator(root).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        details = "\n".join(f"  {'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors[:10])
        raise AssertionError(f"{where} does not match the spec:\n{details}")


def response_schema(method: str, path: str, status: int) -> dict | None:
    doc, op = _operation(method, path)
    responses = op.get("responses", {})
    assert str(status) in responses, f"{method} {path}: status {status} not declared ({sorted(responses)})"
    response = _deref(doc, responses[str(status)])
    content = response.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    return _deref(doc, media["schema"]) if media and "schema" in media else None


def check_response(method: str, path: str, status: int, body: Any) -> None:
    """Assert the status is declared for the operation and ``body`` matches its schema."""
    doc, op = _operation(method, path)
    schema = response_schema(method, path, status)
    if schema is not None and op.get("operationId") in NULLABLE_NUMBERS:
        schema = _numbers_nullable(_inline(doc, schema))
    if schema is not None:
        _validate(doc, schema, body, f"{method} {path} -> {status}")


def check_request(method: str, path: str, body: Any) -> None:
    """Assert ``body`` matches the operation's request schema (raises AssertionError otherwise)."""
    doc, op = _operation(method, path)
    request = _deref(doc, op["requestBody"])
    schema = _deref(doc, request["content"]["application/json"]["schema"])
    _validate(doc, schema, body, f"{method} {path} request")


def request_valid(method: str, path: str, body: Any) -> bool:
    try:
        check_request(method, path, body)
    except AssertionError:
        return False
    return True
