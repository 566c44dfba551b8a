"""Creating and updating one product, as POST, PUT and batch PUT share it.

* POST required ``name, type, weight, price`` [spec: products_catalog.v3.yml#createProduct] (checked by
  :mod:`.validation`); inline ``variants`` with ``option_values[{option_display_name, label}]`` create
  the options [doc: BCdocs:docs/store-operations/catalog/index.mdx] (§2.5).
* PUT is partial; ``categories`` replaces the whole list [spec: products_catalog.v3.yml#components/schemas/product_Base_POST] (§9.17).
* Name and SKU conflicts, unknown categories and tax classes: 409 (:mod:`.catalog`).
* ``date_modified`` moves on every change [spec: products_catalog.v3.yml#components/schemas/product_Full] ("The date on
  which the product was modified").
* The 207 case (:data:`.guesses.MULTI_STATUS_TITLE`): the product is saved, the inventory part is
  not, and the answer says so in ``errors`` [spec: products_catalog.v3.yml#updateProducts] (207).
* Webhook events (:mod:`.events`): ``store/product/created`` (and ``store/sku/created`` per inline
  variant), ``store/product/updated`` unless only ignored fields changed, and
  ``store/product/inventory/updated`` when ``inventory_level`` moved.
"""

from __future__ import annotations

from typing import Any

from integrations_dagster.sandbox.bigcommerce import guesses
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.validation import as_number
from integrations_dagster.sandbox.bigcommerce.wire import TYPE_URL, v3_error

NUMBER_FIELDS = ("price", "cost_price", "retail_price", "sale_price", "map_price", "weight", "width", "depth",
                 "height", "fixed_cost_shipping_price", "tax_class_id")
READ_ONLY_VARIANT = ("id", "product_id", "option_values", "calculated_price", "calculated_weight", "sku_id")


def normalise(body: dict) -> dict:
    """Numbers sent as numeric strings become numbers (§9.16); categories become integers."""
    out = dict(body)
    for name in NUMBER_FIELDS:
        if isinstance(out.get(name), str):
            out[name] = float(as_number(out[name]))
    if "tax_class_id" in out:
        out["tax_class_id"] = int(out["tax_class_id"])
    if "categories" in out:
        out["categories"] = [int(c) for c in out["categories"]]
    return out


def create_product(catalog: Catalog, body: dict) -> tuple[dict, dict | None]:
    """(stored product, 207 errors or None). ``body`` passed :func:`.validation.check` already."""
    body = normalise(body)
    variants = body.pop("variants", None) or []
    images = body.pop("images", None) or []
    catalog.check_name_free(body["name"])
    skus = [body.get("sku", "")] + [v.get("sku", "") for v in variants]
    seen: set[str] = set()
    for sku in filter(None, skus):
        if sku.lower() in seen:
            raise v3_error(409, "The product sku is a duplicate", {"sku": "The product sku is a duplicate"})
        seen.add(sku.lower())
        catalog.check_sku_free(sku)
    catalog.check_references(body)
    multi = _inventory_refusal(body, body.get("inventory_tracking", "none"))
    product = catalog.insert_product(body)
    catalog.claim_sku(product["sku"], product["id"], None)
    _set_images(catalog, product, images)
    real_variants = [v for v in variants if v.get("option_values")]
    if real_variants:
        for variant in real_variants:
            for value in variant["option_values"]:
                if not {"option_display_name", "label"} <= value.keys():
                    raise v3_error(422, "Missing Required Fields",
                                   {"variants.option_values": "Inline variants name their options by option_display_name and label."})
            values = [catalog.ensure_option_value(product["id"], ov["option_display_name"], ov["label"])
                      for ov in variant["option_values"]]
            fields = normalise({k: v for k, v in variant.items() if k not in READ_ONLY_VARIANT})
            catalog.events.sku("created", product["id"], catalog.insert_variant(product, fields, values))
    else:
        base = catalog.insert_variant(product, {"sku": ""}, [])
        product["_base_variant_id"] = base["id"]
    catalog.save_product(product)
    catalog.events.product("created", product["id"])
    return product, multi


def update_product(catalog: Catalog, product_id: int, body: dict) -> tuple[dict, dict | None]:
    """(stored product, 207 errors or None) for a partial update."""
    product = catalog.product(product_id)
    body = normalise({k: v for k, v in body.items() if k != "id"})
    images = body.pop("images", None)
    if "name" in body and body["name"] != product["name"]:
        catalog.check_name_free(body["name"], except_id=product_id)
    if "sku" in body and body["sku"].lower() != product["sku"].lower():
        catalog.check_sku_free(body["sku"], product_id=product_id, variant_id=None)
    catalog.check_references(body)
    tracking = body.get("inventory_tracking", product["inventory_tracking"])
    multi = _inventory_refusal(body, tracking)
    if "sku" in body and body["sku"] != product["sku"]:
        catalog.release_sku(product["sku"])
        catalog.claim_sku(body["sku"], product_id, None)
    before = int(product.get("inventory_level") or 0)
    if "inventory_level" in body:
        product["_stock_set"] = True
    product.update(body)
    if images is not None:
        _set_images(catalog, product, images)
    catalog.save_product(product)
    catalog.events.product_changed(product_id, body)
    if "inventory_level" in body:
        catalog.events.stock(product, None, int(product["inventory_level"] or 0) - before, guesses.STOCK_METHOD_API)
    return product, multi


def _inventory_refusal(body: dict, tracking: str) -> dict | None:
    """Drop an ``inventory_level`` the product cannot take (not tracked by product); report it as 207."""
    if "inventory_level" in body and tracking != "product":
        body.pop("inventory_level")
        return {"status": 422, "title": guesses.MULTI_STATUS_TITLE, "type": TYPE_URL,
                "errors": {"inventory_level": guesses.MULTI_STATUS_MESSAGE}}
    return None


def _set_images(catalog: Catalog, product: dict, images: list[Any]) -> None:
    """``images`` on a product write: ``image_url``, ``is_thumbnail``, ``sort_order``, ``description``
    [spec: products_catalog.v3.yml#components/schemas/productImage_Full]; replaces the list (guess)."""
    stored = []
    for i, image in enumerate(images):
        if not isinstance(image, dict) or not isinstance(image.get("image_url", ""), str):
            raise v3_error(422, guesses.INVALID_FIELD_TITLE, {f"images.{i}": "An image is an object with image_url."})
        url = image.get("image_url", "")
        stored.append({"id": catalog.store.insert("images", {}), "is_thumbnail": bool(image.get("is_thumbnail", i == 0)),
                       "sort_order": int(image.get("sort_order", i)), "description": str(image.get("description", "")),
                       "image_file": url.rsplit("/", 1)[-1], "url_zoom": url, "url_standard": url,
                       "url_thumbnail": url, "url_tiny": url, "date_modified": product["_modified"][:19] + "+00:00"})
    product["images"] = stored
