"""What changed in a record, field by field: ``{path: [old, new]}`` for the sync log and the run's record table.

A canonical record is nested (a product holds its variants, an order its lines), so a diff of
top-level fields would say only "variants changed". This flattens both versions to paths — a list
of parts is indexed by each part's own key (``variants[TS-RED-M].price``), so one variant's price
edit reads as that variant's price, not as a reordered list — and keeps the paths whose value
differs. Volatile fields (a modification time) are left out: they change on every edit.
"""

from __future__ import annotations

from typing import Any

from integrations_dagster.model import CanonicalRecord

PART_KEYS = ("key", "sku", "article_number", "id")  # how a list's parts name themselves, first found wins
MONEY_FIELDS = {"amount", "currency"}
MAX_VALUE_CHARS = 200
MAX_PATHS = 50


def record_changes(previous: CanonicalRecord | None, current: CanonicalRecord | None) -> dict[str, list[Any]]:
    """``{path: [old, new]}`` of every leaf that differs (empty for a create: nothing was there)."""
    if previous is None or current is None:
        return {}
    volatile = set(current.volatile_fields)
    old = flatten({k: v for k, v in previous.model_dump(mode="json").items() if k not in volatile})
    new = flatten({k: v for k, v in current.model_dump(mode="json").items() if k not in volatile})
    paths = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
    changed = {p: [_short(old.get(p)), _short(new.get(p))] for p in paths[:MAX_PATHS]}
    if len(paths) > MAX_PATHS:
        changed["…"] = [f"{len(paths) - MAX_PATHS} more fields", None]
    return changed


def describe(changes: dict[str, list[Any]]) -> str:
    """One line for a table cell: ``price: 100.00 → 120.00; name: A → B``."""
    return "; ".join(f"{path}: {_show(old)} → {_show(new)}" for path, (old, new) in changes.items())


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and set(value) == MONEY_FIELDS:  # money reads as one value: "199.00 SEK"
        return {prefix: f"{value['amount']} {value['currency']}"}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, part in enumerate(value):
            name = next((str(part[k]) for k in PART_KEYS if part.get(k) not in (None, "")), str(i))
            out.update(flatten(part, f"{prefix}[{name}]"))
        return out
    return {prefix: value}


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    return value


def _show(value: Any) -> str:
    return "∅" if value is None else str(value)
