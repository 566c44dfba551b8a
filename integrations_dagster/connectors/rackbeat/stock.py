"""Rackbeat's stock per location: read (Rackbeat → the tills, in real time) and written (a till's counts
into Rackbeat, the initial sync's "lagerbeholdningen … fra Shopbox til Rackbeat" [doc: seed 003]).

Reading: ``/products`` page by page, then each stocked product's ``/products/{n}/locations``
(``product_locations``, with ``variations`` per location for a product with a variation group) [3p: kg-bot
``product_locations``; mother-sku reads ``loc.number``/``loc.stock_quantity``]. A level is the *available*
quantity (on hand less what booked orders hold) — what a till may still sell — at location ``<number>``; a
variation counts under its own SKU. A stock movement does not move the product's ``updated_at`` (a guess of
the sandbox), so every read is a full one.

Writing: an absolute count is an inventory adjustment of type ``quantity`` at the location, then booked
(``POST /inventory-adjustments`` + ``POST /inventory-adjustments/{id}/book`` [3p: mother-sku
createAndBookAdjustment]). The location is the one the flow's ``locations`` maps the level's location (a
till's branch) to, else ``main_location`` [doc: seed 003 "Hovedlager i Rackbeat"]. The count set is the
on-hand quantity; Rackbeat refuses an adjustment that changes nothing ("no change is made"), which is the
count being there already: unchanged, not a failure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext, one_by_one
from integrations_dagster.connectors.http import ApiError
from integrations_dagster.connectors.places import Places
from integrations_dagster.connectors.rackbeat.adapter import Adapter, item_path
from integrations_dagster.connectors.rackbeat.items import ItemIndex
from integrations_dagster.model.base import RecordError
from integrations_dagster.model.stock import StockLevel

NO_CHANGE = "no change is made"  # Rackbeat's refusal of an adjustment to the count it has [3p: mother-sku]


def read(adapter: Adapter) -> Iterator[dict]:
    read_at = datetime.now(UTC).isoformat()
    for product in adapter.pages("/products", "products"):
        if not product.get("inventory_enabled", True):
            continue
        path = item_path("products", product["number"]) + "/locations"
        for place in adapter.get(path).get("product_locations") or []:
            rows = place.get("variations") or [{**place, "sku": product["number"]}]
            for row in rows:
                if row.get("sku"):
                    yield {"sku": row["sku"], "location": str(place["number"]), "_read_at": read_at,
                           "available_quantity": row.get("available_quantity"), "product": product["number"]}


def to_level(raw: dict) -> StockLevel:
    quantity = raw.get("available_quantity")
    if quantity is None:
        raise RecordError(f"{raw.get('sku')} at location {raw.get('location')} has no available_quantity")
    return StockLevel(sku=str(raw["sku"]), quantity=Decimal(str(quantity)), location=raw["location"],
                      source_id=str(raw.get("product")), as_of=raw["_read_at"])


def write(adapter: Adapter, changes: list[Change], ctx: WriteContext) -> Iterator[Outcome]:
    items = ItemIndex.of_run(adapter, ctx.memo)
    places = Places(ctx.options, "locations", "main_location", "Rackbeat location")

    def one(change: Change) -> Outcome:
        level = change.record
        if not isinstance(level, StockLevel):
            return Outcome(change.key, ok=True, action="skipped", error="stock is not deleted in Rackbeat")
        location = places.of(level.location)
        if location is None:
            return Outcome(change.key, ok=False, action="failed", error=places.missing(level.location))
        held = items.find(level.sku)
        if held is None:
            return Outcome(change.key, ok=True, action="ignored", error=f"SKU {level.sku!r} is no item in Rackbeat")
        number, variation = held
        at = f"{number}@{location}"  # a count is the item's at one location: one id-map entry per location
        body = {"item_id": number, "adjustment_type": "quantity", "quantity": str(level.quantity),
                "location": int(location), "reason": "integrations-dagster"}
        if variation is not None:
            body["product_variation_id"] = variation
        try:
            made = adapter.write("POST", "/inventory-adjustments", body)["inventory_regulation"]
        except ApiError as exc:
            if NO_CHANGE in exc.message:
                return Outcome(change.key, ok=True, action="unchanged", target_id=at, level=level.quantity)
            raise
        adapter.write("POST", f"/inventory-adjustments/{made['id']}/book", {})
        return Outcome(change.key, ok=True, action="updated", target_id=at, level=level.quantity)

    yield from one_by_one(changes, one, "Rackbeat refused it")
