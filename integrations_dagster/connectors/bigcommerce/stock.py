"""Exporter of stock levels into BigCommerce: absolute adjustments at the default location.

``PUT /v3/inventory/adjustments/absolute`` takes up to 2000 items, each naming ``product_id`` (a
product without variants), ``variant_id`` (a product tracked by variant) or ``sku``, with
``location_id`` and ``quantity`` [spec: inventory.v3.yml put-absolute-adjustment]; the default
location is 1 [spec: ItemResponse example; digest §11: not confirmed]. A level only counts on a product
whose ``inventory_tracking`` is ``product`` or ``variant`` [spec: product_Base_POST.inventory_level],
so a product still at ``none`` is switched on first: stock is synced only for what the source tracks
[seed 004: "Lagret synkas bara om du har lagerspårning i Zettle"]. An item naming the wrong holder
is refused with 422 (variant of a product-tracked product, product of a variant-tracked one), so
each level goes to the holder its product's tracking says.

BigCommerce counts whole units and no negative stock (a relative adjustment "below safety stock"
is refused [doc: inventory-adjustments.mdx]); a POS may sell below zero, so a negative level lands
as 0 with a warning.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext
from integrations_dagster.connectors.bigcommerce.catalog import Catalog
from integrations_dagster.connectors.http import ApiError, TransientError
from integrations_dagster.model import StockLevel

ITEM_LIMIT = 2000  # [spec: inventory.v3.yml "Limit of 2000 items per payload"]
LOCATION = 1


class StockExporter:
    def __init__(self, catalog: Catalog, ctx: WriteContext) -> None:
        self.catalog, self.ctx = catalog, ctx

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        holders = self._holders()
        ready: list[tuple[Change, dict, tuple[str, ...]]] = []
        for change in changes:
            level = change.record
            if not isinstance(level, StockLevel):
                yield Outcome(change.key, ok=True, action="skipped", error="stock levels are not deleted")
                continue
            found = holders.get(level.sku.casefold())
            if found is None:
                yield Outcome(change.key, ok=True, action="ignored",
                              error=f"the store has no product or variant with SKU {level.sku!r}")
                continue
            if level.quantity != level.quantity.to_integral_value():
                yield Outcome(change.key, ok=False, action="failed",
                              error=f"SKU {level.sku}: {level.quantity} is not a whole number (BigCommerce counts units)")
                continue
            item, warnings = dict(found["item"]), ()
            item["quantity"] = int(level.quantity)
            if level.quantity < 0:
                item["quantity"] = 0
                warnings = (f"SKU {level.sku}: the source has {level.quantity}; BigCommerce takes no negative stock: 0",)
            ready.append((change, {**item, "location_id": LOCATION}, warnings))
        self._track(holders, [c.record.sku for c, _, _ in ready])
        for start in range(0, len(ready), ITEM_LIMIT):
            yield from self._adjust(ready[start:start + ITEM_LIMIT], holders)

    def _adjust(self, batch: list[tuple[Change, dict, tuple[str, ...]]], holders: dict) -> Iterator[Outcome]:
        try:
            self.catalog.http.request("PUT", "/v3/inventory/adjustments/absolute",
                                      json={"reason": "integrations_dagster stock sync", "items": [i for _, i, _ in batch]})
        except TransientError:
            raise
        except ApiError:
            if len(batch) > 1:  # one bad item refuses the payload: find it, land the rest
                for one in batch:
                    yield from self._adjust([one], holders)
                return
            change, _, _ = batch[0]
            yield Outcome(change.key, ok=False, action="failed", error=f"SKU {change.record.sku}: refused by BigCommerce")
            return
        for change, item, warnings in batch:
            target = str(item.get("variant_id") or item.get("product_id"))
            yield Outcome(change.key, ok=True, action="updated", target_id=target, warnings=warnings,
                          target_entity="variants" if "variant_id" in item else "products")

    def _holders(self) -> dict[str, dict]:
        """casefolded SKU -> where its stock is held: ``item`` (``product_id`` or ``variant_id``), the
        product id and whether the product has variants. Two list reads, whatever the changes."""
        products = {int(p["id"]): p for p in self.catalog.pages(
            "/v3/catalog/products", include_fields="id,inventory_tracking,base_variant_id")}
        out = {}
        for v in self.catalog.pages("/v3/catalog/variants"):
            if not v.get("sku"):
                continue
            product = products.get(int(v["product_id"]), {})
            simple = not v.get("option_values")
            item = {"product_id": int(v["product_id"])} if simple else {"variant_id": int(v["id"])}
            out[str(v["sku"]).casefold()] = {"item": item, "product_id": int(v["product_id"]), "simple": simple,
                                             "tracking": product.get("inventory_tracking", "none")}
        return out

    def _track(self, holders: dict, skus: list[str]) -> None:
        """Switch stock tracking on for the products these SKUs belong to, where it is off."""
        for product_id, simple in sorted({(holders[s.casefold()]["product_id"], holders[s.casefold()]["simple"])
                                          for s in skus if holders[s.casefold()]["tracking"] == "none"}):
            self.catalog.http.request("PUT", f"/v3/catalog/products/{product_id}",
                                      json={"inventory_tracking": "product" if simple else "variant"})
            for h in holders.values():
                if h["product_id"] == product_id:
                    h["tracking"] = "product" if simple else "variant"
