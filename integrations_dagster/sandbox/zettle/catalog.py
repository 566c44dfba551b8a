"""The Product Library's data rules: the product shape, validation, merge-patch updates, etags.

Shape [doc: product-library.adoc §Create product; 3p: LauLamanApps tests/…/getProduct.json — the GET
fixture]: the product as the client sent it plus server fields ``etag`` (32 uppercase hex),
``updated``/``created`` (``…+0000``), ``updatedBy``. Keys the GET fixture shows as explicit ``null``
when unset stay ``null`` here (``description``, ``externalReference``, ``unitName``; variant
``description``, ``sku``, ``barcode``, ``costPrice``, ``unitName``); variant ``defaultQuantity`` is
``"1"``; ``vatPercentage`` is a **string** [doc; digest §6.2].

Rules: ``name`` mandatory, ≥1 variant ("At least 1 must be provided") [3p: vilkasgroup iZettle.py],
at most 99 variants ("A product contains maximum 99 variants") [doc: …/update-products]; uuids are
client-supplied [doc: product-library.adoc]; money is integer minor units [doc; digest §6.1].
Update is a JSON merge patch (RFC 7396), variants matched by ``uuid`` [doc: product-library.adoc
§Update product]; omitted variants are deleted (guesses.OMITTED_VARIANTS_DELETED).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations_dagster.sandbox.zettle import guesses
from integrations_dagster.sandbox.zettle.wire import Refusal, invalid, is_uuid, stamp, violation

MAX_VARIANTS = 99
SERVER_FIELDS = ("etag", "updated", "updatedBy", "created", "uuid")
PRODUCT_NULLS = ("description", "externalReference", "unitName")
VARIANT_NULLS = ("description", "sku", "barcode", "costPrice", "unitName")


def check(product: dict[str, Any]) -> None:
    """Refuse a product that breaks the vendor's rules, listing every violation at once."""
    problems: list[dict[str, str]] = []
    if not isinstance(product.get("name"), str) or not product["name"].strip():
        problems.append(violation("name", "must not be empty"))
    if not is_uuid(product.get("uuid")):
        problems.append(violation("uuid", "must be a UUID"))
    _check_vat(product.get("vatPercentage"), "vatPercentage", problems)
    variants = product.get("variants")
    if not isinstance(variants, list) or not variants:
        problems.append(violation("variants", "At least 1 must be provided"))
        variants = []
    elif len(variants) > MAX_VARIANTS:
        problems.append(violation("variants", f"A product contains maximum {MAX_VARIANTS} variants"))
    seen: set[str] = set()
    for i, variant in enumerate(variants):
        where = f"variants[{i}]"
        if not isinstance(variant, dict):
            problems.append(violation(where, "must be an object"))
            continue
        if not is_uuid(variant.get("uuid")):
            problems.append(violation(f"{where}.uuid", "must be a UUID"))
        elif variant["uuid"] in seen:
            problems.append(violation(f"{where}.uuid", "duplicate variant uuid"))
        else:
            seen.add(variant["uuid"])
        for money in ("price", "costPrice"):
            _check_money(variant.get(money), f"{where}.{money}", problems)
        _check_vat(variant.get("vatPercentage"), f"{where}.vatPercentage", problems)
    if problems:
        raise invalid("Validation failed", problems)


def _check_money(value: Any, where: str, problems: list) -> None:
    if value is None:
        return
    amount = value.get("amount") if isinstance(value, dict) else None
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(value.get("currencyId"), str):
        problems.append(violation(where, "must be {amount: integer minor units, currencyId}"))


def _check_vat(value: Any, where: str, problems: list) -> None:
    if value is None:
        return
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        rate = Decimal(-1)
    if not 0 <= rate < 100:
        problems.append(violation(where, "must be a percentage"))


def normalise(product: dict[str, Any], moment: datetime, previous: dict | None) -> dict[str, Any]:
    """The product as stored and read back: GET-fixture nulls filled in, server fields set."""
    out = {k: v for k, v in product.items() if k not in SERVER_FIELDS[:-1]}
    for key in PRODUCT_NULLS:
        out.setdefault(key, None)
    out.setdefault("imageLookupKeys", [])
    if out.get("vatPercentage") is not None:
        out["vatPercentage"] = str(out["vatPercentage"])  # a string in product JSON [doc]
    variants = []
    for variant in out.get("variants", []):
        v = dict(variant)
        for key in VARIANT_NULLS:
            v.setdefault(key, None)
        v.setdefault("defaultQuantity", "1")
        v.setdefault("price", None)
        if v.get("vatPercentage") is not None:
            v["vatPercentage"] = str(v["vatPercentage"])
        variants.append(v)
    out["variants"] = variants
    revision = (previous or {}).get("_revision", 0) + 1
    out["created"] = (previous or {}).get("created") or stamp(moment)
    out["updated"] = stamp(moment)
    out["updatedBy"] = guesses.USER_UUID
    out["_revision"] = revision  # internal; stripped by :func:`public`
    out["etag"] = etag(out)
    return out


def etag(product: dict[str, Any]) -> str:
    """32 uppercase hex, new on every change [doc: event-payloads; 3p fixture]: hash of content + revision."""
    content = {k: v for k, v in product.items() if k != "etag"}
    return hashlib.md5(json.dumps(content, sort_keys=True).encode()).hexdigest().upper()


def public(product: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in product.items() if k not in ("_revision", "id")}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def apply_update(current: dict[str, Any], patch: Any) -> dict[str, Any]:
    """The product after a merge-patch update; variants merge by ``uuid`` [doc: product-library.adoc]."""
    if not isinstance(patch, dict):
        raise invalid("The body must be a JSON object")
    patch = {k: v for k, v in patch.items() if k not in SERVER_FIELDS}  # server fields are not writable
    variants_patch = patch.pop("variants", "absent")
    updated = merge_patch(public(current), patch)
    if variants_patch == "absent":
        return updated
    if variants_patch is None or not isinstance(variants_patch, list):
        updated["variants"] = variants_patch
        return updated
    existing = {v.get("uuid"): v for v in current.get("variants", [])}
    kept = [] if guesses.OMITTED_VARIANTS_DELETED else [
        v for u, v in existing.items() if u not in {p.get("uuid") for p in variants_patch if isinstance(p, dict)}]
    for item in variants_patch:
        if isinstance(item, dict) and item.get("uuid") in existing:
            kept.append(merge_patch(existing[item["uuid"]], item))
        else:
            kept.append(item)
    updated["variants"] = kept
    return updated


def precondition(current_etag: str, if_match: str | None, if_none_match: str | None) -> None:
    """412 with an empty body when the given ETag is not the current one [doc: …/update-products].

    ``If-Match`` (quoted, as nop sends it [3p: nop ZettleService.cs]) and the documented
    ``If-None-Match`` both mean "update only if this is still the current version" (digest §2.5, §8).
    """
    for header in (if_match, if_none_match):
        if header is None:
            continue
        tags = {t.strip().removeprefix("W/").strip('"') for t in header.split(",")}
        if "*" not in tags and current_etag not in tags:
            raise Refusal(412, "Precondition failed", "PRECONDITION_FAILED", empty=True)
