"""Extract the request-body fields of the BigCommerce operations the sandbox serves into
``integrations_dagster/sandbox/bigcommerce/spec_fields.py`` (run once; the package must not read
``../shared`` at run time).

Usage: ``.venv/bin/python scripts/extract_bigcommerce_spec.py [SPEC_DIR] > integrations_dagster/sandbox/bigcommerce/spec_fields.py``

Notation of a field: ``string:min..max`` (lengths), ``number:min..max``, ``integer:min..max``,
``enum:a|b``, ``boolean``, ``object``, ``array``, ``array:<Kind>`` (items checked as ``<Kind>``),
``array:integer``, ``array:string``; ``?`` suffix = nullable.
"""

from __future__ import annotations

import pprint
import sys
from pathlib import Path

import yaml

SPEC_DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "api-specs" / "bigcommerce"

# kind -> (file, operationId, where in the body: "" = body, "[]" = array items)
OPERATIONS = {
    "ProductPost": ("products_catalog.v3.yml", "createProduct", ""),
    "ProductPut": ("products_catalog.v3.yml", "updateProduct", ""),
    "ProductBatchItem": ("products_catalog.v3.yml", "updateProducts", "[]"),
    "VariantPost": ("product-variants_catalog.v3.yml", "createProductVariant", ""),
    "VariantPut": ("product-variants_catalog.v3.yml", "updateProductVariant", ""),
    "VariantBatchItem": ("product-variants_catalog.v3.yml", "updateVariantsBatch", "[]"),
    "OptionPost": ("product-variant-options_catalog.v3.yml", "createProductVariantOption", ""),
    "CategoryPost": ("categories_catalog.v3.yml", "createCategory", ""),
    "AdjustmentAbsolute": ("inventory.v3.yml", "put-absolute-adjustment", ""),
    "AdjustmentRelative": ("inventory.v3.yml", "post-relative-adjustment", ""),
    "HookPost": ("webhooks.v3.yml", "createWebhooks", ""),
    "HookPut": ("webhooks.v3.yml", "updateWebhook", ""),
}
# nested objects/arrays of objects that get their own kind: (parent kind, field) -> kind
NESTED = {
    ("ProductPost", "variants"): "ProductPostVariant",
    ("ProductPostVariant", "option_values"): "VariantOptionValue",
    ("VariantPost", "option_values"): "VariantOptionValue",
    ("OptionPost", "option_values"): "OptionValue",
    ("AdjustmentAbsolute", "items"): "AdjustmentItem",
    ("AdjustmentRelative", "items"): "AdjustmentItem",
}


def resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target = doc
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def flatten(doc: dict, node: dict, method: str) -> dict:
    """Merge allOf / oneOf (union of properties; required only where every branch requires it).
    A property is also required when its ``x-required`` lists the operation's method (``post``/``put``)."""
    node = resolve(doc, node)
    props: dict = dict(node.get("properties") or {})
    required: set = set(node.get("required") or [])
    required |= {name for name, prop in props.items() if method in (resolve(doc, prop).get("x-required") or [])}
    for part in node.get("allOf") or []:
        sub = flatten(doc, part, method)
        props.update(sub["properties"])
        required |= set(sub["required"])
    branches = [flatten(doc, b, method) for b in (node.get("oneOf") or node.get("anyOf") or [])]
    if branches:
        for sub in branches:
            props.update(sub["properties"])
        required |= set.intersection(*(set(b["required"]) for b in branches))
    return {"properties": props, "required": sorted(required), "type": node.get("type"), "items": node.get("items")}


def notation(doc: dict, prop: dict, nested_kind: str | None) -> str:
    prop = resolve(doc, prop)
    if "allOf" in prop and "type" not in prop:
        merged = {}
        for part in prop["allOf"]:
            merged.update(resolve(doc, part))
        prop = {**merged, **{k: v for k, v in prop.items() if k != "allOf"}}
    nullable = "?" if prop.get("nullable") else ""
    kind = prop.get("type")
    if "enum" in prop and kind == "string":
        return "enum:" + "|".join(str(v) for v in prop["enum"]) + nullable
    if kind == "string":
        lo, hi = prop.get("minLength"), prop.get("maxLength")
        return ("string" + (f":{lo or 0}..{hi}" if hi is not None else (f":{lo}.." if lo else ""))) + nullable
    if kind in ("number", "integer"):
        lo, hi = prop.get("minimum"), prop.get("maximum")
        rng = f":{lo if lo is not None else ''}..{hi if hi is not None else ''}" if lo is not None or hi is not None else ""
        return f"{kind}{rng}{nullable}"
    if kind == "array":
        if nested_kind:
            return f"array:{nested_kind}{nullable}"
        items = resolve(doc, prop.get("items") or {})
        item_type = items.get("type")
        return (f"array:{item_type}" if item_type in ("integer", "string", "number") else "array") + nullable
    if nested_kind:
        return f"object:{nested_kind}{nullable}"
    return (kind or "any") + nullable


def extract() -> tuple[dict, dict]:
    fields: dict[str, dict[str, str]] = {}
    required: dict[str, list[str]] = {}
    docs = {name: yaml.safe_load((SPEC_DIR / name).read_text()) for name in {f for f, _, _ in OPERATIONS.values()}}
    queue: list[tuple[str, dict, dict, str]] = []
    for kind, (file, op_id, where) in OPERATIONS.items():
        doc = docs[file]
        method, op = next((m, op) for ops in doc["paths"].values() for m, op in ops.items()
                          if isinstance(op, dict) and op.get("operationId") == op_id)
        schema = resolve(doc, resolve(doc, op["requestBody"])["content"]["application/json"]["schema"])
        if where == "[]":
            schema = resolve(doc, schema["items"])
        queue.append((kind, doc, schema, method))
    while queue:
        kind, doc, schema, method = queue.pop(0)
        flat = flatten(doc, schema, method)
        fields[kind] = {}
        for name, prop in sorted(flat["properties"].items()):
            nested = NESTED.get((kind, name))
            fields[kind][name] = notation(doc, prop, nested)
            if nested and nested not in fields and all(q[0] != nested for q in queue):
                sub = resolve(doc, prop)
                sub = resolve(doc, sub.get("items") or {}) if sub.get("type") == "array" or "items" in sub else sub
                queue.append((nested, doc, sub, method))
        required[kind] = flat["required"]
    return fields, required


def main() -> None:
    fields, required = extract()
    print('"""Request-body fields of the BigCommerce operations the sandbox serves, extracted from the vendor\'s')
    print("OpenAPI files by ``scripts/extract_bigcommerce_spec.py`` [spec: products_catalog.v3.yml createProduct,")
    print("updateProduct, updateProducts; product-variants_catalog.v3.yml createProductVariant, updateProductVariant,")
    print("updateVariantsBatch; product-variant-options_catalog.v3.yml createProductVariantOption;")
    print("categories_catalog.v3.yml createCategory; inventory.v3.yml put-absolute-adjustment,")
    print("post-relative-adjustment; webhooks.v3.yml createWebhooks, updateWebhook]. Generated: do not edit.")
    print()
    print("Notation: ``string:min..max``, ``number:min..max``, ``integer:min..max``, ``enum:a|b``, ``boolean``,")
    print("``object``, ``array``, ``array:integer``, ``array:<Kind>`` (items are checked as that kind),")
    print("``object:<Kind>``; a trailing ``?`` means nullable. ``REQUIRED``: the spec's required properties")
    print("(for oneOf branches, only those every branch requires).")
    print('"""')
    print()
    print("FIELDS: dict[str, dict[str, str]] = " + pprint.pformat(fields, width=110, sort_dicts=False))
    print()
    print("REQUIRED: dict[str, list[str]] = " + pprint.pformat(required, width=110, sort_dicts=False))


if __name__ == "__main__":
    main()
