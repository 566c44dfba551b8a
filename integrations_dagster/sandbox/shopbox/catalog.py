"""The shop's catalogue as stored: tags (categories), variant types and their values, products and their
variances. Routes are in :mod:`.products`; the stock a product reports comes from :mod:`.stock`.

Evidence:
* Product fields [3p: Dart model generated from a real ``GET /products`` answer]: ``uid`` (int), ``name``,
  ``tag`` (int) + ``tag0`` (the tag object), ``kitchen_name``, ``official_name``, ``stock_price``,
  ``selling_price`` (int), ``code`` (barcode), ``sku_code``, ``quantity``, ``client``, ``description``,
  ``type``/``type_text`` ("POS"), ``is_visible``, ``tax0`` {uid, name, enabled, percentage}, ``unit0``,
  ``image0`` {uid, path, image_original, …}, ``inventory_on_variants``, ``closed_for_discount``, ``crdate``,
  ``tstamp``, ``*_formatted``, ``modifier_group``. A dExPay server reads ``uid, name, tag, sku,
  image0.image_original, description, selling_price`` [3p] (``sku``: guesses.SKU_ALIAS).
* The write [3p: PHP plugin ``ProductsExporter``]: ``POST /products/create-or-update`` with ``uid`` (null =
  new), ``name``, ``kitchen_name``, ``official_name``, ``tag``, ``selling_price`` = round(price excl. VAT ×
  (100 + VAT %)) — øre incl. VAT —, ``stock_price`` = round(cost × 100), ``code``, ``sku_code``, ``image``,
  ``inventory_on_variants``, ``integration_number``/``integration_type``, the flags ``disable_name_update``,
  ``update_tag``, ``update_image``, and ``variants`` [{uid: 0, selling_price, variance_value: [value uids],
  barcode, sku_code, inventory_multiply_factor, integration_number, integration_type}]; the answer is the
  product with ``product_variances`` [{uid, variance_values: [{name, variance_type (the type's uid)}]}].
* Product and variation ids are separate: Rackbeat stores the "Shopbox UID" and the "variasjons ID" in two
  fields [partner: seed 003].
* Variant types [3p: PHP plugin]: ``POST /variance-type/create-or-update`` {name, slug, variants: [{name,
  slug}]} → {uid, name, variants: [{uid, name}]}.
* Tags [3p: PHP plugin ``CategoriesExporter``, ``ProductsImporter``]: ``{uid, name}``; tag0 fields
  [3p: Dart model]: uid, name, client, weight, color, product_count, hidden, is_visible, parent, crdate, tstamp.

GUESSES (guesses.py): REST writes beside create-or-update, variant matching, update flags, deletion,
components (structured products), the multiply factor, tag-name uniqueness, refusals (422).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.shopbox.org import Org
from integrations_dagster.sandbox.shopbox.wire import (invalid, minor_units, not_found, now, public,
                                                       quantity, ref, stamps)

TAGS, PRODUCTS, VARIANCES, TYPES, VALUES = "tags", "products", "variances", "variance_types", "variance_values"
# uid = base + the store's row id: each kind has its own range, so a product uid is never a variance uid.
UID_BASE = {TAGS: 4000, PRODUCTS: 200000, VARIANCES: 300000, TYPES: 500, VALUES: 5000}
TEXT_FIELDS = ("description", "kitchen_name", "official_name", "code", "sku_code", "color")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9æøå]+", "-", text.strip().lower()).strip("-") or "v"


def _flag(body: dict, name: str, default: int) -> int:
    value = body.get(name, default)
    return 1 if value in (True, 1, "1", "true") else 0


class Catalog:
    def __init__(self, store: DocumentStore, org: Org) -> None:
        self.store, self.org = store, org
        # (product uid) -> (total, {variance uid: total}); set by Stock (stock.py)
        self.stock_totals: Callable[[int], tuple[int | float, dict[int, int | float]]] = lambda _uid: (0, {})

    # --- uids ----------------------------------------------------------------------------------------
    def _new(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        row_id = self.store.insert(kind, doc)
        uid = UID_BASE[kind] + row_id
        doc = {"uid": uid, **doc}
        self.store.put(kind, row_id, doc, key=str(uid), parent=doc.get("_parent"))
        return doc

    def _get(self, kind: str, uid: Any) -> dict[str, Any] | None:
        try:
            row_id = int(uid) - UID_BASE[kind]
        except (TypeError, ValueError):
            return None
        doc = self.store.get(kind, row_id) if row_id > 0 else None
        return {k: v for k, v in doc.items() if k != "id"} if doc else None

    def _put(self, kind: str, doc: dict[str, Any]) -> None:
        self.store.put(kind, doc["uid"] - UID_BASE[kind], doc, key=str(doc["uid"]), parent=doc.get("_parent"))

    # --- tags ----------------------------------------------------------------------------------------
    def tag(self, uid: Any) -> dict[str, Any] | None:
        return self._get(TAGS, uid)

    def tags(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        rows = [{k: v for k, v in r.items() if k != "id"} for r in self.store.find(TAGS)]
        if names:
            wanted = {n.strip().lower() for n in names}
            rows = [r for r in rows if r["name"].lower() in wanted]
        return rows

    def create_tag(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "").strip()
        if not name:
            raise invalid(("name", "Name cannot be blank."))
        if guesses.TAG_NAME_UNIQUE and self.tags([name]):
            raise invalid(("name", f'Name "{name}" has already been taken.'))
        moment = now()
        return self._new(TAGS, {"name": name, "client": self.org.client, "weight": 0, "color": body.get("color"),
                                "image": None, "hidden": 0, "is_visible": 1, "parent": body.get("parent"),
                                "is_system": None, **stamps(moment, moment)})

    def public_tag(self, tag: dict[str, Any]) -> dict[str, Any]:
        count = sum(1 for p in self.live_products() if p.get("tag") == tag["uid"])
        return {**public(tag), "product_count": count}

    # --- variant types -------------------------------------------------------------------------------
    def value(self, uid: Any) -> dict[str, Any] | None:
        return self._get(VALUES, uid)

    def variance_type(self, body: dict[str, Any]) -> dict[str, Any]:
        """create-or-update: the type is found by slug, else name; each value by slug, else name (GUESS)."""
        name = str(body.get("name") or "").strip()
        if not name:
            raise invalid(("name", "Name cannot be blank."))
        type_slug = str(body.get("slug") or slug(name))
        existing = next((t for t in ({k: v for k, v in r.items() if k != "id"} for r in self.store.find(TYPES))
                         if t["slug"] == type_slug or t["name"].lower() == name.lower()), None)
        moment = now()
        if existing is None:
            existing = self._new(TYPES, {"name": name, "slug": type_slug, "client": self.org.client, "values": [],
                                         **stamps(moment, moment)})
        values = [self.value(v) for v in existing["values"]]
        wanted = body.get("variants") or []
        if not isinstance(wanted, list):
            raise invalid(("variants", "Variants must be a list."))
        for i, item in enumerate(wanted):
            if not isinstance(item, dict) or not str(item.get("name") or "").strip():
                raise invalid((f"variants[{i}].name", "Name cannot be blank."))
            v_name = str(item["name"]).strip()
            v_slug = str(item.get("slug") or slug(v_name))
            if any(v["slug"] == v_slug or v["name"].lower() == v_name.lower() for v in values):
                continue
            values.append(self._new(VALUES, {"name": v_name, "slug": v_slug, "variance_type": existing["uid"]}))
        existing = {**existing, "values": [v["uid"] for v in values], "tstamp": moment}
        self._put(TYPES, existing)
        return {"uid": existing["uid"], "name": existing["name"], "slug": existing["slug"],
                "client": existing["client"], "variants": values}

    # --- products --------------------------------------------------------------------------------------
    def product(self, uid: Any) -> dict[str, Any] | None:
        doc = self._get(PRODUCTS, uid)
        if doc is None or (doc.get("deleted") and guesses.DELETED_IS_GONE):
            return None
        return doc

    def require(self, uid: Any, what: str = "Product") -> dict[str, Any]:
        doc = self.product(uid)
        if doc is None:
            raise not_found(what)
        return doc

    def live_products(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "id"} for r in self.store.find(PRODUCTS) if not r.get("deleted")]

    def variance(self, product: dict[str, Any], uid: Any) -> dict[str, Any] | None:
        return next((v for v in product["product_variances"] if str(v["uid"]) == str(uid)), None)

    def save(self, body: dict[str, Any], uid: Any = None) -> tuple[dict[str, Any], bool]:
        """Create (``uid`` empty) or update a product from a create-or-update body; (product, created)."""
        existing = None
        if ref(uid, "uid", required=False) is not None:
            existing = self.require(uid)
        moment = now()
        doc: dict[str, Any] = dict(existing) if existing else {
            "name": None, "tag": None, "kitchen_name": None, "official_name": None, "is_favourite": 0,
            "stock_price": 0, "selling_price": 0, "code": None, "sku_code": None, "client": self.org.client,
            "color": None, "weight": 0, "description": None, "type": guesses.PRODUCT_TYPE, "type_text": "POS",
            "integration": None, "integration_number": None, "integration_type": None, "not_kitchen": 0,
            "is_visible": 1, "tax": guesses.DEFAULT_TAX, "unit0": None, "image": None, "inventory_on_variants": 0,
            "closed_for_discount": 0, "modifier_group": [], guesses.COMPONENTS_FIELD: [], "deleted": 0,
            "product_variances": [], "crdate": moment}
        updating = existing is not None
        # On an update the flags may keep the name (disable_name_update=1), the tag (update_tag=0) or the
        # image (update_image=0) as they are; absent flags keep nothing (guesses.UPDATE_FLAGS).
        keep = {name: updating and name in body and _flag(body, name, 0) == (name == "disable_name_update")
                for name in guesses.UPDATE_FLAGS}
        if "name" in body and not keep["disable_name_update"]:
            doc["name"] = str(body.get("name") or "").strip() or None
        if not doc["name"]:
            raise invalid(("name", "Name cannot be blank."))
        if "sku" in body and "sku_code" not in body and guesses.SKU_ALIAS:
            body = {**body, "sku_code": body["sku"]}
        for name in TEXT_FIELDS:
            if name in body:
                doc[name] = None if body[name] is None else str(body[name])
        for name in ("selling_price", "stock_price"):
            if name in body and body[name] is not None:
                doc[name] = minor_units(body[name], name)
        if "tag" in body and not keep["update_tag"]:
            tag = ref(body["tag"], "tag", required=False)
            if tag is not None and self.tag(tag) is None:
                raise invalid(("tag", "Tag is invalid."))
            doc["tag"] = tag
        if "image" in body and not keep["update_image"]:
            doc["image"] = ref(body["image"], "image", required=False)
        if "tax" in body and body["tax"] is not None:
            tax = ref(body["tax"], "tax")
            if tax not in self.org.taxes:
                raise invalid(("tax", "Tax is invalid."))
            doc["tax"] = tax
        for name in ("inventory_on_variants", "is_visible", "closed_for_discount"):
            if name in body:
                doc[name] = _flag(body, name, doc[name])
        for name in ("integration_number", "integration_type", "weight"):
            if name in body:
                doc[name] = body[name]
        if guesses.COMPONENTS_FIELD in body:
            doc[guesses.COMPONENTS_FIELD] = self._components(body[guesses.COMPONENTS_FIELD], doc.get("uid"))
        variants = body.get("variants")
        if variants is not None and not isinstance(variants, list):
            raise invalid(("variants", "Variants must be a list."))
        doc.update(stamps(doc["crdate"], moment))
        if existing is None:
            doc = self._new(PRODUCTS, doc)
        if variants:
            doc["product_variances"] = self._variances(doc, variants)
        self._put(PRODUCTS, doc)
        return doc, existing is None

    def _components(self, items: Any, own_uid: int | None) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            raise invalid((guesses.COMPONENTS_FIELD, "Components must be a list."))
        out = []
        for i, item in enumerate(items):
            where = f"{guesses.COMPONENTS_FIELD}[{i}]"
            if not isinstance(item, dict):
                raise invalid((where, "Each component must be an object."))
            part = self.product(ref(item.get("product"), f"{where}.product"))
            if part is None or part["uid"] == own_uid:
                raise invalid((f"{where}.product", "Product is invalid."))
            variance = ref(item.get("product_variance"), f"{where}.product_variance", required=False)
            if (variance is not None and self.variance(part, variance) is None) or \
                    (variance is None and part["inventory_on_variants"]):
                raise invalid((f"{where}.product_variance", "Product variance is invalid."))
            amount = quantity(item.get("quantity", 1), f"{where}.quantity")
            if amount <= 0:
                raise invalid((f"{where}.quantity", "Quantity must be greater than 0."))
            out.append({"product": part["uid"], "product_variance": variance, "quantity": amount})
        return out

    def _variances(self, product: dict[str, Any], items: list[Any]) -> list[dict[str, Any]]:
        """Match each written variant to an existing variance (guesses.VARIANT_MATCH) or make a new one."""
        current = list(product["product_variances"])
        for i, item in enumerate(items):
            where = f"variants[{i}]"
            if not isinstance(item, dict):
                raise invalid((where, "Each variant must be an object."))
            value_uids = item.get("variance_value") or []
            if not isinstance(value_uids, list) or not value_uids:
                raise invalid((f"{where}.variance_value", "Variance value cannot be blank."))
            values = []
            for value_uid in value_uids:
                value = self.value(value_uid)
                if value is None:
                    raise invalid((f"{where}.variance_value", f"Variance value {value_uid} is invalid."))
                values.append({"uid": value["uid"], "name": value["name"], "slug": value["slug"],
                               "variance_type": value["variance_type"]})
            match = self._match(current, item, {v["uid"] for v in values})
            variance = dict(match) if match else {"uid": None, "product": product["uid"], "integration_number": None,
                                                  "integration_type": None, "barcode": None, "sku_code": None,
                                                  "inventory_multiply_factor": 1, "selling_price": None}
            variance["variance_values"] = sorted(values, key=lambda v: (v["variance_type"], v["uid"]))
            variance["name"] = " / ".join(v["name"] for v in variance["variance_values"])
            if item.get("selling_price") is not None:
                variance["selling_price"] = minor_units(item["selling_price"], f"{where}.selling_price")
            if variance["selling_price"] is None:
                variance["selling_price"] = product["selling_price"]
            for name in ("barcode", "sku_code"):
                if name in item:
                    variance[name] = None if item[name] is None else str(item[name])
            for name in ("integration_number", "integration_type"):
                if name in item:
                    variance[name] = item[name]
            if "inventory_multiply_factor" in item:
                factor = quantity(item["inventory_multiply_factor"], f"{where}.inventory_multiply_factor")
                if factor <= 0:
                    raise invalid((f"{where}.inventory_multiply_factor", "Must be greater than 0."))
                variance["inventory_multiply_factor"] = factor
            if match is None:
                created = self._new(VARIANCES, {"_parent": product["uid"]})
                variance["uid"] = created["uid"]
                current.append(variance)
            else:
                current[current.index(match)] = variance
        return current

    @staticmethod
    def _match(current: list[dict[str, Any]], item: dict[str, Any], value_uids: set[int]) -> dict[str, Any] | None:
        for how in guesses.VARIANT_MATCH:
            for variance in current:
                if how == "uid" and item.get("uid") not in (None, 0, "0") and str(variance["uid"]) == str(item["uid"]):
                    return variance
                if (how == "integration_number" and item.get("integration_number") not in (None, "")
                        and str(variance.get("integration_number")) == str(item["integration_number"])):
                    return variance
                if how == "variance_value" and {v["uid"] for v in variance["variance_values"]} == value_uids:
                    return variance
        if item.get("uid") not in (None, 0, "0"):
            raise invalid(("variants.uid", f"Product variance {item['uid']} is invalid."))
        return None

    def delete(self, uid: Any) -> None:
        doc = self.require(uid)
        moment = now()
        self._put(PRODUCTS, {**doc, "deleted": 1, **stamps(doc["crdate"], moment)})

    def public_product(self, doc: dict[str, Any], *, variances: bool = True) -> dict[str, Any]:
        """The product as the API answers it (``tag0``, ``tax0``, stock ``quantity`` filled in)."""
        total, per_variance = self.stock_totals(doc["uid"])
        out = {k: v for k, v in doc.items() if not k.startswith("_") and k not in ("product_variances", "deleted")}
        tag = self.tag(doc["tag"]) if doc.get("tag") else None
        out["tag0"] = public(tag) if tag else None
        out["tax0"] = self.org.taxes.get(doc["tax"])
        out["image0"] = None
        out["quantity"] = total if guesses.PRODUCT_QUANTITY_IS_TOTAL else 0
        if guesses.SKU_ALIAS:
            out["sku"] = doc.get("sku_code")
        if variances:
            out["product_variances"] = [{**v, "quantity": per_variance.get(v["uid"], 0)}
                                        for v in doc["product_variances"]]
        return out
