"""The catalog's state: products, their variants and variant options, SKUs, categories, and the rules
that tie them together (uniqueness, base variants, stock, ``date_modified``).

Collections: ``products`` (key = lower-cased name), ``variants`` (parent = product id), ``options``
(parent = product id), ``option_values`` (id allocation only), ``skus`` (key = lower-cased SKU,
parent = product id, doc ``{"variant_id"}``), ``categories``, ``images`` (id allocation only).
Fields starting with ``_`` are internal and never answered.

Rules and their evidence:
* A simple product is its own "base variant"; ``base_variant_id`` is ``null`` for complex products
  [doc: BCdocs:docs/store-operations/catalog/index.mdx] [spec: products_catalog.v3.yml#components/schemas/product_Full].
* SKU unique across products and variants, case-insensitive [spec: products_catalog.v3.yml#components/schemas/product_Base_POST];
  duplicates are 409 [spec: products_catalog.v3.yml#createProduct] with the body of §2.7 [3p].
* Unknown category or tax class is a 409, not a 422 [spec: products_catalog.v3.yml#updateProducts] (§9.2).
* ``calculated_price`` = sale price if set, else price [spec: products_catalog.v3.yml#components/schemas/product_Full];
  a variant's null price inherits the product's [spec: product-variants_catalog.v3.yml#components/schemas/productVariant_Full].
* Inventory: ``inventory_level`` is the default location's (id 1) [spec: products_catalog.v3.yml#components/schemas/product_Base_POST];
  a location's stock is "undefined" until first set [doc: BCdocs:docs/store-operations/catalog/inventory-adjustments.mdx]
  (``_stock_set``).
"""

from __future__ import annotations

from typing import Any

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.bigcommerce import guesses
from integrations_dagster.sandbox.bigcommerce.events import NoEvents
from integrations_dagster.sandbox.bigcommerce.wire import BcError, now, store_time, v3_error

# Default fields of a new product, as the getProduct example shows an unset product
# [spec: products_catalog.v3.yml#getProduct].
PRODUCT_DEFAULTS: dict[str, Any] = {
    "name": "", "type": "physical", "sku": "", "description": "", "weight": 0, "width": 0, "depth": 0,
    "height": 0, "price": 0, "cost_price": 0, "retail_price": 0, "sale_price": 0, "map_price": 0,
    "tax_class_id": 0, "product_tax_code": "", "categories": [], "brand_id": 0, "inventory_level": 0,
    "inventory_warning_level": 0, "inventory_tracking": "none", "fixed_cost_shipping_price": 0,
    "is_free_shipping": False, "is_visible": True, "is_featured": False, "related_products": [-1],
    "warranty": "", "bin_picking_number": "", "layout_file": "", "upc": "", "mpn": "", "gtin": "",
    "search_keywords": "", "availability": "available", "availability_description": "",
    "sort_order": 0, "condition": "New", "is_condition_shown": False, "order_quantity_minimum": 0,
    "order_quantity_maximum": 0, "page_title": "", "meta_keywords": [], "meta_description": "",
    "view_count": 0, "preorder_message": "", "is_preorder_only": False, "is_price_hidden": False,
    "price_hidden_label": "", "total_sold": 0, "reviews_rating_sum": 0, "reviews_count": 0,
}
VARIANT_DEFAULTS: dict[str, Any] = {
    "price": None, "sale_price": None, "retail_price": None, "cost_price": None, "map_price": None,
    "weight": None, "width": None, "height": None, "depth": None, "is_free_shipping": False,
    "fixed_cost_shipping_price": None, "purchasing_disabled": False, "purchasing_disabled_message": "",
    "upc": "", "mpn": "", "gtin": "", "image_url": "", "inventory_level": 0, "inventory_warning_level": 0,
    "bin_picking_number": "", "option_values": [],
}
# Tax classes of a new store. The spec only says ``tax_class_id`` 0..255, 0 = default
# [spec: products_catalog.v3.yml#components/schemas/product_Base_POST]; ids 1-3 are guesses.
TAX_CLASS_IDS = frozenset({0, 1, 2, 3})


class Catalog:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.events = NoEvents()  # app.create() gives the API's catalog webhook Events

    # ---- lookups -------------------------------------------------------------------------------
    def product(self, product_id: int) -> dict:
        doc = self.store.get("products", product_id)
        if doc is None:
            raise BcError(404, {"status": 404, "title": "Product not found", "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
                                "instance": f"/v3/catalog/products/{product_id}"})
        return doc

    def variants_of(self, product_id: int) -> list[dict]:
        return self.store.find("variants", parent=product_id)

    def options_of(self, product_id: int) -> list[dict]:
        return self.store.find("options", parent=product_id)

    def sku_owner(self, sku: str) -> dict | None:
        """``{"product_id", "variant_id"}`` of the product/variant holding ``sku`` (any case), or None."""
        rows = self.store.find("skus", key=sku.lower()) if sku else []
        return rows[0] if rows else None

    def name_taken(self, name: str, except_id: int | None = None) -> bool:
        key = name.lower() if guesses.NAME_UNIQUE_CASE_INSENSITIVE else name
        return any(doc["id"] != except_id for doc in self.store.find("products", key=key))

    # ---- checks ---------------------------------------------------------------------------------
    def check_sku_free(self, sku: str, *, product_id: int | None = None, variant_id: int | None = None,
                       title: str = "The product sku is a duplicate") -> None:
        owner = self.sku_owner(sku)
        if owner and not (owner["product_id"] == product_id and owner["variant_id"] == variant_id):
            raise v3_error(409, title, {"sku": title})

    def check_references(self, body: dict) -> None:
        for category_id in body.get("categories") or []:
            if self.store.get("categories", int(category_id)) is None:
                raise v3_error(409, f"Category {category_id} does not exist", {"categories": f"Invalid category id {category_id}"})
        if "tax_class_id" in body and int(body["tax_class_id"]) not in TAX_CLASS_IDS:
            raise v3_error(409, f"Tax class {body['tax_class_id']} does not exist", {"tax_class_id": "Invalid tax class"})

    def check_name_free(self, name: str, except_id: int | None = None) -> None:
        if self.name_taken(name, except_id):
            raise v3_error(409, guesses.DUPLICATE_NAME_TITLE, {"name": guesses.DUPLICATE_NAME_TITLE})

    # ---- writes ---------------------------------------------------------------------------------
    def save_product(self, doc: dict, *, touch: bool = True) -> None:
        key = doc["name"].lower() if guesses.NAME_UNIQUE_CASE_INSENSITIVE else doc["name"]
        if touch:
            doc["_modified"] = store_time(now())
        self.store.put("products", doc["id"], doc, key=key, modified=doc["_modified"])

    def touch(self, product_id: int) -> None:
        self.save_product(self.store.get("products", product_id))

    def claim_sku(self, sku: str, product_id: int, variant_id: int | None) -> None:
        if sku:
            self.store.insert("skus", {"product_id": product_id, "variant_id": variant_id}, key=sku.lower(),
                              parent=product_id)

    def variants_by_sku(self, sku: str) -> list[dict]:
        """The variants holding ``sku`` (the base variant of a simple product holds the product's)."""
        out = []
        for row in self.store.find("skus", key=sku.lower()) if sku else []:
            variant_id = row["variant_id"]
            if variant_id is None:
                variant_id = (self.store.get("products", row["product_id"]) or {}).get("_base_variant_id")
            doc = self.store.get("variants", variant_id) if variant_id is not None else None
            if doc is not None:
                out.append(doc)
        return out

    def release_sku(self, sku: str) -> None:
        for row in self.store.find("skus", key=sku.lower()) if sku else []:
            self.store.delete("skus", row["id"])

    def insert_product(self, fields: dict) -> dict:
        stamp = store_time(now())
        doc = {**PRODUCT_DEFAULTS, **fields, "_created": stamp, "_modified": stamp, "_base_variant_id": None,
               "_stock_set": "inventory_level" in fields, "images": []}
        doc["id"] = self.store.insert("products", {})
        self.save_product(doc, touch=False)
        return doc

    def insert_variant(self, product: dict, fields: dict, option_values: list[dict]) -> dict:
        doc = {**VARIANT_DEFAULTS, **fields, "product_id": product["id"], "option_values": option_values,
               "_stock_set": "inventory_level" in fields}
        doc["id"] = self.store.insert("variants", {}, parent=product["id"])
        doc["sku_id"] = None if not option_values else doc["id"]
        self.store.put("variants", doc["id"], doc, key=doc.get("sku", "").lower(), parent=product["id"])
        self.claim_sku(doc.get("sku", ""), product["id"], doc["id"])
        return doc

    def save_variant(self, doc: dict) -> None:
        self.store.put("variants", doc["id"], doc, key=doc.get("sku", "").lower(), parent=doc["product_id"])

    def delete_product(self, product_id: int) -> None:
        for variant in self.variants_of(product_id):
            self.store.delete("variants", variant["id"])
        for option in self.options_of(product_id):
            self.store.delete("options", option["id"])
        for row in self.store.find("skus", parent=product_id):
            self.store.delete("skus", row["id"])
        self.store.delete("products", product_id)
        self.events.product("deleted", product_id)

    def ensure_option_value(self, product_id: int, display_name: str, label: str) -> dict:
        """The ``{id, label, option_id, option_display_name}`` of a variant's option value, creating
        the option (type rectangles: "display type defaults to radio/rectangles" [doc:
        BCdocs:docs/store-operations/catalog/index.mdx]) and the value when missing."""
        option = next((o for o in self.options_of(product_id) if o["display_name"] == display_name), None)
        if option is None:
            option = {"product_id": product_id, "name": display_name, "display_name": display_name,
                      "type": "rectangles", "sort_order": len(self.options_of(product_id)), "config": {},
                      "option_values": []}
            option["id"] = self.store.insert("options", option, parent=product_id)
        value = next((v for v in option["option_values"] if v["label"] == label), None)
        if value is None:
            value = {"id": self.store.insert("option_values", {}), "label": label,
                     "sort_order": len(option["option_values"]), "value_data": {}, "is_default": False}
            option["option_values"].append(value)
            self.store.put("options", option["id"], option, parent=product_id)
        return {"id": value["id"], "label": label, "option_id": option["id"], "option_display_name": display_name}

    def option_value_by_id(self, product_id: int, value_id: int, option_id: int | None) -> dict:
        for option in self.options_of(product_id):
            if option_id not in (None, option["id"]):
                continue
            for value in option["option_values"]:
                if value["id"] == value_id:
                    return {"id": value_id, "label": value["label"], "option_id": option["id"],
                            "option_display_name": option["display_name"]}
        raise v3_error(422, "Invalid option value", {"option_values": f"Option value {value_id} does not exist on this product"})
