"""Binder side of Rackbeat: which item a SKU names — a product's own ``number``, or the ``sku`` of one of
its product variations (a product with a variation group sells and counts per variation [doc: help centre
ht-00066]). Order lines and stock adjustments name an item by number and a variation by
``product_variation_id`` [3p: core-suite, mother-sku]. One index per run (``ctx.memo``)."""

from __future__ import annotations

from typing import Any

from integrations_dagster.connectors.rackbeat.adapter import Adapter, item_path

MEMO = "rackbeat.items"


class ItemIndex:
    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self._items: dict[str, tuple[str, int | None] | None] = {}
        self._variations: dict[str, tuple[str, int]] | None = None

    @classmethod
    def of_run(cls, adapter: Adapter, memo: dict[str, Any]) -> "ItemIndex":
        if MEMO not in memo:
            memo[MEMO] = cls(adapter)
        return memo[MEMO]

    def find(self, sku: str) -> tuple[str, int | None] | None:
        """(item number, product variation id or None) of a SKU: an item's own number, else a variation's SKU."""
        if sku not in self._items:
            product = self.adapter.find(item_path("products", sku), "product")
            if product is not None and not product.get("variation_id"):
                self._items[sku] = (str(product["number"]), None)
            else:
                self._items[sku] = self._variation_index().get(sku)
        return self._items[sku]

    def _variation_index(self) -> dict[str, tuple[str, int]]:
        """Every variation SKU of the account (one pass, on the first SKU that is no item number)."""
        if self._variations is None:
            self._variations = {}
            for product in self.adapter.pages("/products", "products"):
                if product.get("variation_id"):
                    path = item_path("products", product["number"]) + "/variations"
                    for var in self.adapter.pages(path, "product_variations"):
                        if var.get("sku"):
                            self._variations[str(var["sku"])] = (str(product["number"]), int(var["id"]))
        return self._variations
