"""Stock: locations, what each item (and each product variation) has at each location, and inventory
adjustments that move it.

Evidence:

* Locations ``{number, name, parent_id}`` [source: SDK Models/Location] [spec: swagger Location ``is_default``,
  ``child_locations``]; one location per Shopbox register [doc: seed 003].
* Per-location stock: ``GET /products/{n}/locations`` → ``{"product_locations": [{number, stock_quantity,
  ..}]}`` and ``/products/{n}/locations/{number}`` → ``product_location`` [3p: kg-bot Product::location,
  mother-sku setTotalAtHomeLocation]; ``/lots/{n}/locations`` → ``lot_locations`` [3p: kg-bot Lot];
  ``GET /items/{n}/locations/available`` listed under ``locations`` [source: SDK
  ItemLocationAvailableStockResource]; ``/items/{n}/locations`` [3p: core-suite item sync] — its key
  ``item_locations`` is a guess by analogy.
* Quantities: ``stock_quantity`` (on hand), ``in_order_quantity`` (outgoing), ``available_quantity`` = in
  stock − in order [spec: swagger Product].
* Adjustments: ``POST /inventory-adjustments {item_id, adjustment_type: "quantity", quantity, location,
  regulated_at, reason}`` → ``{"inventory_regulation": {id, ..}}``, applied by ``POST
  /inventory-adjustments/{id}/book``; a change of nothing is refused with "Adjustment can't be created, since
  no change is made." [3p: mother-sku createAndBookAdjustment]. The older spelling ``/inventory-adjustment``
  with ``location_number``, ``item_number``, ``item_type``, ``description`` [spec: swagger
  InventoryAdjustmentForm] [3p: kg-bot] is accepted too. The delta type is guesses.ADJUSTMENT_TYPE_DELTA.
* Stock tracking only for items whose group "has inventory" [doc: help centre ht-00064; seed 003 "Har lager"].
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.wire import integer, invalid, money, not_found, number_out, required

ZERO = Decimal(0)


class Stock:
    def __init__(self, account: Any) -> None:
        self.acc = account
        self.store = account.store

    # ---- locations ----------------------------------------------------------------------------------
    def location(self, number: Any) -> dict | None:
        return self.acc.one("locations", number)

    def locations(self) -> list[dict]:
        return sorted(self.store.find("locations"), key=lambda loc: loc["number"])

    def default_location(self) -> dict | None:
        rows = self.locations()
        return next((loc for loc in rows if loc.get("is_default")), rows[0] if rows else None)

    def create_location(self, body: dict) -> dict:
        name = str(body.get("name") or "").strip()
        if not name:
            raise required("name")
        number = integer(body["number"], "number") if body.get("number") is not None \
            else self.acc.next_number("locations", 1)
        if self.location(number):
            raise invalid({"number": guesses.MSG_TAKEN.format(field="number")})
        parent = body.get("parent_id")
        if parent is not None and not self.location(parent):
            raise invalid({"parent_id": guesses.MSG_INVALID.format(field="parent id")})
        now = self.acc.clock.stamp()
        doc = {"number": number, "name": name, "parent_id": integer(parent, "parent_id") if parent is not None else None,
               "is_default": not self.store.find("locations"), "created_at": now, "updated_at": now}
        doc["id"] = self.store.insert("locations", doc, key=str(number))
        self.acc.events.note("location.created", "number", number, data=lambda: self.render_location(doc))
        return doc

    def update_location(self, loc: dict, body: dict) -> dict:
        before = dict(loc)
        if "name" in body:
            if not str(body["name"] or "").strip():
                raise required("name")
            loc["name"] = str(body["name"]).strip()
        if "parent_id" in body:
            parent = body["parent_id"]
            if parent is not None and (not self.location(parent) or int(parent) == loc["number"]):
                raise invalid({"parent_id": guesses.MSG_INVALID.format(field="parent id")})
            loc["parent_id"] = integer(parent, "parent_id") if parent is not None else None
        changed = [k for k in loc if loc[k] != before[k]]
        if changed:
            loc["updated_at"] = self.acc.clock.stamp()
            self.store.put("locations", loc["id"], loc, key=str(loc["number"]))
            self.acc.events.note("location.updated", "number", loc["number"], changed=changed,
                                 data=lambda: self.render_location(loc))
        return loc

    def render_location(self, loc: dict, brief: bool = False) -> dict:
        out = {"number": loc["number"], "name": loc["name"], "parent_id": loc["parent_id"]}
        if not brief:
            out.update(is_default=loc.get("is_default", False), is_draft=False, created_at=loc["created_at"],
                       updated_at=loc["updated_at"], self=self.acc.link(f"locations/{loc['number']}"))
        return out

    def resolve_location(self, item: dict | None, raw: Any, field: str) -> dict:
        """The location a write names, else the item's default, else the account's (guesses)."""
        if isinstance(raw, dict):
            raw = raw.get("number")
        if raw not in (None, ""):
            loc = self.location(raw)
            if not loc:
                raise invalid({field: guesses.MSG_INVALID.format(field=field.replace("_", " "))})
            return loc
        if item is not None and item.get("default_location") is not None:
            loc = self.location(item["default_location"])
            if loc:
                return loc
        loc = self.default_location()
        if loc is None:
            raise required(field)
        return loc

    # ---- stock rows ---------------------------------------------------------------------------------
    def _rows(self, item_id: int, variation_id: int | None = None) -> list[dict]:
        rows = self.store.find("stock", parent=item_id)
        return rows if variation_id is None else [r for r in rows if r["variation_id"] == variation_id]

    def _row(self, item_id: int, variation_id: int, location: int) -> dict:
        key = f"{item_id}:{variation_id}:{location}"
        rows = self.store.find("stock", key=key)
        if rows:
            return rows[0]
        doc = {"item_id": item_id, "variation_id": variation_id, "location": location, "on_hand": "0", "reserved": "0"}
        doc["id"] = self.store.insert("stock", doc, key=key, parent=item_id)
        return doc

    def move(self, item: dict, variation_id: int | None, location: int, *, on_hand: Decimal = ZERO,
             reserved: Decimal = ZERO) -> None:
        """Change what a product has (``on_hand``) or has promised (``reserved``) at a location."""
        row = self._row(item["id"], variation_id or 0, location)
        row["on_hand"] = str(Decimal(row["on_hand"]) + on_hand)
        row["reserved"] = str(max(ZERO, Decimal(row["reserved"]) + reserved))
        self.store.put("stock", row["id"], row, key=f"{item['id']}:{variation_id or 0}:{location}", parent=item["id"])
        if on_hand:
            self.acc.catalog.touch(item)
        self.acc.events.note(guesses.STOCK_EVENT, "number", item["number"],
                             extra={"item": item["number"], "item_type": "product", "type": "stock"},
                             data=lambda: self._stock_data(item["id"]))

    def on_hand(self, item_id: int) -> Decimal:
        return sum((Decimal(r["on_hand"]) for r in self._rows(item_id)), ZERO)

    def _sums(self, rows: Iterable[dict]) -> tuple[Decimal, Decimal]:
        rows = list(rows)
        return (sum((Decimal(r["on_hand"]) for r in rows), ZERO), sum((Decimal(r["reserved"]) for r in rows), ZERO))

    def totals(self, item: dict, variation_id: int | None = None, location: int | None = None) -> dict:
        """stock_quantity, in_order_quantity, available_quantity of an item (a variation, a location)."""
        if item["type"] == "lot" and guesses.LOT_STOCK_FROM_COMPONENTS:
            return self._lot_totals(item, location)
        rows = self._rows(item["id"], variation_id)
        if location is not None:
            rows = [r for r in rows if r["location"] == location]
        stock, reserved = self._sums(rows)
        return {"stock_quantity": number_out(stock), "in_order_quantity": number_out(reserved),
                "available_quantity": number_out(stock - reserved)}

    def _lot_totals(self, lot: dict, location: int | None) -> dict:
        """guesses.LOT_STOCK_FROM_COMPONENTS: how many whole lots the components make."""
        counts = {"stock_quantity": [], "available_quantity": []}
        for line in lot.get("lines", []):
            product = self.acc.catalog.item_by_id(line["product_id"])
            if product is None:
                continue
            parts = self.totals(product, line.get("product_variation_id"), location)
            for name in counts:
                counts[name].append(Decimal(str(parts[name])) // Decimal(line["quantity"]))
        stock = min(counts["stock_quantity"], default=ZERO)
        available = min(counts["available_quantity"], default=ZERO)
        return {"stock_quantity": number_out(max(stock, ZERO)), "in_order_quantity": number_out(max(stock - available, ZERO)),
                "available_quantity": number_out(max(available, ZERO))}

    def per_location(self, item: dict) -> list[dict]:
        """One entry per location of the account (guess: every location is listed, zero stock included)."""
        out = []
        variations = self.acc.catalog.product_variations(item) if item["type"] == "product" else []
        for loc in self.locations():
            entry = {**self.render_location(loc, brief=True), **self.totals(item, location=loc["number"])}
            if variations:
                entry["variations"] = [{"product_variation_id": v["id"], "sku": v["sku"],
                                        "name": self.acc.catalog.variation_name(item, v),
                                        **self.totals(item, v["id"], loc["number"])} for v in variations]
            out.append(entry)
        return out

    def _stock_data(self, item_id: int) -> dict:
        item = self.acc.catalog.item_by_id(item_id)
        if item is None:
            return {}
        return {"number": item["number"], **self.totals(item), "locations": self.per_location(item)}

    # ---- adjustments --------------------------------------------------------------------------------
    def create_adjustment(self, body: dict) -> dict:
        ref = body.get("item_id", body.get("item_number"))
        if ref in (None, ""):
            raise required("item_id")
        kind = str(body.get("item_type") or "product")
        item = self.acc.catalog.item(str(ref), kind if kind in ("product", "lot") else None)
        if item is None or item["type"] != "product":
            raise invalid({"item_id": guesses.MSG_INVALID.format(field="item id")})
        if not self.acc.catalog.inventory_enabled(item):
            raise invalid({"item_id": guesses.MSG_NO_INVENTORY})
        adjustment_type = str(body.get("adjustment_type") or guesses.ADJUSTMENT_TYPE_ABSOLUTE)
        if adjustment_type not in (guesses.ADJUSTMENT_TYPE_ABSOLUTE, guesses.ADJUSTMENT_TYPE_DELTA):
            raise invalid({"adjustment_type": guesses.MSG_INVALID.format(field="adjustment type")})
        if body.get("quantity") is None:
            raise required("quantity")
        quantity = money(body["quantity"], "quantity")
        loc = self.resolve_location(item, body.get("location", body.get("location_number", body.get("location_id"))),
                                    "location")
        variation = self.acc.catalog.resolve_variation(item, body, "item")
        change = self._change(item, variation, loc, adjustment_type, quantity)
        if change == 0:
            raise invalid({"quantity": guesses.MSG_NO_CHANGE})
        now = self.acc.clock.stamp()
        doc = {"item_id": item["id"], "item_number": item["number"], "item_type": "product",
               "adjustment_type": adjustment_type, "quantity": str(quantity), "location": loc["number"],
               "product_variation_id": variation["id"] if variation else None,
               "regulated_at": str(body.get("regulated_at") or self.acc.clock.today()),
               "reason": str(body.get("reason") or ""), "description": str(body.get("description") or ""),
               "is_booked": False, "booked_at": None, "difference": None, "created_at": now, "updated_at": now}
        doc["id"] = self.store.insert("adjustments", doc)
        return doc

    def _change(self, item: dict, variation: dict | None, loc: dict, adjustment_type: str, quantity: Decimal) -> Decimal:
        if adjustment_type == guesses.ADJUSTMENT_TYPE_DELTA:
            return quantity
        current = Decimal(str(self.totals(item, variation["id"] if variation else None, loc["number"])["stock_quantity"]))
        return quantity - current

    def adjustment(self, adjustment_id: Any) -> dict:
        row = self.store.get("adjustments", integer(adjustment_id, "id"))
        if not row:
            raise not_found("inventory adjustment", adjustment_id)
        return row

    def book_adjustment(self, doc: dict) -> dict:
        if doc["is_booked"]:
            raise invalid({"id": "The adjustment is already booked."})
        item = self.acc.catalog.item_by_id(doc["item_id"])
        if item is None:
            raise invalid({"item_id": guesses.MSG_INVALID.format(field="item id")})
        variation = {"id": doc["product_variation_id"]} if doc["product_variation_id"] else None
        loc = self.location(doc["location"])
        change = self._change(item, variation, loc, doc["adjustment_type"], Decimal(doc["quantity"]))
        if change:
            self.move(item, doc["product_variation_id"], doc["location"], on_hand=change)
        now = self.acc.clock.stamp()
        doc.update(is_booked=True, booked_at=now, updated_at=now, difference=str(change))
        self.store.put("adjustments", doc["id"], doc)
        return doc

    def render_adjustment(self, doc: dict) -> dict:
        loc = self.location(doc["location"])
        return {"id": doc["id"], "item_id": doc["item_number"], "item_type": doc["item_type"],
                "item": {"number": doc["item_number"]}, "adjustment_type": doc["adjustment_type"],
                "quantity": number_out(Decimal(doc["quantity"])),
                "difference": number_out(Decimal(doc["difference"])) if doc["difference"] is not None else None,
                "location": self.render_location(loc, brief=True) if loc else None,
                "product_variation_id": doc["product_variation_id"], "regulated_at": doc["regulated_at"],
                "reason": doc["reason"], "description": doc["description"], "is_booked": doc["is_booked"],
                "booked_at": doc["booked_at"], "created_at": doc["created_at"], "updated_at": doc["updated_at"],
                "self": self.acc.link(f"inventory-adjustments/{doc['id']}")}

    def set_count(self, item: dict, loc: dict, *, quantity: Decimal | None = None, delta: Decimal | None = None,
                  variation: dict | None = None) -> Decimal:
        """What a warehouse user does in the UI (count or adjust); the control routes use it. The change."""
        if not self.acc.catalog.inventory_enabled(item):
            raise invalid({"item": guesses.MSG_NO_INVENTORY})
        current = Decimal(str(self.totals(item, variation["id"] if variation else None, loc["number"])["stock_quantity"]))
        change = delta if delta is not None else (quantity or ZERO) - current
        if change:
            self.move(item, variation["id"] if variation else None, loc["number"], on_hand=change)
        return change

    def reserve(self, item: dict, variation_id: int | None, location: int, quantity: Decimal, *, ship: bool = False,
                release: bool = False) -> None:
        """An order line's effect: reserve on booking, draw on shipping, release on cancelling; a lot
        acts on its components (guesses.LOT_STOCK_FROM_COMPONENTS)."""
        if item["type"] == "lot":
            for line in item.get("lines", []):
                component = self.acc.catalog.item_by_id(line["product_id"])
                if component:
                    self.reserve(component, line.get("product_variation_id"), location,
                                 quantity * Decimal(line["quantity"]), ship=ship, release=release)
            return
        if not self.acc.catalog.inventory_enabled(item):
            return
        if ship:
            self.move(item, variation_id, location, on_hand=-quantity, reserved=-quantity)
        elif release:
            self.move(item, variation_id, location, reserved=-quantity)
        else:
            self.move(item, variation_id, location, reserved=quantity)

