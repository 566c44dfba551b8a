"""The item catalogue: product groups, items (products and lots), variation groups with their product
variations, and custom item fields with their values.

Evidence, per record:

* Product group [doc: help centre ht-00064] [spec: swagger ProductGroup/ProductGroupForm] [3p:
  RackbeatShopifySync ``group{number, name, vat_domestic, vat_eu, vat_abroad, vat_domestic_exempt}``]:
  ``number``, ``name``, ``has_inventory`` (required on create [spec]), the four VAT zones on the group, not
  on the product; "has inventory" can change only until an item of the group had a movement [doc: ht-00064].
* Product [doc: help centre how-to-create-a-product: name, number ≤ 25 characters, product group required;
  cost price not settable] [doc: portal intro-to-items-products-boms: a group must exist first] [spec:
  swagger Product "group: Must relate to an existing ProductGroup", ProductForm] [3p: RackbeatShopifySync
  RackbeatProduct; a TypeScript ``Product`` interface of a Rackbeat client]: the fields rendered below.
* Lot (BOM) [doc: portal intro: "Lots: Bills of Materials"] [spec: swagger Lot, LotForm, LotLine,
  LotLineForm: ``lines[{product_id, quantity, variations}]``, ``add_products_individually``].
* Items ``/items`` is the read view over products and lots, each with its ``type`` [doc: portal intro]
  [source: SDK Item ``type``].
* Variations: a variation group of 1–2 types assigned to a product; every sale, purchase and adjustment
  names a variation; optional SKU per variation; no variation group on a product with stock
  [doc: help centre ht-00066] [spec: swagger Variation/VariationType/VariationTypeOption, ProductVariation
  ``{id, product_id, variation_options, barcode}``, ``/products/{n}/variations``] [3p: kg-bot
  ``variations/{n}/types/{t}/options``]. The matrix and the per-variation ``sku`` are guesses.
* Custom fields [doc: portal custom-fields-1: text, textarea, checkbox, dropdown; products & BOMs among the
  entities; Premium] [source: SDK Field ``{id, slug, name, type, available_for, use_in_layouts,
  default_value, options}``, FieldResource ``available_for=item``] [3p: kg-bot, mother-sku ``GET
  /products/{n}/fields`` → ``field_values[{field{id}, value}]``] [doc: seed 003 — field ids are generated].
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.wire import (RbError, integer, invalid, key_candidates, money,
                                                        not_found, number_out, required, truthy, urlfriendly)

PRODUCT, LOT = 1, 2  # the store's ``parent`` column tells products from lots
KINDS = {"product": PRODUCT, "lot": LOT}
PRODUCT_TEXT = ("name", "description", "barcode")
PRODUCT_MONEY = ("sales_price", "recommended_sales_price")
PRODUCT_COUNTS = ("min_order", "min_sales", "min_stock")
PHYSICAL = {"weight": 0, "weight_unit": "kg", "height": 0, "width": 0, "depth": 0, "size_unit": "cm"}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class Catalog:
    def __init__(self, account: Any) -> None:
        self.acc = account
        self.store = account.store

    # ---- product groups ------------------------------------------------------------------------------
    def group(self, number: Any) -> dict | None:
        return self.acc.one("groups", number)

    def create_group(self, body: dict) -> dict:
        if not str(body.get("name") or "").strip():
            raise required("name")
        if "has_inventory" not in body:
            raise required("has_inventory")
        number = integer(body["number"], "number") if body.get("number") is not None \
            else self.acc.next_number("groups", 1)
        if self.group(number):
            raise invalid({"number": guesses.MSG_TAKEN.format(field="number")})
        now = self.acc.clock.stamp()
        doc = {"number": number, "name": str(body["name"]).strip(), "has_inventory": truthy(body["has_inventory"]),
               "is_sellable": truthy(body.get("is_sellable", True)), "created_at": now, "updated_at": now}
        doc.update(self._vat(body, guesses.DEFAULT_GROUP_VAT))
        doc["id"] = self.store.insert("groups", doc, key=str(number))
        self.acc.events.note("product_group.created", "number", number, data=lambda: self.render_group(doc))
        return doc

    def update_group(self, group: dict, body: dict) -> dict:
        before = dict(group)
        if "name" in body:
            if not str(body["name"] or "").strip():
                raise required("name")
            group["name"] = str(body["name"]).strip()
        if "has_inventory" in body and truthy(body["has_inventory"]) != group["has_inventory"]:
            if any(i.get("had_movement") for i in self.items() if i["group"] == group["number"]):
                raise invalid({"has_inventory": guesses.MSG_HAS_INVENTORY_LOCKED})
            group["has_inventory"] = truthy(body["has_inventory"])
        if "is_sellable" in body:
            group["is_sellable"] = truthy(body["is_sellable"])
        group.update(self._vat(body, {k: group[k] for k in guesses.DEFAULT_GROUP_VAT}))
        changed = [k for k in group if group[k] != before.get(k)]
        if changed:
            group["updated_at"] = self.acc.clock.stamp()
            self.store.put("groups", group["id"], group, key=str(group["number"]))
            self.acc.events.note("product_group.updated", "number", group["number"], changed=changed,
                                 data=lambda: self.render_group(group))
        return group

    @staticmethod
    def _vat(body: dict, defaults: dict) -> dict:
        out = {}
        for name, default in defaults.items():
            value = money(body[name], name) if body.get(name) is not None else Decimal(str(default))
            if not Decimal(0) <= value <= Decimal(100):
                raise invalid({name: f"The {name.replace('_', ' ')} must be between 0 and 100."})
            out[name] = number_out(value)
        return out

    def render_group(self, group: dict, brief: bool = False) -> dict:
        out = {k: group[k] for k in ("number", "name", *guesses.DEFAULT_GROUP_VAT)}
        out["self"] = self.acc.link(f"product-groups/{group['number']}")
        if brief:
            return out
        out.update(has_inventory=group["has_inventory"], is_sellable=group.get("is_sellable", True),
                   is_draft=False, num_products=sum(1 for i in self.items() if i["group"] == group["number"]),
                   created_at=group["created_at"], updated_at=group["updated_at"])
        return out

    # ---- items: lookups ------------------------------------------------------------------------------
    def items(self, kind: str | None = None) -> list[dict]:
        return self.store.find("items", parent=KINDS[kind]) if kind else self.store.find("items")

    def item(self, number: str, kind: str | None = None) -> dict | None:
        for row in self.store.find("items", key=number):
            if kind is None or row["type"] == kind:
                return row
        return None

    def item_by_segment(self, segment: str, kind: str | None = None) -> dict:
        """The item a path segment names (number, or urlfriendly_number), or a 404."""
        for candidate in key_candidates(segment):
            found = self.item(candidate, kind)
            if found:
                return found
        raise not_found(kind or "item", segment)

    def item_by_id(self, item_id: int) -> dict | None:
        return self.store.get("items", item_id)

    def inventory_enabled(self, item: dict) -> bool:
        group = self.group(item["group"])
        return bool(group and group["has_inventory"]) if guesses.INVENTORY_FROM_GROUP else True

    # ---- items: writes --------------------------------------------------------------------------------
    def create_item(self, kind: str, body: dict) -> dict:
        values = self._values(kind, body, None)
        for name in ("number", "name"):
            if not values.get(name):
                raise required(name)
        if "group" not in values:
            raise required("group")
        if kind == "product" and guesses.SALES_PRICE_REQUIRED and "sales_price" not in values:
            raise required("sales_price")
        if kind == "lot" and not values.get("lines"):
            raise required("lines")
        now = self.acc.clock.stamp()
        doc = {"type": kind, "number": values["number"], "name": values["name"], "description": "", "barcode": "",
               "sales_price": "0", "recommended_sales_price": "0", "cost_price": "0", "min_order": 0,
               "min_sales": 0, "min_stock": 0, "is_barred": False, "default_location": None, "variation_id": None,
               "physical": dict(PHYSICAL), "had_movement": False, "created_at": now, "updated_at": now}
        if kind == "lot":
            doc.update(lines=[], add_products_individually=False)
        doc.update({k: v for k, v in values.items() if k != "variation_id"})
        doc["id"] = self.store.insert("items", doc, key=doc["number"], parent=KINDS[kind])
        if values.get("variation_id") is not None:
            self._assign_variation(doc, values["variation_id"])
        self.acc.events.note(f"{kind}.created", "number", doc["number"], data=lambda: self.render(self.item_by_id(doc["id"])))
        return doc

    def update_item(self, item: dict, body: dict) -> dict:
        before = dict(item)
        values = self._values(item["type"], body, item)
        variation = values.pop("variation_id", item.get("variation_id"))
        item.update(values)
        if variation != item.get("variation_id"):
            self._assign_variation(item, variation)
        changed = sorted(k for k in item if item[k] != before.get(k))
        if changed:
            item["updated_at"] = self.acc.clock.stamp()
            self._save(item)
            self.acc.events.note(f"{item['type']}.updated", "number", item["number"], old_key=before["number"],
                                 changed=changed, data=lambda: self.render(self.item_by_id(item["id"])))
        return item

    def delete_item(self, item: dict) -> None:
        if self.acc.sales.item_on_orders(item["id"]):
            raise invalid({"number": "The item is used on orders and can not be deleted."})
        for collection in ("product_variations", "field_values", "stock"):
            for row in self.store.find(collection, parent=item["id"]):
                self.store.delete(collection, row["id"])
        self.store.delete("items", item["id"])
        self.acc.events.note(f"{item['type']}.deleted", "number", item["number"],
                             data=lambda: {"number": item["number"]})

    def touch(self, item: dict) -> None:
        """Record a stock movement (locks the group's has_inventory; guesses.STOCK_MOVE_BUMPS_ITEM_UPDATED_AT)."""
        item["had_movement"] = True
        if guesses.STOCK_MOVE_BUMPS_ITEM_UPDATED_AT:
            item["updated_at"] = self.acc.clock.stamp()
        self._save(item)

    def _save(self, item: dict) -> None:
        self.store.put("items", item["id"], item, key=item["number"], parent=KINDS[item["type"]])

    def _values(self, kind: str, body: dict, current: dict | None) -> dict:
        """The writable fields of ``body``, checked; ``cost_price`` is read-only and ignored."""
        out: dict[str, Any] = {}
        if "number" in body:
            number = str(body["number"] if body["number"] is not None else "").strip()
            if not number:
                raise required("number")
            if len(number) > guesses.NUMBER_MAX_LEN:
                raise invalid({"number": guesses.MSG_TOO_LONG.format(field="number", max=guesses.NUMBER_MAX_LEN)})
            other = self.item(number)
            if other and (current is None or other["id"] != current["id"]):
                raise invalid({"number": guesses.MSG_TAKEN.format(field="number")})
            out["number"] = number
        for name in PRODUCT_TEXT:
            if name in body:
                out[name] = str(body[name] if body[name] is not None else "")
        if "name" in out and not out["name"].strip():
            raise required("name")
        for name in PRODUCT_MONEY:
            if name in body:
                out[name] = str(money(body[name], name))
        for name in PRODUCT_COUNTS:
            if name in body:
                out[name] = integer(body[name], name)
        if "is_barred" in body:
            out["is_barred"] = truthy(body["is_barred"])
        group = body.get("group", body.get("group_id"))
        if isinstance(group, dict):
            group = group.get("number")
        if group is not None:
            if not self.group(group):
                raise invalid({"group": guesses.MSG_INVALID.format(field="group")})
            out["group"] = integer(group, "group")
        location = body.get("default_location_id", body.get("default_location"))
        if isinstance(location, dict):
            location = location.get("number")
        if location is not None:
            if not self.acc.stock.location(location):
                raise invalid({"default_location_id": guesses.MSG_INVALID.format(field="default location id")})
            out["default_location"] = integer(location, "default_location_id")
        if "variation_id" in body:
            if kind != "product":
                raise invalid({"variation_id": "Only products can have a variation group."})
            out["variation_id"] = None if body["variation_id"] is None else integer(body["variation_id"], "variation_id")
        if isinstance(body.get("physical"), dict):
            physical = dict((current or {}).get("physical") or PHYSICAL)
            for name, value in body["physical"].items():
                if name in PHYSICAL:
                    physical[name] = value if name.endswith("unit") else number_out(money(value, f"physical.{name}"))
            out["physical"] = physical
        if kind == "lot":
            if "lines" in body:
                out["lines"] = self._lot_lines(body["lines"], current)
            if "add_products_individually" in body:
                out["add_products_individually"] = truthy(body["add_products_individually"])
        return out

    def _lot_lines(self, lines: Any, current: dict | None) -> list[dict]:
        if not isinstance(lines, list) or not lines:
            raise required("lines")
        out = []
        for n, line in enumerate(lines):
            if not isinstance(line, dict):
                raise invalid({f"lines.{n}": "The line must be an object."})
            ref = line.get("product_id", line.get("item_id"))
            if ref in (None, ""):
                raise invalid({f"lines.{n}.product_id": "Product needed"})
            product = self.item(str(ref), "product")
            if not product:
                raise invalid({f"lines.{n}.product_id": guesses.MSG_INVALID.format(field=f"lines.{n}.product_id")})
            quantity = money(line.get("quantity", 1), f"lines.{n}.quantity")
            if quantity <= 0:
                raise invalid({f"lines.{n}.quantity": f"The lines.{n}.quantity must be greater than 0."})
            variation = self.resolve_variation(product, line, f"lines.{n}")
            out.append({"id": self.acc.counter("lot_lines"), "product_id": product["id"], "quantity": str(quantity),
                        "product_variation_id": variation["id"] if variation else None})
        return out

    # ---- variations -----------------------------------------------------------------------------------
    def variation(self, number: Any) -> dict | None:
        return self.acc.one("variations", number)

    def create_variation(self, body: dict) -> dict:
        name = str(body.get("name") or "").strip()
        if not name:
            raise required("name")
        types = body.get("types") or []
        if not isinstance(types, list) or not 1 <= len(types) <= 2:  # 1–2 types [doc: ht-00066]
            raise invalid({"types": "A variation group has one or two variation types."})
        number = integer(body["number"], "number") if body.get("number") is not None \
            else self.acc.next_number("variations", 1)
        if self.variation(number):
            raise invalid({"number": guesses.MSG_TAKEN.format(field="number")})
        out_types = []
        for t, vtype in enumerate(types):
            options = vtype.get("options") if isinstance(vtype, dict) else None
            if not isinstance(vtype, dict) or not str(vtype.get("name") or "").strip() or not options:
                raise invalid({f"types.{t}": "A variation type needs a name and options."})
            out_types.append({"id": self.acc.counter("variation_types"), "number": t + 1, "name": str(vtype["name"]),
                              "options": [{"id": self.acc.counter("variation_options"), "number": o + 1,
                                           "name": str(opt.get("name") if isinstance(opt, dict) else opt)}
                                          for o, opt in enumerate(options)]})
        now = self.acc.clock.stamp()
        doc = {"number": number, "name": name, "types": out_types, "created_at": now, "updated_at": now}
        doc["id"] = self.store.insert("variations", doc, key=str(number))
        return doc

    def render_variation(self, variation: dict) -> dict:
        return {**{k: variation[k] for k in ("number", "name", "types", "created_at", "updated_at")},
                "self": self.acc.link(f"variations/{variation['number']}")}

    def _assign_variation(self, item: dict, number: int | None) -> None:
        if number is not None and not self.variation(number):
            raise invalid({"variation_id": guesses.MSG_INVALID.format(field="variation id")})
        if self.acc.stock.on_hand(item["id"]) != 0:
            raise invalid({"variation_id": guesses.MSG_VARIATION_WITH_STOCK})
        for row in self.store.find("product_variations", parent=item["id"]):
            self.store.delete("product_variations", row["id"])
        item["variation_id"] = number
        self._save(item)
        if number is None or not guesses.VARIATIONS_FROM_MATRIX:
            return
        variation = self.variation(number)
        now = self.acc.clock.stamp()
        for combo in itertools.product(*[t["options"] for t in variation["types"]]):
            self.store.insert("product_variations", {"product_id": item["id"], "options": [o["id"] for o in combo],
                                                     "sku": "", "barcode": "", "created_at": now, "updated_at": now},
                              parent=item["id"])

    def product_variations(self, item: dict) -> list[dict]:
        return self.store.find("product_variations", parent=item["id"])

    def product_variation(self, item: dict, variation_id: Any) -> dict:
        row = self.store.get("product_variations", integer(variation_id, "product_variation_id"))
        if not row or row["product_id"] != item["id"]:
            raise not_found("product variation", variation_id)
        return row

    def update_product_variation(self, item: dict, row: dict, body: dict) -> dict:
        before = dict(row)
        for name in ("sku", "barcode"):
            if name in body:
                row[name] = str(body[name] or "")
        if row != before:
            row["updated_at"] = self.acc.clock.stamp()
            self.store.put("product_variations", row["id"], row, parent=item["id"])
            self.acc.events.note("product.updated", "number", item["number"], changed=["variations"],
                                 data=lambda: self.render(self.item_by_id(item["id"])))
        return row

    def _options(self, item: dict) -> dict[int, tuple[dict, dict]]:
        variation = self.variation(item["variation_id"]) if item.get("variation_id") is not None else None
        return {o["id"]: (t, o) for t in (variation or {}).get("types", []) for o in t["options"]}

    def variation_name(self, item: dict, row: dict) -> str:
        options = self._options(item)
        return " / ".join(options[o][1]["name"] for o in row["options"] if o in options)

    def render_product_variation(self, item: dict, row: dict) -> dict:
        options = self._options(item)
        totals = self.acc.stock.totals(item, row["id"])
        return {"id": row["id"], "product_id": item["id"], "product_number": item["number"],
                "name": self.variation_name(item, row), "sku": row["sku"], "barcode": row["barcode"],
                "variation_options": [{"option_id": o, "name": options[o][1]["name"], "variation_type_id": options[o][0]["id"],
                                       "variation_type": options[o][0]["name"]} for o in row["options"] if o in options],
                **totals, "created_at": row["created_at"], "updated_at": row["updated_at"],
                "self": self.acc.link(f"products/{urlfriendly(item['number'])}/variations/{row['id']}")}

    def resolve_variation(self, item: dict, line: dict, prefix: str) -> dict | None:
        """The product variation a line or adjustment names (guesses.LINE_VARIATION_SHORTCUT, option ids)."""
        rows = self.product_variations(item) if item["type"] == "product" else []
        shortcut = line.get(guesses.LINE_VARIATION_SHORTCUT)
        chosen = line.get("variations") or []
        if not rows:
            if shortcut is not None or chosen:
                raise invalid({f"{prefix}.variations": "The item has no variations."})
            return None
        if shortcut is not None:
            return self.product_variation(item, shortcut)
        if not chosen:
            raise invalid({f"{prefix}.variations": guesses.MSG_VARIATION_NEEDED})
        options = self._options(item)
        wanted = set()
        for n, choice in enumerate(chosen):
            option = choice.get("option_id") if isinstance(choice, dict) else choice
            field = f"{prefix}.variations.{n}.option_id"
            try:
                option = int(option)
            except (TypeError, ValueError):
                raise invalid({field: guesses.MSG_INVALID.format(field=field)}) from None
            if option not in options:
                raise invalid({field: guesses.MSG_INVALID.format(field=field)})
            wanted.add(option)
        for row in rows:
            if set(row["options"]) == wanted:
                return row
        raise invalid({f"{prefix}.variations": guesses.MSG_VARIATION_NEEDED})

    # ---- custom fields --------------------------------------------------------------------------------
    def create_field(self, body: dict) -> dict:
        name = str(body.get("name") or "").strip()
        if not name:
            raise required("name")
        kind = str(body.get("type") or "text")
        if kind not in guesses.FIELD_TYPES:
            raise invalid({"type": guesses.MSG_INVALID.format(field="type")})
        available = str(body.get("available_for") or body.get(guesses.FIELDS_FOR_ALIAS) or "")
        if not available:
            raise required("available_for")
        options = body.get("options") or []
        if kind == "dropdown" and (not isinstance(options, list) or not options):
            raise invalid({"options": "A dropdown field needs options."})
        now = self.acc.clock.stamp()
        doc = {"slug": slug(name), "name": name, "type": kind, "available_for": available,
               "use_in_layouts": truthy(body.get("use_in_layouts", False)),
               "default_value": body.get("default_value"), "options": [str(o) for o in options],
               "created_at": now, "updated_at": now}
        doc["id"] = self.store.insert("fields", doc)
        self.acc.events.note("field.created", "id", doc["id"], data=lambda: self.render_field(doc))
        return doc

    def field(self, field_id: Any) -> dict:
        row = self.store.get("fields", integer(field_id, "id"))
        if not row:
            raise not_found("field", field_id)
        return row

    def render_field(self, field: dict) -> dict:
        return {**{k: field[k] for k in ("id", "slug", "name", "type", "available_for", "use_in_layouts",
                                          "default_value", "options", "created_at", "updated_at")},
                "self": self.acc.link(f"fields/{field['id']}")}

    def field_values(self, item: dict) -> list[dict]:
        stored = {v["field_id"]: v["value"] for v in self.store.find("field_values", parent=item["id"])}
        return [{"field": self.render_field(f), "value": stored.get(f["id"], f.get("default_value"))}
                for f in self.store.find("fields") if f["available_for"] == "item"]

    def set_field_values(self, item: dict, body: dict) -> None:
        entries = body.get(guesses.ITEM_FIELDS_WRITE_BODY)
        if not isinstance(entries, list):
            raise required(guesses.ITEM_FIELDS_WRITE_BODY)
        changed = False
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("id") is None:
                raise invalid({f"custom_fields.{n}.id": guesses.MSG_REQUIRED.format(field=f"custom_fields.{n}.id")})
            try:
                field = self.field(entry["id"])
            except RbError:
                raise invalid({f"custom_fields.{n}.id": guesses.MSG_INVALID.format(field=f"custom_fields.{n}.id")}) from None
            if field["available_for"] != "item":
                raise invalid({f"custom_fields.{n}.id": guesses.MSG_INVALID.format(field=f"custom_fields.{n}.id")})
            value = self._field_value(field, entry.get("value"), f"custom_fields.{n}.value")
            key = f"{item['id']}:{field['id']}"
            rows = self.store.find("field_values", key=key)
            if rows:
                if rows[0]["value"] != value:
                    rows[0]["value"] = value
                    self.store.put("field_values", rows[0]["id"], rows[0], key=key, parent=item["id"])
                    changed = True
            else:
                self.store.insert("field_values", {"item_id": item["id"], "field_id": field["id"], "value": value},
                                  key=key, parent=item["id"])
                changed = True
        if changed:
            item["updated_at"] = self.acc.clock.stamp()
            self._save(item)
            self.acc.events.note(f"{item['type']}.updated", "number", item["number"], changed=["custom_fields"],
                                 data=lambda: self.render(self.item_by_id(item["id"])))

    @staticmethod
    def _field_value(field: dict, value: Any, name: str) -> Any:
        if value is None:
            return None
        if field["type"] == "checkbox":
            if not isinstance(value, bool) and str(value).lower() not in ("0", "1", "true", "false"):
                raise invalid({name: guesses.MSG_BOOLEAN.format(field=name)})
            return truthy(value)
        if field["type"] == "dropdown" and str(value) not in field["options"]:
            raise invalid({name: guesses.MSG_INVALID.format(field=name)})
        return str(value)

    def matches_fields(self, item: dict, wanted: dict[int, str]) -> bool:
        """``field_eq[<id>]=<value>`` [source: SDK BaseResource::whereCustomField]."""
        if not wanted:
            return True
        stored = {v["field_id"]: v["value"] for v in self.store.find("field_values", parent=item["id"])}

        def same(value: Any, wanted_text: str) -> bool:
            if isinstance(value, bool):
                return wanted_text.strip().lower() in (("1", "true") if value else ("0", "false"))
            return value is not None and str(value) == wanted_text

        return all(same(stored.get(fid), text) for fid, text in wanted.items())

    # ---- rendering ------------------------------------------------------------------------------------
    def render(self, item: dict) -> dict:
        group = self.group(item["group"])
        location = self.acc.stock.location(item["default_location"]) if item.get("default_location") else None
        variation = self.variation(item["variation_id"]) if item.get("variation_id") is not None else None
        out = {"id": item["id"], "number": item["number"], "urlfriendly_number": urlfriendly(item["number"]),
               "type": item["type"], "name": item["name"], "description": item["description"],
               "barcode": item["barcode"],
               **{k: number_out(Decimal(item[k])) for k in (*PRODUCT_MONEY, "cost_price")},
               **{k: item[k] for k in PRODUCT_COUNTS},
               **self.acc.stock.totals(item), "purchased_quantity": 0, "used_in_production_quantity": 0,
               "default_location_id": item.get("default_location"),
               "default_location": self.acc.stock.render_location(location, brief=True) if location else None,
               "is_barred": item["is_barred"], "inventory_enabled": self.inventory_enabled(item),
               "group_id": item["group"], "group": self.render_group(group, brief=True) if group else None,
               "unit_id": None, "unit": None,
               "variation_id": item.get("variation_id"),
               "variation": {"number": variation["number"], "name": variation["name"]} if variation else None,
               "physical": item["physical"], "created_at": item["created_at"], "updated_at": item["updated_at"],
               "deleted_at": None}
        if item["type"] == "lot":
            out["add_products_individually"] = item.get("add_products_individually", False)
            out["lines"] = [self._render_lot_line(line) for line in item.get("lines", [])]
        base = "lots" if item["type"] == "lot" else "products"
        out["self"] = self.acc.link(f"{base}/{urlfriendly(item['number'])}")
        return out

    def _render_lot_line(self, line: dict) -> dict:
        product = self.item_by_id(line["product_id"]) or {"number": None, "name": "", "sales_price": "0"}
        quantity = Decimal(line["quantity"])
        unit = Decimal(product.get("sales_price") or "0")
        return {"id": line["id"], "product_id": product["number"],
                "item": {"number": product["number"], "name": product["name"]}, "name": product["name"], "quantity": number_out(quantity), "unit_price": number_out(unit),
                "line_price": number_out(unit * quantity), "product_variation_id": line.get("product_variation_id")}
