"""Routes of variants and variant options [spec: product-variants_catalog.v3.yml getProductVariants,
createProductVariant, getProductVariant, updateProductVariant, deleteProductVariant, getVariants,
updateVariantsBatch] [spec: product-variant-options_catalog.v3.yml getProductVariantOptions,
createProductVariantOption].

* A variant POST names existing option values by ``id`` + ``option_id`` [doc: BCdocs:docs/store-operations/catalog/index.mdx];
  the sandbox also takes ``option_display_name`` + ``label`` (as a product POST does) and creates them.
* Variant SKU unique store-wide, case-insensitive (§3.4); at most 600 variants per product
  [spec: product-variants_catalog.v3.yml#createProductVariant]; a repeated option combination is
  "Variant with the same option values set exists" [3p] (status: guess).
* The first real variant of a simple product replaces its base variant (``base_variant_id`` becomes
  null: "null for complex products" [spec: products_catalog.v3.yml#components/schemas/product_Full]).
* ``GET /catalog/variants`` filters ``id``, ``sku`` (variant SKU; a simple product's base variant
  answers its product's SKU: "the product is its own variant" [doc: catalog/index.mdx]; case-insensitive
  like the products filter: guess), ``upc``, ``product_id:in``; the spec
  has no ``sku:in`` there [spec: product-variants_catalog.v3.yml#getVariants], so it is ignored like any
  unknown parameter.
* Batch PUT: at most 50 (413), a bad item gives ``{"batch_errors": [...]}`` 422
  [spec: product-variants_catalog.v3.yml#updateVariantsBatch]; never 207.
* Webhook events (:mod:`.events`): ``store/sku/created|updated|deleted`` for real variants and
  ``store/sku/inventory/updated`` when a variant's stock moved; a write to a simple product's base
  variant is a product write (``store/product/updated``, ``store/product/inventory/updated``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.bigcommerce import filters, guesses, shapes
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.product_writes import normalise
from integrations_dagster.sandbox.bigcommerce.validation import check
from integrations_dagster.sandbox.bigcommerce.wire import BcError, Gate, json_body, not_found, v3_error

PRODUCT = "/stores/{store_hash}/v3/catalog/products/{product_id:int}"
VARIANTS = "/stores/{store_hash}/v3/catalog/variants"
VARIANT_LIMIT = 600
BATCH_LIMIT = 50
OPTION_VALUE_LIMIT = 250  # [spec: product-variant-options_catalog.v3.yml#createProductVariantOptionValue]


def routes(gate: Gate, catalog: Catalog) -> list[Route]:
    store = catalog.store

    def variant(product_id: int, variant_id: int) -> dict:
        doc = store.get("variants", variant_id)
        if doc is None or doc["product_id"] != product_id:
            raise not_found(f"/v3/catalog/products/{product_id}/variants/{variant_id}")
        return doc

    async def list_variants(request: Request):
        product = catalog.product(request.path_params["product_id"])
        page_no, limit = filters.paging(request.query_params)
        rows = catalog.variants_of(product["id"])
        items = [shapes.variant_out(product, v) for v in rows[(page_no - 1) * limit: page_no * limit]]
        return 200, shapes.page(items, len(rows), page_no, limit, filters.kept(request.query_params))

    async def post_variant(request: Request):
        product = catalog.product(request.path_params["product_id"])
        body = await json_body(request, dict)
        body.setdefault("product_id", product["id"])
        check("VariantPost", body)
        with catalog.events.collect(), store.transaction():
            catalog.check_sku_free(body["sku"], title=guesses.DUPLICATE_VARIANT_SKU_TITLE)
            existing = [v for v in catalog.variants_of(product["id"]) if v["option_values"]]
            if len(existing) >= VARIANT_LIMIT:
                raise v3_error(422, "The product has reached the limit of 600 variants.", {"sku": "600 SKUs per product"})
            values = [catalog.option_value_by_id(product["id"], ov["id"], ov.get("option_id")) if "id" in ov
                      else catalog.ensure_option_value(product["id"], ov["option_display_name"], ov["label"])
                      for ov in body["option_values"]]
            combo = sorted(v["id"] for v in values)
            if any(sorted(o["id"] for o in v["option_values"]) == combo for v in existing):
                raise v3_error(guesses.DUPLICATE_COMBINATION_STATUS, "Variant with the same option values set exists",
                               {"option_values": "Variant with the same option values set exists"})
            fields = normalise({k: v for k, v in body.items() if k not in ("product_id", "option_values")})
            doc = catalog.insert_variant(product, fields, values)
            catalog.events.sku("created", product["id"], doc)
            if product.get("_base_variant_id"):
                store.delete("variants", product["_base_variant_id"])
                product["_base_variant_id"] = None
            catalog.save_product(product)
        return 200, shapes.one(shapes.variant_out(product, doc))

    async def get_variant(request: Request):
        product = catalog.product(request.path_params["product_id"])
        return 200, shapes.one(shapes.variant_out(product, variant(product["id"], request.path_params["variant_id"])))

    def apply(product: dict, doc: dict, body: dict) -> None:
        body = normalise({k: v for k, v in body.items() if k not in ("id", "product_id", "option_values")})
        is_base = doc["id"] == product.get("_base_variant_id")
        if "sku" in body and body["sku"].lower() != (product["sku"] if is_base else doc.get("sku", "")).lower():
            catalog.check_sku_free(body["sku"], title=guesses.DUPLICATE_VARIANT_SKU_TITLE)
        if "inventory_level" in body and product["inventory_tracking"] != ("product" if is_base else "variant"):
            body.pop("inventory_level")
            raise _Multi()
        events = catalog.events
        if is_base:  # the base variant is the product itself [doc: BCdocs:docs/store-operations/catalog/index.mdx]
            mapped = {k: body.pop(k) for k in ("sku", "inventory_level", "upc", "gtin", "mpn") if k in body}
            if "sku" in mapped:
                catalog.release_sku(product["sku"])
                catalog.claim_sku(mapped["sku"], product["id"], None)
            before = int(product.get("inventory_level") or 0)
            product.update(mapped)
            events.product_changed(product["id"], set(mapped) | set(body))
            if "inventory_level" in mapped:
                events.stock(product, None, int(mapped["inventory_level"] or 0) - before, guesses.STOCK_METHOD_API)
        elif "sku" in body:
            catalog.release_sku(doc.get("sku", ""))
            catalog.claim_sku(body["sku"], product["id"], doc["id"])
        before = int(doc.get("inventory_level") or 0)
        if "inventory_level" in body:
            doc["_stock_set"] = True
        doc.update(body)
        catalog.save_variant(doc)
        catalog.save_product(product)
        if not is_base:
            events.sku("updated", product["id"], doc)
            if "inventory_level" in body:
                events.stock(product, doc, int(doc["inventory_level"] or 0) - before, guesses.STOCK_METHOD_API)

    async def put_variant(request: Request):
        product = catalog.product(request.path_params["product_id"])
        doc = variant(product["id"], request.path_params["variant_id"])
        body = await json_body(request, dict)
        check("VariantPut", body)
        multi = None
        with catalog.events.collect(), store.transaction():
            try:
                apply(product, doc, body)
            except _Multi:
                body.pop("inventory_level", None)
                apply(product, doc, body)
                multi = {"status": 422, "title": guesses.MULTI_STATUS_TITLE, "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
                         "errors": {"inventory_level": guesses.MULTI_STATUS_MESSAGE}}
        out = shapes.variant_out(product, store.get("variants", doc["id"]))
        if multi:  # MultiStatus [spec: product-variants_catalog.v3.yml#components/schemas/MultiStatus]
            return 207, {"data": out, "errors": multi, "meta": {}}
        return 200, shapes.one(out)

    async def delete_variant(request: Request):
        product = catalog.product(request.path_params["product_id"])
        doc = variant(product["id"], request.path_params["variant_id"])
        with catalog.events.collect(), store.transaction():
            catalog.release_sku(doc.get("sku", ""))
            store.delete("variants", doc["id"])
            catalog.save_product(product)
            catalog.events.sku("deleted", product["id"], doc)
        return 204, None

    async def all_variants(request: Request):
        q = request.query_params
        page_no, limit = filters.paging(q)
        wanted_products = {int(x) for x in q["product_id:in"].split(",")} if "product_id:in" in q else None
        rows = []
        for doc in catalog.variants_by_sku(q["sku"]) if "sku" in q else store.find("variants"):
            product = store.get("products", doc["product_id"])
            out = shapes.variant_out(product, doc)
            if (("id" in q and str(doc["id"]) != q["id"]) or ("upc" in q and out["upc"] != q["upc"])
                    or (wanted_products is not None and doc["product_id"] not in wanted_products)):
                continue
            rows.append(out)
        return 200, shapes.page(rows[(page_no - 1) * limit: page_no * limit], len(rows), page_no, limit, filters.kept(q))

    async def put_batch(request: Request):
        body = await json_body(request, list)
        if len(body) > BATCH_LIMIT:
            raise v3_error(413, f"The request payload is too large. The maximum items allowed in the array is {BATCH_LIMIT}",
                           type_="/api-docs/getting-started/api-status-codes")
        results = []
        try:
            with catalog.events.collect(), store.transaction():
                for i, item in enumerate(body):
                    if not isinstance(item, dict):
                        raise v3_error(422, "Invalid item", {str(i): "must be an object"})
                    check("VariantBatchItem", item)
                    doc = store.get("variants", int(item["id"]))
                    if doc is None:
                        raise v3_error(422, f"Variant {item['id']} not found", {"id": "unknown variant"})
                    product = store.get("products", doc["product_id"])
                    try:
                        apply(product, doc, item)
                    except _Multi:
                        raise v3_error(422, guesses.MULTI_STATUS_TITLE, {"inventory_level": guesses.MULTI_STATUS_MESSAGE}) from None
                    results.append((product["id"], doc["id"]))
        except BcError as refusal:
            if refusal.status != 422:
                raise
            error = {**refusal.body, "instance": ""}
            raise BcError(422, {"batch_errors": [error]}) from None
        out = [shapes.variant_out(store.get("products", pid), store.get("variants", vid)) for pid, vid in results]
        return 200, shapes.page(out, len(out), 1, max(1, len(out)), {})

    async def list_options(request: Request):
        product = catalog.product(request.path_params["product_id"])
        page_no, limit = filters.paging(request.query_params)
        rows = [shapes.public(o) for o in catalog.options_of(product["id"])]
        return 200, shapes.page(rows[(page_no - 1) * limit: page_no * limit], len(rows), page_no, limit, {})

    async def post_option(request: Request):
        product = catalog.product(request.path_params["product_id"])
        body = await json_body(request, dict)
        body.setdefault("product_id", product["id"])
        check("OptionPost", body)
        if any(o["display_name"] == body["display_name"] for o in catalog.options_of(product["id"])):
            # live title [3p: migration-script README]; 409 per "duplicate unique fields" [spec: createProductVariantOption]
            raise v3_error(409, f"The display name {body['display_name']} has already been used on this product.",
                           {"display_name": "duplicate"})
        with catalog.events.collect(), store.transaction():
            option = {"product_id": product["id"], "name": body.get("name", body["display_name"]),
                      "display_name": body["display_name"], "type": body["type"],
                      "sort_order": body.get("sort_order", 0), "config": body.get("config", {}), "option_values": []}
            for i, value in enumerate(body["option_values"]):
                option["option_values"].append({"id": store.insert("option_values", {}), "label": value["label"],
                                                "sort_order": value.get("sort_order", i),
                                                "value_data": value.get("value_data") or {},
                                                "is_default": bool(value.get("is_default", False))})
            option["id"] = store.insert("options", option, parent=product["id"])
        return 200, shapes.one(option)

    async def post_option_value(request: Request):
        """One value added to an option [spec: product-variant-options_catalog.v3.yml
        #createProductVariantOptionValue]: ``label`` and ``sort_order`` required (OptionValue), "250
        option values per option"; a label the option already has is refused like a duplicate
        option (409: status is a guess, §3.1)."""
        product = catalog.product(request.path_params["product_id"])
        option = next((o for o in catalog.options_of(product["id"]) if o["id"] == request.path_params["option_id"]), None)
        if option is None:
            raise not_found(f"/v3/catalog/products/{product['id']}/options/{request.path_params['option_id']}")
        body = await json_body(request, dict)
        check("OptionValue", body)
        if any(v["label"] == body["label"] for v in option["option_values"]):
            raise v3_error(409, f"The option value {body['label']} already exists on this option.", {"label": "duplicate"})
        if len(option["option_values"]) >= OPTION_VALUE_LIMIT:
            raise v3_error(422, f"An option can have at most {OPTION_VALUE_LIMIT} values", {"option_values": "limit"})
        with catalog.events.collect(), store.transaction():
            value = {"id": store.insert("option_values", {}), "label": body["label"], "sort_order": body["sort_order"],
                     "value_data": body.get("value_data") or {}, "is_default": bool(body.get("is_default", False))}
            option["option_values"].append(value)
            store.put("options", option["id"], option, parent=product["id"])
        return 200, shapes.one(value)

    return [
        Route(PRODUCT + "/options/{option_id:int}/values", gate.endpoint("v3", post_option_value), methods=["POST"]),
        Route(PRODUCT + "/variants", gate.endpoint("v3", list_variants), methods=["GET"]),
        Route(PRODUCT + "/variants", gate.endpoint("v3", post_variant), methods=["POST"]),
        Route(PRODUCT + "/variants/{variant_id:int}", gate.endpoint("v3", get_variant), methods=["GET"]),
        Route(PRODUCT + "/variants/{variant_id:int}", gate.endpoint("v3", put_variant), methods=["PUT"]),
        Route(PRODUCT + "/variants/{variant_id:int}", gate.endpoint("v3", delete_variant), methods=["DELETE"]),
        Route(VARIANTS, gate.endpoint("v3", all_variants), methods=["GET"]),
        Route(VARIANTS, gate.endpoint("v3", put_batch), methods=["PUT"]),
        Route(PRODUCT + "/options", gate.endpoint("v3", list_options), methods=["GET"]),
        Route(PRODUCT + "/options", gate.endpoint("v3", post_option), methods=["POST"]),
    ]


class _Multi(Exception):
    """A variant write whose inventory part cannot apply (207 on the single PUT)."""
