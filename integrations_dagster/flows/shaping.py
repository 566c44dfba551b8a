"""Shaping a flow's records between mapping and diff: the YAML's ``field_map`` and ``transforms``.

What integration services sell as "plugins" (seed 002: "ett enklare plugin som tex mappar ihop fält
som inte är standard"), declared per flow:

* ``field_map: {ean: meta_data._custom_ean}`` — a canonical field taken from the raw source record
  instead (a dot path; in a list of ``{key, value}`` objects, such as WooCommerce's ``meta_data``, a
  part names the key); ``customer.org_number`` names a field one level in. A path the record lacks
  leaves the mapped value.
* ``transforms: [{use: price_markup, percent: 10}, {use: my_shop.rules:fix_names}]`` — functions
  ``(record, **params) -> record | None`` applied in order after mapping: a ready-made one
  (:mod:`integrations_dagster.plugins`) or the user's own, ``package.module:function`` from a
  package installed beside this one. None leaves the record out (counted, not failed); an exception
  fails that record with its reason in the sync log, the rest of the batch goes on.

Shaping runs in normalize, so the diff compares shaped records and a re-run writes nothing. Its
configuration (and a user function's source file) is part of the mapping salt (``flows.prints``):
changing a rule maps every record again.

A transform with ``stage: push`` runs in the push instead, on the changes only, just before they are
written (:func:`for_push`): the target gets the shaped record while the snapshot keeps the source's,
so a rule that depends on the moment (a date, a target-side status) never makes a change by itself,
and changing it re-sends nothing. None leaves the change unwritten (the next run diffs it again);
an exception fails that record at the push stage with its reason.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

from integrations_dagster.config import ConfigError
from integrations_dagster.connectors.base import Change
from integrations_dagster.model import CanonicalRecord, RecordError
from integrations_dagster.plugins import BUILTIN

Transform = Callable[..., CanonicalRecord | None]


class Shaper:
    """A flow's field map and transform chain, resolved once (a bad name is a ConfigError naming it)."""

    def __init__(self, field_map: dict[str, str], steps: Iterable[tuple[str, dict[str, Any]]], where: str) -> None:
        self.field_map = dict(field_map)
        self.steps = [(use, dict(params), _resolve(use, f"{where}.transforms[{i}].use")) for i, (use, params)
                      in enumerate(steps)]
        files = sorted({inspect.getfile(fn) for *_, fn in self.steps if fn.__module__ != BUILTIN_MODULE})
        blob = json.dumps([self.field_map, [(u, p) for u, p, _ in self.steps],
                           [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files]], default=str)
        self.signature = hashlib.sha256(blob.encode()).hexdigest()[:16] if self else ""

    def __bool__(self) -> bool:
        return bool(self.field_map or self.steps)

    def shape(self, record: CanonicalRecord, raw: Any) -> CanonicalRecord | None:
        if self.field_map:
            record = _mapped(record, raw, self.field_map)
        for use, params, fn in self.steps:
            try:
                shaped = fn(record, **params)
            except RecordError as exc:
                raise RecordError(f"transform {use}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - a user's function: its failure is the record's
                raise RecordError(f"transform {use} failed: {type(exc).__name__}: {exc}") from None
            if shaped is None:
                return None
            if not isinstance(shaped, CanonicalRecord):
                raise RecordError(f"transform {use} returned {type(shaped).__name__}, not a record or None")
            record = shaped
        return record


BUILTIN_MODULE = "integrations_dagster.plugins.builtin"


def for_push(shaper: Shaper, changes: list[Change]) -> tuple[list[Change], list[tuple[Change, str]], list[Change]]:
    """``changes`` as the target should get them: (to write, failed with their reason, left out).
    A delete (no record) passes as it is."""
    write: list[Change] = []
    failed: list[tuple[Change, str]] = []
    left_out: list[Change] = []
    for change in changes:
        if change.record is None:
            write.append(change)
            continue
        try:
            shaped = shaper.shape(change.record, None)
        except RecordError as exc:
            failed.append((change, str(exc)))
            continue
        if shaped is None:
            left_out.append(change)
        else:
            write.append(replace(change, record=shaped))
    return write, failed, left_out


def _resolve(use: str, where: str) -> Transform:
    if use in BUILTIN:
        return BUILTIN[use]
    module, _, name = use.partition(":")
    if not name:
        from integrations_dagster.config import did_you_mean

        raise ConfigError(f"{where}: {use!r} is no ready-made transform" + did_you_mean(use, BUILTIN)
                          + " (your own: package.module:function)")
    try:
        fn = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ConfigError(f"{where}: cannot import {module!r} ({exc}); install the package beside this one") from None
    except AttributeError:
        raise ConfigError(f"{where}: {module!r} has no function {name!r}") from None
    if not callable(fn):
        raise ConfigError(f"{where}: {use!r} is not a function")
    return fn


def pick(raw: Any, path: str) -> Any:
    """The value at a dot path of a raw record; in a list of ``{key, value}`` objects a part names the key."""
    value = raw
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list):
            value = next((item.get("value") for item in value if isinstance(item, dict) and item.get("key") == part),
                         None)
        else:
            return None
    return value


def _mapped(record: CanonicalRecord, raw: Any, field_map: dict[str, str]) -> CanonicalRecord:
    """The record with each mapped field set; a dotted field (``customer.org_number``) is one level in."""
    update = {field: value for field, path in field_map.items() if (value := pick(raw, path)) not in (None, "")}
    if not update:
        return record
    data = record.model_dump()
    for field, value in update.items():
        outer, _, inner = field.partition(".")
        if inner and isinstance(data.get(outer), dict):
            data[outer] = {**data[outer], inner: value}
        else:
            data[field] = value
    try:
        return type(record).model_validate(data)
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}  # type: ignore[attr-defined]
        field = ".".join(str(p) for p in first.get("loc", ())) or "?"
        raise RecordError(f"field_map.{field}: {first.get('msg')} (from {field_map.get(field, '?')!r})") from None
