"""Inventory v3: absolute (PUT) and relative (POST) adjustments and the items read
[spec: inventory.v3.yml put-absolute-adjustment, post-relative-adjustment, get-inventory-items,
get-location-inventory-items].

* Items name their target by ``sku``, ``variant_id`` or ``product_id`` (use ``product_id`` "If a product
  has no variants") plus ``location_id`` and ``quantity``; at most 2000 per payload; answer 200
  ``{"transaction_id": "..."}`` [spec: inventory.v3.yml#components/schemas/SimpleTransactionResponse].
* Only the default location (id 1, "BC-LOCATION-1", "Default location" [spec: inventory.v3.yml#components/schemas/ItemResponse])
  exists; the catalog's ``inventory_level`` is that location's [spec: products_catalog.v3.yml#components/schemas/product_Base_POST].
* Refusals (422, ``application/problem+json``): ``variant_id`` of a product-tracked item, and a relative
  adjustment before any absolute one [spec: inventory.v3.yml#post-relative-adjustment]; a relative
  adjustment below safety stock (0) [doc: BCdocs:docs/store-operations/catalog/inventory-adjustments.mdx].
  A refused payload changes nothing (one transaction).
* Each stock move fires ``store/product/inventory/updated`` (stock held by the product) or
  ``store/sku/inventory/updated`` (by a variant) after the payload committed (:mod:`.events`).
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.bigcommerce import filters, guesses, shapes
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.validation import check
from integrations_dagster.sandbox.bigcommerce.wire import BcError, Gate, json_body, problem

BASE = "/stores/{store_hash}/v3/inventory"
DEFAULT_LOCATION = {"location_id": 1, "location_code": "BC-LOCATION-1", "location_name": "Default location"}
ITEM_LIMIT = 2000


def resolve(catalog: Catalog, item: dict) -> tuple[dict, dict | None, str]:
    """(product, variant or None when the product itself holds the stock, identity text)."""
    store = catalog.store
    if "variant_id" in item:
        variant = store.get("variants", int(item["variant_id"]))
        product = store.get("products", variant["product_id"]) if variant else None
        ident = f"variant_id {item['variant_id']}"
    elif "sku" in item:
        owner = catalog.sku_owner(str(item["sku"]))
        product = store.get("products", owner["product_id"]) if owner else None
        variant = store.get("variants", owner["variant_id"]) if owner and owner["variant_id"] else None
        ident = f"sku {item['sku']}"
    elif "product_id" in item:
        product, variant, ident = store.get("products", int(item["product_id"])), None, f"product_id {item['product_id']}"
    else:
        raise problem(422, "Each item needs one of sku, variant_id or product_id.")
    if product is None:
        raise problem(422, f"Items with identity: [{ident}] were not found")
    if variant is not None and variant["id"] == product.get("_base_variant_id"):
        variant = None  # a simple product's base variant is the product
    if variant is not None and product["inventory_tracking"] == "product":
        raise problem(422, f"[Item with variant_id {variant['id']} is tracked by product, please update stock by product id]")
    if variant is None and product["inventory_tracking"] == "variant":
        raise problem(422, guesses.PRODUCT_ID_ON_VARIANT_TRACKED.format(id=product["id"]))
    return product, variant, ident


def adjust(catalog: Catalog, items: list[dict], relative: bool, method: str = guesses.STOCK_METHOD_API) -> None:
    """Apply ``items``; each stock move notes its webhook event (``method``: :data:`.guesses.STOCK_METHOD_API`
    for API writes, :data:`.guesses.STOCK_METHOD_ORDER` for orders)."""
    for item in items:
        if int(item["location_id"]) != 1:
            raise problem(422, f"Location {item['location_id']} does not exist")
        product, variant, ident = resolve(catalog, item)
        holder = variant if variant is not None else catalog.store.get("products", product["id"])
        if relative and not holder.get("_stock_set"):
            raise problem(422, f"Items with identity: [{ident}] requires absolute adjustment before relative")
        level = int(holder.get("inventory_level") or 0) + int(item["quantity"]) if relative else int(item["quantity"])
        if level < 0:
            raise problem(422, guesses.BELOW_SAFETY_STOCK_TITLE.format(identity=ident))
        before = int(holder.get("inventory_level") or 0)
        holder["inventory_level"], holder["_stock_set"] = level, True
        catalog.events.stock(product, variant, level - before, method)
        if variant is not None:
            catalog.save_variant(holder)
            if guesses.INVENTORY_BUMPS_DATE_MODIFIED:
                catalog.touch(product["id"])
        else:
            catalog.save_product(holder, touch=guesses.INVENTORY_BUMPS_DATE_MODIFIED)


def item_out(catalog: Catalog, product: dict, variant: dict) -> dict:
    """``ItemResponse`` [spec: inventory.v3.yml#components/schemas/ItemResponse]."""
    out = shapes.variant_out(product, variant)
    level = out["inventory_level"] or 0
    sku = product["sku"] if variant["id"] == product.get("_base_variant_id") else variant.get("sku", "")
    return {"identity": {"sku": sku, "variant_id": variant["id"], "product_id": product["id"], "sku_id": variant.get("sku_id")},
            "locations": [{**DEFAULT_LOCATION, "available_to_sell": level, "total_inventory_onhand": level,
                           "location_enabled": True,
                           "settings": {"safety_stock": 0, "is_in_stock": level > 0,
                                        "warning_level": out["inventory_warning_level"] or 0,
                                        "bin_picking_number": out["bin_picking_number"] or ""}}]}


def routes(gate: Gate, catalog: Catalog) -> list[Route]:
    store = catalog.store

    def adjustment(kind: str, relative: bool):
        async def run(request: Request):
            body = await json_body(request, dict)
            try:
                check(kind, body)
            except BcError as refusal:
                raise problem(422, refusal.body["title"], refusal.body["errors"]) from None
            if len(body["items"]) > ITEM_LIMIT:
                raise problem(guesses.INVENTORY_TOO_MANY_STATUS, f"Limit of {ITEM_LIMIT} items per payload exceeded")
            with catalog.events.collect(), store.transaction():
                adjust(catalog, body["items"], relative)
            return 200, {"transaction_id": str(uuid.uuid4())}
        return run

    async def items(request: Request):
        q = request.query_params
        page_no, limit = filters.paging(q, max_limit=1000)
        wanted = {name: {x.strip() for x in q[name].split(",")} for name in ("sku:in", "variant_id:in", "product_id:in") if name in q}
        rows = []
        for variant in store.find("variants"):
            product = store.get("products", variant["product_id"])
            row = item_out(catalog, product, variant)
            ident = row["identity"]
            if (("sku:in" in wanted and ident["sku"] not in wanted["sku:in"])
                    or ("variant_id:in" in wanted and str(ident["variant_id"]) not in wanted["variant_id:in"])
                    or ("product_id:in" in wanted and str(ident["product_id"]) not in wanted["product_id:in"])
                    or ("location_id:in" in q and "1" not in q["location_id:in"].split(","))):
                continue
            rows.append(row)
        return 200, shapes.page(rows[(page_no - 1) * limit: page_no * limit], len(rows), page_no, limit, filters.kept(q))

    return [
        Route(BASE + "/adjustments/absolute", gate.endpoint("v3", adjustment("AdjustmentAbsolute", False)), methods=["PUT"]),
        Route(BASE + "/adjustments/relative", gate.endpoint("v3", adjustment("AdjustmentRelative", True)), methods=["POST"]),
        Route(BASE + "/items", gate.endpoint("v3", items), methods=["GET"]),
    ]
