"""Products and variations: defaults, field rules, SKU/GTIN uniqueness, stock status, price sync.

The store keeps each record's own values (WooCommerce's edit context); :mod:`.views` shows them as
the API does (a variation inheriting its parent's SKU, tax class, stock pool...). WooCommerce
behaviour kept on purpose:
* ``price`` is read-only: the sale price when set, else the regular price; a variable parent's
  price is the lowest variation price;
* saving a variation (create, update, delete; REST, batch, an order's stock reduction) saves its
  parent too, which moves the parent's ``date_modified`` — so ``/products?modified_after=`` finds a
  product whose variation alone changed. WooCommerce queues the parent (``maybe_defer_product_sync``
  -> ``wc_deferred_product_sync``), syncs it at the request's ``shutdown`` with ``$save = true``
  (``WC_Post_Data::deferred_product_sync`` -> ``WC_Product_Variable::sync`` -> ``$product->save()``),
  and a save with no post fields changed still writes ``post_modified`` ("Only update post modified
  time to record this save event") [source: woocommerce/woocommerce, plugins/woocommerce/includes/
  abstracts/abstract-wc-product.php save, after_data_store_save_or_update; class-wc-post-data.php
  init, deferred_product_sync; class-wc-product-variable.php sync; data-stores/
  class-wc-product-data-store-cpt.php update; since WooCommerce 3.4, PR #19595 closing issue #19562;
  on delete since PR #26629]. Older reports of the opposite (issue #9531, 2015) predate that;
* a non-empty SKU is unique across products and variations, compared without case: a variation
  cannot be given its parent's SKU, only inherit it by having none (``product_invalid_sku``)
  [source: abstract-wc-product.php set_sku, wc-product-functions.php wc_product_has_unique_sku];
* a new variation's ``tax_class`` is ``"parent"`` [source: class-wc-product-variation.php
  __construct]; a variation stores ``stock_quantity`` only while it or its parent manages stock,
  and then into its own (dormant, while pooled) field: writing it never moves the parent's pool,
  and ``manage_stock: true`` takes the variation out of the pool [source: .../Version3/
  class-wc-rest-product-variations-controller.php prepare_object_for_database, abstract-wc-product.php
  validate_props];
* with ``manage_stock`` the ``stock_status`` follows ``stock_quantity`` and ``backorders``; a managed
  parent's status is copied to the variations of its pool [source: class-wc-product-variable.php
  sync_managed_variation_stock_status];
* names are stored as ``wp_kses`` leaves them: a bare ``&`` becomes ``&amp;`` (WooCommerce issue
  #27692); a global attribute's default option is stored as its term slug [source: Version2
  products controller save_default_attributes].

Each write calls ``webhooks.fire`` with the topic whose hook WooCommerce runs there (see
:mod:`.webhooks`): a variation's save fires ``product.updated`` (or ``.created``) for the variation
itself (``woocommerce_update_product_variation``) and, deferred, for its parent, whose sync saves it
(``woocommerce_update_product``) [source: includes/class-wc-webhook.php get_default_topic_hooks;
data-stores/class-wc-product-variation-data-store-cpt.php update].
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from integrations_dagster.sandbox.woocommerce.clock import dated, now_gmt
from integrations_dagster.sandbox.woocommerce.documents import WooDocuments
from integrations_dagster.sandbox.woocommerce.errors import WooError, invalid_id
from integrations_dagster.sandbox.woocommerce.webhooks import fire
from integrations_dagster.sandbox.woocommerce.schema import (
    PRODUCT_ENUMS, PRODUCT_FIELDS, VARIATION_FIELDS, to_decimal, validate,
)

PRODUCTS, VARIATIONS = "products", "variations"
CATEGORIES = {9: "Clothing", 10: "Hoodies", 11: "Music", 12: "Accessories", 13: "Singles",
              14: "T-shirts", 15: "Posters"}
GLOBAL_ATTRIBUTES = {6: "Color", 7: "Size"}
SITE_URL = "https://shop.example.com"

_SHARED_DEFAULTS: dict[str, Any] = {
    "description": "", "permalink": "", "sku": "", "global_unique_id": "", "price": "",
    "regular_price": "", "sale_price": "", "date_on_sale_from": None, "date_on_sale_from_gmt": None,
    "date_on_sale_to": None, "date_on_sale_to_gmt": None, "on_sale": False, "status": "publish",
    "purchasable": False, "virtual": False, "downloadable": False, "downloads": [],
    "download_limit": -1, "download_expiry": -1, "tax_status": "taxable", "tax_class": "",
    "manage_stock": False, "stock_quantity": None, "stock_status": "instock", "backorders": "no",
    "backorders_allowed": False, "backordered": False, "weight": "",
    "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "",
    "shipping_class_id": 0, "attributes": [], "menu_order": 0, "meta_data": [],
}
PRODUCT_DEFAULTS: dict[str, Any] = {
    **_SHARED_DEFAULTS, "name": "", "slug": "", "type": "simple", "featured": False,
    "catalog_visibility": "visible", "short_description": "", "price_html": "", "total_sales": 0,
    "external_url": "", "button_text": "", "sold_individually": False, "shipping_required": True,
    "shipping_taxable": True, "reviews_allowed": True, "average_rating": "0.00", "rating_count": 0,
    "related_ids": [], "upsell_ids": [], "cross_sell_ids": [], "parent_id": 0, "purchase_note": "",
    "categories": [], "tags": [], "images": [], "default_attributes": [], "variations": [],
    "grouped_products": [],
}
VARIATION_DEFAULTS: dict[str, Any] = {**_SHARED_DEFAULTS, "image": None, "tax_class": "parent"}
SHIPPING_CLASSES = {31: "small-parcel", 32: "bulky"}  # id -> slug (the demo shop's shipping classes)
_ENTITY = re.compile(r"&(?!(?:[A-Za-z]{2,8}[0-9]{0,2}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)")
_SKIP = {"id", "sku", "global_unique_id", "categories", "images", "image", "attributes",
         "default_attributes", "meta_data", "dimensions", "downloads"}


class Catalog:
    def __init__(self, store: WooDocuments) -> None:
        self.store = store

    # -- reads ---------------------------------------------------------------------------------
    def product(self, pid: int) -> dict:
        doc = self.store.get(PRODUCTS, pid)
        if doc is None:
            raise invalid_id("product")
        return doc

    def variation(self, pid: int, vid: int) -> dict:
        self.product(pid)
        doc = self.store.get(VARIATIONS, vid)
        if doc is None or doc["parent_id"] != pid:
            raise WooError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        return doc

    # -- writes --------------------------------------------------------------------------------
    def create_product(self, body: Any) -> dict:
        data = validate(body, PRODUCT_FIELDS, PRODUCT_ENUMS)
        doc = {**PRODUCT_DEFAULTS, **dated("date_created", now_gmt())}
        self._apply(doc, data, PRODUCTS)
        with self.store.transaction():
            doc["id"] = self.store.insert(PRODUCTS, doc)
            self._finish_product(doc, data)
            self.save(PRODUCTS, doc)
        fire("product.created", doc["id"])  # woocommerce_new_product
        return doc

    def update_product(self, pid: int, body: Any) -> dict:
        data = validate(body, PRODUCT_FIELDS, PRODUCT_ENUMS)
        with self.store.transaction():
            doc = self.product(pid)
            self._apply(doc, data, PRODUCTS)
            self._finish_product(doc, data)
            self.save(PRODUCTS, doc)
        fire("product.updated", pid)  # woocommerce_update_product
        return doc

    def delete_product(self, pid: int, force: bool) -> dict:
        with self.store.transaction():
            doc = self.product(pid)
            if not force:
                if doc["status"] == "trash":
                    raise WooError(410, "woocommerce_rest_already_trashed",
                                   f"The product with ID {pid} has already been deleted.")
                doc["status"] = "trash"
                self.save(PRODUCTS, doc)
                fire("product.deleted", pid)  # wp_trash_post; a forced delete runs no hook of a topic
                return doc
            for child in self.store.children(VARIATIONS, pid):
                self.store.delete(VARIATIONS, child["id"])
            self.store.delete(PRODUCTS, pid)
        return doc

    def create_variation(self, pid: int, body: Any) -> dict:
        data = validate(body, VARIATION_FIELDS, PRODUCT_ENUMS)
        with self.store.transaction():
            parent = self.product(pid)
            doc = {**VARIATION_DEFAULTS, **dated("date_created", now_gmt()), "parent_id": pid}
            self._apply(doc, data, VARIATIONS, parent)
            doc["id"] = self.store.insert(VARIATIONS, doc, parent=pid)
            doc["permalink"] = f"{parent['permalink']}?variation_id={doc['id']}"
            self.save(VARIATIONS, doc)
            self._sync_parent(parent, touched=True)
        fire("product.created", doc["id"])  # woocommerce_new_product_variation
        fire("product.updated", pid, deferred=True)  # the parent's deferred sync saves it
        return doc

    def update_variation(self, pid: int, vid: int, body: Any) -> dict:
        data = validate(body, VARIATION_FIELDS, PRODUCT_ENUMS)
        with self.store.transaction():
            doc = self.variation(pid, vid)
            self._apply(doc, data, VARIATIONS, self.product(pid))
            self.save(VARIATIONS, doc)
            self._sync_parent(self.product(pid), touched=True)
        fire("product.updated", vid)  # woocommerce_update_product_variation
        fire("product.updated", pid, deferred=True)  # the parent's deferred sync saves it
        return doc

    def delete_variation(self, pid: int, vid: int, force: bool) -> dict:
        if not force:
            raise WooError(501, "woocommerce_rest_trash_not_supported", "Variations do not support trashing.")
        with self.store.transaction():
            doc = self.variation(pid, vid)
            self.store.delete(VARIATIONS, vid)
            self._sync_parent(self.product(pid), touched=True)
        fire("product.updated", pid, deferred=True)  # the parent's deferred sync saves it
        return doc

    # -- rules ---------------------------------------------------------------------------------
    def _apply(self, doc: dict, data: dict, collection: str, parent: dict | None = None) -> None:
        own = doc.get("id")
        if "sku" in data:
            sku = data["sku"].strip()
            if sku and self._sku_taken(sku, collection, own):
                raise WooError(400, "product_invalid_sku", "Invalid or duplicated SKU.")
            doc["sku"] = sku
        if "global_unique_id" in data:
            gtin = data["global_unique_id"].strip()
            if gtin and (not re.fullmatch(r"[0-9-]{1,40}", gtin) or self._gtin_taken(gtin, collection, own)):
                raise WooError(400, "product_invalid_global_unique_id",
                               "Invalid or duplicated GTIN, UPC, EAN or ISBN.")
            doc["global_unique_id"] = gtin
        for name, value in data.items():
            if name not in _SKIP:
                doc[name] = value
        for name in ("name", "description", "short_description"):
            if isinstance(data.get(name), str):
                doc[name] = _ENTITY.sub("&amp;", data[name])
        if "shipping_class" in data:
            slug = data["shipping_class"]
            doc["shipping_class_id"] = next((i for i, s in SHIPPING_CLASSES.items() if s == slug), 0)
            doc["shipping_class"] = slug if doc["shipping_class_id"] else ""
        managed = doc["manage_stock"] or (collection == VARIATIONS and bool((parent or {}).get("manage_stock")))
        if not managed:
            doc["stock_quantity"], doc["backorders"] = None, "no"
        if "dimensions" in data:
            doc["dimensions"] = {k: str(data["dimensions"].get(k, doc["dimensions"].get(k, "")))
                                 for k in ("length", "width", "height")}
        if "meta_data" in data:
            doc["meta_data"] = _meta(doc.get("meta_data", []), data["meta_data"])
        if "categories" in data:
            doc["categories"] = [{"id": c["id"], "name": CATEGORIES[c["id"]], "slug": _slug(CATEGORIES[c["id"]])}
                                 for c in data["categories"] if isinstance(c, dict) and c.get("id") in CATEGORIES]
        if "images" in data:
            doc["images"] = [self._image(i) for i in data["images"] if isinstance(i, dict)]
        if "image" in data:
            doc["image"] = self._image(data["image"])
        if "attributes" in data:
            doc["attributes"] = [a for a in (_attribute(a, collection) for a in data["attributes"]) if a]
        if "default_attributes" in data:
            defaults = [a for a in (_attribute(a, VARIATIONS) for a in data["default_attributes"]) if a]
            doc["default_attributes"] = [{**a, "option": _slug(a["option"])} if a["id"] else a for a in defaults]
        derive(doc)
        doc.update(dated("date_modified", now_gmt()))

    def _finish_product(self, doc: dict, data: dict) -> None:
        if not doc["slug"] or "name" in data and "slug" not in data:
            doc["slug"] = f"{_slug(doc['name']) or 'product'}-{doc['id']}"
        doc["permalink"] = f"{SITE_URL}/product/{doc['slug']}/"
        if doc["type"] == "variable":
            self._sync_parent(doc, save=False)

    def _sync_parent(self, parent: dict, save: bool = True, touched: bool = False) -> None:
        """Variation ids and lowest price onto the parent; a parent managing stock hands its stock
        status to the variations of its pool. ``touched``: a variation of it was saved, so WooCommerce
        saves the parent as well and its ``date_modified`` moves (see the module docstring)."""
        children = self.store.children(VARIATIONS, parent["id"])
        if parent.get("manage_stock"):
            for child in children:
                if not child["manage_stock"] and child["stock_status"] != parent["stock_status"]:
                    child["stock_status"] = parent["stock_status"]
                    self.save(VARIATIONS, child)
        parent["variations"] = [c["id"] for c in children]
        prices = [Decimal(c["price"]) for c in children if c["price"]]
        if parent["type"] == "variable":
            parent["price"] = str(min(prices)) if prices else ""
            parent["purchasable"] = bool(prices)
        if touched:
            parent.update(dated("date_modified", now_gmt()))
        if save:
            self.save(PRODUCTS, parent)

    def save(self, collection: str, doc: dict) -> None:
        self.store.put(collection, doc["id"], doc, key=doc["sku"] or None,
                       parent=doc["parent_id"] if collection == VARIATIONS else None, modified=doc["date_modified_gmt"])

    def _sku_taken(self, sku: str, collection: str, own: int | None) -> bool:
        return any(self.store.exists(c, "key = ? COLLATE NOCASE AND id != ? AND json_extract(data, '$.status') != 'trash'",
                                     [sku, own if c == collection and own else -1])
                   for c in (PRODUCTS, VARIATIONS))

    def _gtin_taken(self, gtin: str, collection: str, own: int | None) -> bool:
        return any(self.store.exists(c, "json_extract(data, '$.global_unique_id') = ? AND id != ?",
                                     [gtin, own if c == collection and own else -1])
                   for c in (PRODUCTS, VARIATIONS))

    def _image(self, spec: dict) -> dict:
        if spec.get("id"):
            media = self.store.get("media", int(spec["id"]))
            if media is None:
                raise WooError(400, "woocommerce_product_invalid_image_id", f"#{spec['id']} is an invalid image ID.")
            image_id = int(spec["id"])
        else:
            media = {"src": spec.get("src", "")}
            image_id = self.store.insert("media", media)
        return {"id": image_id, **dated("date_created", now_gmt()), **dated("date_modified", now_gmt()),
                "src": spec.get("src") or media.get("src", ""), "name": spec.get("name", ""),
                "alt": spec.get("alt", "")}


def derive(doc: dict) -> None:
    """Read-only fields that follow from the writable ones."""
    if doc.get("type", "simple") != "variable":
        doc["price"] = doc["sale_price"] or doc["regular_price"]
        doc["purchasable"] = doc["price"] != ""
    doc["on_sale"] = bool(doc["sale_price"]) and to_decimal(doc["sale_price"]) < to_decimal(doc["regular_price"] or 0) \
        if doc["regular_price"] else False
    if doc["manage_stock"]:
        quantity = doc["stock_quantity"] or 0
        doc["stock_status"] = "instock" if quantity > 0 else ("onbackorder" if doc["backorders"] != "no" else "outofstock")
    doc["backorders_allowed"] = doc["backorders"] != "no"
    doc["backordered"] = doc["stock_status"] == "onbackorder"
    if "price_html" in doc:
        doc["price_html"] = f'<span class="woocommerce-Price-amount amount">{doc["price"]}&nbsp;kr</span>' \
            if doc["price"] else ""


def _attribute(spec: Any, collection: str) -> dict | None:
    """A product attribute (``options``) or a variation's chosen one (``option``); unknown global ids drop."""
    if not isinstance(spec, dict):
        return None
    attr_id = int(spec.get("id") or 0)
    if attr_id and attr_id not in GLOBAL_ATTRIBUTES:
        return None
    name = GLOBAL_ATTRIBUTES.get(attr_id) or str(spec.get("name", "")).strip()
    if not name:
        return None
    if collection == VARIATIONS:
        return {"id": attr_id, "name": name, "option": str(spec.get("option", ""))}
    return {"id": attr_id, "name": name, "position": int(spec.get("position", 0)),
            "visible": bool(spec.get("visible", False)), "variation": bool(spec.get("variation", False)),
            "options": [str(o) for o in spec.get("options", [])]}


def _meta(existing: list[dict], incoming: list) -> list[dict]:
    """Meta entries update by key (or id); new ones get an id."""
    out = [dict(m) for m in existing]
    next_id = max([m["id"] for m in out] + [0]) + 1
    for item in incoming:
        if not isinstance(item, dict) or "key" not in item:
            continue
        match = next((m for m in out if m["id"] == item.get("id") or m["key"] == item["key"]), None)
        if match:
            match["value"] = item.get("value")
        else:
            out.append({"id": next_id, "key": item["key"], "value": item.get("value")})
            next_id += 1
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
