"""Exporter of products into WooCommerce: the ERP controls them (presets ``erp`` and ``combo``).

Seed 002: "Produkt Specter → WooCommerce", "Pris Specter → WooCommerce"; in ``combo`` the shop owns the
articles and the ERP only their price. So a flow writes only the fields it owns (``owns``; the
``prices`` flow of a preset owns ``price`` and ``sale_price``, and never touches a name).

* **Found by SKU, never duplicated.** A record is written to the shop's product or variation holding
  its SKU: ``GET /products?sku=`` searches variations too [source: woocommerce
  class-wc-rest-products-controller.php prepare_objects_query, post types product and
  product_variation when ``sku`` is set]; the answer's ``type`` / ``parent_id`` say which endpoint
  takes the update (``/products/<id>`` or ``/products/<parent>/variations/<id>``) [doc: woocommerce
  products.md, product-variations.md "Update a …"].
* **A flow in mode ``update`` creates nothing** (a preset's ``prices`` flow): an ERP article the shop
  does not sell is logged as ignored, not created, since creating it would write its name.
* **New products land as drafts** (``new_product_status``, default ``draft``): "för att sen kunna
  påbörja arbetet med bilder och texter i WooCommerce" [seed 002, initial sync ERP → shop]. A
  product the ERP holds is a simple product in the shop (an ERP article is one SKU).
* **Prices in the shop's convention**: ``regular_price`` / ``sale_price`` are strings with the shop's
  decimals, including VAT when the shop enters prices with VAT (``woocommerce_prices_include_tax``,
  read from the shop: :mod:`.settings`) — an ERP's price without VAT is converted with its own rate.
"""

from __future__ import annotations

from typing import Any, Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext, one_by_one
from integrations_dagster.connectors.http import HttpClient
from integrations_dagster.connectors.woocommerce import settings
from integrations_dagster.model.money import Price
from integrations_dagster.model.product import Product

# canonical field -> what a flow owning it writes (the shop's field names) [doc: products.md properties]
OWNABLE = ("name", "description", "price", "sale_price", "weight", "ean")
FACTS_MEMO = "woocommerce.facts"


class ProductExporter:
    def __init__(self, http: HttpClient, ctx: WriteContext) -> None:
        self.http, self.ctx = http, ctx
        self.owned = [f for f in OWNABLE if ctx.owned(f)]
        self.new_status = str(ctx.options.get("new_product_status") or "draft")

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        yield from one_by_one(changes, self._one, "WooCommerce refused it")

    def _one(self, change: Change) -> Outcome:
        product = change.record
        if change.action == "delete" or not isinstance(product, Product):
            return Outcome(change.key, ok=True, action="skipped", error="products are not deleted in the shop")
        if product.kind != "simple" or not product.sku:
            return Outcome(change.key, ok=False, action="failed", error=(
                "a product with variants from this source cannot be written to WooCommerce yet: "
                "each of its SKUs must come as a product of its own"))
        held = self._holder(product.sku)
        if held is None and self.ctx.options.get("mode") == "update":  # e.g. a preset's prices flow
            return Outcome(change.key, ok=True, action="ignored", error=(
                f"SKU {product.sku} is not in the shop, and this flow (mode update) creates nothing: "
                "the products flow decides what the shop sells"))
        if held is None:
            body = {**self._fields(product, OWNABLE), "sku": product.sku, "type": "simple",
                    "status": self.new_status}
            created = self.http.request("POST", "/products", json=body).json()
            return Outcome(change.key, ok=True, action="created", target_id=str(created["id"]))
        variation = held.get("type") == "variation"
        path = f"/products/{held['parent_id']}/variations/{held['id']}" if variation else f"/products/{held['id']}"
        fields = self._fields(product, self.owned)
        if fields:
            self.http.request("PUT", path, json=fields)
        action = "updated" if change.target_id or self.ctx.binder.external_id("products", change.key) else "linked"
        # the id map's spelling of a variation is "<parent>/<variation>", as the stock writer reads it
        target = f"{held['parent_id']}/{held['id']}" if variation else str(held["id"])
        return Outcome(change.key, ok=True, action=action, target_id=target)

    def plan(self, changes: list[Change]) -> dict[str, tuple[str, str]]:
        """A dry run's look: which creates the shop would *link* (it has the SKU) — read-only."""
        out = {}
        for change in changes:
            product = change.record
            if change.action != "create" or not isinstance(product, Product) or not product.sku:
                continue
            if (held := self._holder(product.sku)) is not None:
                out[change.key] = ("link", f"the shop has SKU {product.sku} ({held.get('type') or 'product'} "
                                           f"{held['id']}): matched, not created")
        return out

    def _holder(self, sku: str) -> dict | None:
        """The shop's product or variation with this SKU (exactly: the filter may match others)."""
        found = self.http.get("/products", sku=sku, _fields="id,sku,type,parent_id")
        return next((p for p in found if str(p.get("sku")) == sku), None)

    def _fields(self, product: Product, owned: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "name" in owned:
            out["name"] = product.name
        if "description" in owned and product.description is not None:
            out["description"] = product.description
        if "price" in owned and product.price is not None:
            out["regular_price"] = self._money(product.price)
        if "sale_price" in owned:
            out["sale_price"] = self._money(product.sale_price) if product.sale_price is not None else ""
        if "weight" in owned and product.weight is not None:
            out["weight"] = f"{product.weight.normalize():f}"
        if "ean" in owned and product.ean:
            out["global_unique_id"] = product.ean
        return out

    def _money(self, price: Price) -> str:
        return f"{price.as_(self._facts().prices_include_tax, places=2):.2f}"

    def _facts(self) -> settings.ShopFacts:
        """What the shop says of itself, read once per run and only when a price is written (a dry
        run's look needs none of it)."""
        if FACTS_MEMO not in self.ctx.memo:
            self.ctx.memo[FACTS_MEMO] = settings.read(self.http)
        return self.ctx.memo[FACTS_MEMO]
