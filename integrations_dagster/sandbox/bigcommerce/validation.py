"""Checks a write body against the spec's fields (:mod:`.spec_fields`) and answers BigCommerce's 422.

Required fields missing: ``{"status": 422, "title": "Missing Required Fields", "errors": {"name":
"Please provide a name.", ...}}`` [doc: BCdocs:docs/start/migration/4_errors.md]. Other refusals use
the same body with the offending field in ``errors`` [spec: products_catalog.v3.yml#components/schemas/errorResponse_422];
their titles are guesses (:mod:`.guesses`). Numbers may come as numeric strings: the vendor's own
guide sends ``"price": "10.00"`` [doc: BCdocs:docs/store-operations/catalog/index.mdx] (§9.16).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from integrations_dagster.sandbox.bigcommerce import guesses
from integrations_dagster.sandbox.bigcommerce.spec_fields import FIELDS, REQUIRED
from integrations_dagster.sandbox.bigcommerce.wire import BcError, v3_error

# Spec defects the evidence overrides (§9.16): ``productVariant_Full`` marks id/product_id required on
# the variants of a product POST, which the vendor's own example omits
# [doc: BCdocs:docs/store-operations/catalog/index.mdx]. A variant POST takes option values either by
# ids (``id`` + ``option_id`` [doc: same]) or by ``option_display_name`` + ``label``.
NOT_REALLY_REQUIRED = {"ProductPostVariant": {"id", "product_id"}, "VariantOptionValue": {"label", "option_display_name"}}
# Documented but undeclared fields of a batch variant item: create-through-batch needs ``product_id``,
# ``sku``, ``option_values`` [spec: product-variants_catalog.v3.yml#updateVariantsBatch] (description).
EXTRA_FIELDS = {"VariantBatchItem": {"product_id": "integer", "sku": "string:1..255", "option_values": "array",
                                    "upc": "string:0..14?", "gtin": "string:0..14?", "mpn": "string?"}}


def check(kind: str, body: dict[str, Any], *, path: str = "") -> None:
    """Raise the vendor's 422 for the first problem in ``body`` (a ``kind`` of :data:`FIELDS`)."""
    fields = {**FIELDS[kind], **EXTRA_FIELDS.get(kind, {})}
    missing = [name for name in REQUIRED[kind]
               if name not in NOT_REALLY_REQUIRED.get(kind, set()) and body.get(name) in (None, "")]
    if missing:
        raise v3_error(422, "Missing Required Fields",
                       {path + name: f"Please provide a {name}." for name in missing})
    for name, value in body.items():
        if name not in fields:
            raise v3_error(422, guesses.UNKNOWN_FIELD_TITLE, {path + name: f"{name} is not a valid field."})
        _check_value(path + name, fields[name], value)
    if kind == "VariantOptionValue" and not (
            {"id", "option_id"} <= body.keys() or {"option_display_name", "label"} <= body.keys()):
        raise v3_error(422, "Missing Required Fields",
                       {path.rstrip("."): "Each option value needs id and option_id, or option_display_name and label."})


def _bad(name: str, value: Any, why: str) -> BcError:
    return v3_error(422, guesses.INVALID_FIELD_TITLE, {name: f"{why} (got {value!r})"})


def as_number(value: Any) -> Decimal | None:
    """A JSON number or numeric string as Decimal; None when it is neither."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _check_value(name: str, spec: str, value: Any) -> None:
    nullable = spec.endswith("?")
    spec = spec.rstrip("?")
    if value is None:
        if nullable:
            return
        raise _bad(name, value, "may not be null")
    kind, _, arg = spec.partition(":")
    if kind == "enum":
        if value not in arg.split("|"):
            raise _bad(name, value, f"must be one of {arg.replace('|', ', ')}")
    elif kind in ("number", "integer"):
        number = as_number(value)
        if number is None or (isinstance(value, str) and kind == "integer"):
            raise _bad(name, value, f"must be a {kind}")
        if kind == "integer" and number != number.to_integral_value():
            raise _bad(name, value, "must be an integer")
        low, _, high = arg.partition("..")
        if (low and number < Decimal(low)) or (high and number > Decimal(high)):
            raise _bad(name, value, f"must be within {arg}")
    elif kind == "string":
        if not isinstance(value, str):
            raise _bad(name, value, "must be a string")
        low, _, high = arg.partition("..")
        if (low and len(value) < int(low)) or (high and len(value) > int(high)):
            raise _bad(name, value, f"length must be within {arg}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _bad(name, value, "must be a boolean")
    elif kind == "object":
        if not isinstance(value, dict):
            raise _bad(name, value, "must be an object")
        if arg:
            check(arg, value, path=name + ".")
    elif kind == "array":
        if not isinstance(value, list):
            raise _bad(name, value, "must be an array")
        for i, item in enumerate(value):
            if arg in ("integer", "number", "string"):
                _check_value(f"{name}.{i}", arg, item)
            elif arg:
                if not isinstance(item, dict):
                    raise _bad(f"{name}.{i}", item, "must be an object")
                check(arg, item, path=f"{name}.{i}.")
