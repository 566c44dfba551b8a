"""Inventory v3's model: inventories, per-product tracking, balances changed only by movements.

[doc: https://developer.zettle.com/docs/api/inventory/concepts/how-inventories-work; digest §3.1]:

* Stock lives in inventories; ``STORE``, ``SUPPLIER``, ``SOLD``, ``BIN`` are "created automatically by
  the service when tracking is enabled for a product" (so an account that never tracked has none).
  ``SUPPLIER`` "holds infinite stock"; ``SOLD``/``BIN`` are bookkeeping.
* "You cannot set a stock balance for a variant directly" — balances change only through movements
  of a *positive* ``change`` from one inventory to another [doc: inventory-api_concepts_how-inventories-work.md
  §Setting inventory balances]. Every movement is kept in a ledger, so a balance is always the
  sum of the movements into it minus those out of it (the ``/__sandbox__/zettle/ledger`` route shows it).
* Disabling tracking "does not delete the saved balances", but purchases stop moving stock
  [doc: …/enable-disable-tracking].
* Refusals (change ≤ 0, unknown inventory, untracked product, unknown variant) are guesses
  (guesses.py; digest §8).
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.zettle import guesses
from integrations_dagster.sandbox.zettle.events import Publisher, balance_payload, tracking_payload
from integrations_dagster.sandbox.zettle.wire import (ORG_UUID, atomic, invalid, now, stamp_z, uuid1_at,
                                                      violation)

INVENTORIES, TRACKING, BALANCES, MOVEMENTS = "inventories", "tracking", "balances", "movements"
DEFAULT_TYPES = ("STORE", "SUPPLIER", "SOLD", "BIN")
SYSTEM_NAME = "System generated location"  # [doc: …/fetch-inventories]


class Stock:
    def __init__(self, store: DocumentStore, events: Publisher | None = None) -> None:
        self.store = store
        self.events = events  # InventoryBalanceChanged, InventoryTracking*, sent after the commit (events.py)

    # -- inventories --------------------------------------------------------------------------
    def inventories(self) -> list[dict[str, Any]]:
        return [_public(row) for row in self.store.find(INVENTORIES)]

    def inventory(self, inventory_uuid: str) -> dict[str, Any] | None:
        rows = self.store.find(INVENTORIES, key=inventory_uuid)
        return _public(rows[0]) if rows else None

    def default(self, kind: str) -> str:
        """The uuid of the default inventory of a type (created on first tracking)."""
        self.ensure_defaults()
        for inv in self.inventories():
            if inv["inventoryType"] == kind and (kind != "STORE" or inv["defaultInventory"]):
                return inv["inventoryUuid"]
        raise AssertionError(kind)

    def ensure_defaults(self, moment: datetime | None = None) -> None:
        if self.store.count(INVENTORIES):
            return
        moment = moment or now()
        for i, kind in enumerate(DEFAULT_TYPES):
            self.add_inventory(kind, SYSTEM_NAME, SYSTEM_NAME, kind == "STORE", uuid1_at(moment, 900 + i))

    def add_inventory(self, kind: str, name: str, description: str, default: bool, inventory_uuid: str) -> dict:
        inv = {"inventoryUuid": inventory_uuid, "inventoryType": kind, "name": name,
               "description": description, "defaultInventory": default}
        self.store.insert(INVENTORIES, inv, key=inventory_uuid)
        return inv

    # -- tracking -----------------------------------------------------------------------------
    def tracked(self, product_uuid: str) -> bool:
        rows = self.store.find(TRACKING, key=product_uuid)
        return bool(rows and rows[0]["tracked"])

    def tracked_products(self) -> list[str]:
        return [row["productUuid"] for row in self.store.find(TRACKING) if row["tracked"]]

    def set_tracking(self, product_uuids: list[str], tracked: bool) -> None:
        with atomic(self.store):
            if tracked:
                self.ensure_defaults()
            for product_uuid in product_uuids:
                rows = self.store.find(TRACKING, key=product_uuid)
                changed = bool(rows and rows[0]["tracked"]) != tracked
                if self.events is not None and (changed or not guesses.TRACKING_EVENT_ONLY_ON_CHANGE):
                    event = "InventoryTrackingStarted" if tracked else "InventoryTrackingStopped"
                    self.events.emit(event, tracking_payload(product_uuid, tracked, now()))
                doc = {"productUuid": product_uuid, "tracked": tracked}
                if rows:
                    self.store.put(TRACKING, rows[0]["id"], {**doc, "id": rows[0]["id"]}, key=product_uuid)
                else:
                    self.store.insert(TRACKING, doc, key=product_uuid)

    # -- balances and movements -----------------------------------------------------------------
    def balance(self, inventory_uuid: str, product_uuid: str, variant_uuid: str) -> int:
        row = self._balance_row(inventory_uuid, product_uuid, variant_uuid)
        return row["balance"] if row else 0

    def _balance_row(self, inventory_uuid: str, product_uuid: str, variant_uuid: str) -> dict | None:
        rows = self.store.find(BALANCES, key=f"{inventory_uuid}|{product_uuid}|{variant_uuid}")
        return rows[0] if rows else None

    def move(self, movements: Any, variants_of: dict[str, set[str]], external_uuid: str | None = None,
             moment: datetime | None = None) -> list[dict[str, Any]]:
        """Apply all movements or none. ``variants_of``: product uuid -> its variant uuids (the catalog).

        Returns the STORE balances that changed, ``{inventoryUuid, productUuid, variantUuid, before, after}``
        in the order the movements first touch them, and raises one ``InventoryBalanceChanged`` with them
        [doc: inventory-api_concepts_how-inventories-work.md §Inventory events: API requests "trigger
        webhook event notifications"; event-payloads §InventoryBalanceChanged] (guesses.BALANCE_EVENT_*)."""
        if not isinstance(movements, list) or not movements:
            raise invalid("movements must be a non-empty list", [violation("movements", "must not be empty")])
        moment = moment or now()
        with atomic(self.store):  # checked and applied under one lock: all or nothing
            problems = [p for i, m in enumerate(movements) for p in self._problems(i, m, variants_of)]
            if problems:
                raise invalid("Invalid movements", problems)
            kinds = {inv["inventoryUuid"]: inv["inventoryType"] for inv in self.inventories()}
            watched: dict[tuple[str, str, str], int] = {}
            for m in movements:
                for side in ("from", "to"):
                    key = (m[side], m["productUuid"], m["variantUuid"])
                    if kinds.get(m[side]) in guesses.BALANCE_EVENT_INVENTORY_TYPES and key not in watched:
                        watched[key] = self.balance(*key)
            for m in movements:
                self.store.insert(MOVEMENTS, {"productUuid": m["productUuid"], "variantUuid": m["variantUuid"],
                                              "from": m["from"], "to": m["to"], "change": m["change"],
                                              "externalUuid": external_uuid, "created": stamp_z(moment)},
                                  key=m["productUuid"])
                self._add(m["from"], m["productUuid"], m["variantUuid"], -m["change"], moment)
                self._add(m["to"], m["productUuid"], m["variantUuid"], m["change"], moment)
            changes = [{"inventoryUuid": inv, "productUuid": p, "variantUuid": v, "before": before,
                        "after": self.balance(inv, p, v)} for (inv, p, v), before in watched.items()]
            changes = [c for c in changes if c["before"] != c["after"]]
            if changes and self.events is not None:
                self.events.emit("InventoryBalanceChanged", balance_payload(changes, moment, external_uuid))
        return changes

    def _problems(self, i: int, m: Any, variants_of: dict[str, set[str]]) -> list[dict]:
        where = f"movements[{i}]"
        if not isinstance(m, dict):
            return [violation(where, "must be an object")]
        out = []
        change = m.get("change")
        if not isinstance(change, int) or isinstance(change, bool) or change <= 0:
            out.append(violation(f"{where}.change", "must be a positive integer"))
        product_uuid = m.get("productUuid")
        if product_uuid not in variants_of:
            out.append(violation(f"{where}.productUuid", "unknown product"))
        elif not self.tracked(product_uuid):
            out.append(violation(f"{where}.productUuid", "inventory tracking is not enabled for the product"))
        elif m.get("variantUuid") not in variants_of[product_uuid]:
            out.append(violation(f"{where}.variantUuid", "unknown variant"))
        for side in ("from", "to"):
            if self.inventory(m.get(side) or "") is None:
                out.append(violation(f"{where}.{side}", "unknown inventory"))
        if m.get("from") == m.get("to"):
            out.append(violation(where, "from and to must differ"))
        return out

    def _add(self, inventory_uuid: str, product_uuid: str, variant_uuid: str, delta: int, moment: datetime) -> None:
        key = f"{inventory_uuid}|{product_uuid}|{variant_uuid}"
        row = self._balance_row(inventory_uuid, product_uuid, variant_uuid)
        doc = {"inventoryUuid": inventory_uuid, "productUuid": product_uuid, "variantUuid": variant_uuid,
               "balance": (row["balance"] if row else 0) + delta, "updated": stamp_z(moment)}
        if row:
            self.store.put(BALANCES, row["id"], {**doc, "id": row["id"]}, key=key)
        else:
            self.store.insert(BALANCES, doc, key=key)

    def ledger(self, product_uuid: str | None = None) -> list[dict[str, Any]]:
        return [_public(row) for row in self.store.find(MOVEMENTS, key=product_uuid)]

    def stock_rows(self, inventory_uuid: str, variants_of: dict[str, list[str]], low_stock: int) -> list[dict]:
        """One v3 stock row per variant of every tracked product in an inventory [doc: …/fetch-inventory-balance]."""
        rows = []
        for product_uuid in self.tracked_products():
            for variant_uuid in variants_of.get(product_uuid, []):
                row = self._balance_row(inventory_uuid, product_uuid, variant_uuid)
                balance = row["balance"] if row else 0
                rows.append({"organizationUuid": ORG_UUID, "inventoryUuid": inventory_uuid,
                             "productUuid": product_uuid, "variantUuid": variant_uuid, "balance": balance,
                             "lowStockLevel": low_stock, "lowStockAlert": balance <= low_stock,
                             "updated": row["updated"] if row else None,
                             "checksum": str(_checksum(inventory_uuid, variant_uuid, balance))})
        return sorted(rows, key=lambda r: (r["variantUuid"], r["productUuid"]))


def _checksum(*parts: object) -> int:
    """A decimal checksum string like the doc's ``"3770345797"``; its algorithm is unknown (GUESS: CRC32)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}
