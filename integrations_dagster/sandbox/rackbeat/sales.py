"""Sales: customers and orders (drafts, booking, lines, totals, shipping, cancelling).

Evidence:

* Customer ``{number, company_name, company_vat, address_*, contact_email, contact_phone, ean, ..}``,
  ``number`` an integer, ``company_name`` required [spec: swagger Customer/CustomerForm] [source: SDK
  Models/Customer]; ``/customers`` list, create, get, update [doc: CONTRACTS §6; portal filtering examples].
* Order: ``number`` (integer), ``customer``, booleans ``is_booked, is_cancelled, is_shipped,
  is_partly_shipped, is_ready_for_shipping, is_ready_for_invoicing, is_invoiced, is_partly_invoiced,
  is_archived``, ``deliver_at``, ``billing_address``, ``delivery_address``, ``our_reference`` [source: SDK
  Models/Order]; ``total_subtotal``, ``total_total``, ``currency``, ``note`` [spec: swagger Order].
* ``POST /orders`` creates a booked order, ``POST /orders/drafts`` a draft, ``POST /orders/{n}/book`` books
  it (with ``mail.send``) [source: SDK OrderResource] [doc: portal postordersdrafts]. A booked order's lines
  are locked [3p: mother-sku "Rackbeat locks lines on booked orders"].
* Lines: ``{id, child_id, child_type, name, quantity, line_price, discount_percentage, vat_percentage,
  location, variations}``, written with ``item_id`` [3p: mother-sku rewriteLineToMother] [spec: swagger
  OrderLine/OrderLineForm]; ``/orders/{n}/lines`` listed as ``order_lines`` [source: SDK OrderLineResource].
* 422 texts "The selected Customer is invalid." and "Product needed" [doc: portal errors].
* Booking reserves, shipping draws stock (guesses.BOOKING_RESERVES_STOCK); totals and VAT: guesses.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.wire import (cents, integer, invalid, money, not_found, number_out, required,
                                                        truthy)

CUSTOMER_TEXT = ("company_name", "company_vat", "address_street", "address_street2", "address_city",
                 "address_zipcode", "address_country", "contact_email", "contact_phone", "ean", "currency")
ORDER_TEXT = ("their_reference", "our_reference", "note", "deliver_at", "currency")
ORDER_FLAGS = ("is_booked", "is_cancelled", "is_shipped", "is_partly_shipped", "is_ready_for_shipping",
               "is_ready_for_invoicing", "is_invoiced", "is_partly_invoiced", "is_archived")
HUNDRED = Decimal(100)


class Sales:
    def __init__(self, account: Any) -> None:
        self.acc = account
        self.store = account.store

    # ---- customers ----------------------------------------------------------------------------------
    def customer(self, number: Any) -> dict | None:
        return self.acc.one("customers", number)

    def create_customer(self, body: dict) -> dict:
        body = dict(body)
        if not body.get("company_name") and body.get("name"):  # GUESS: "name" accepted as company_name
            body["company_name"] = body["name"]
        if not str(body.get("company_name") or "").strip():
            raise required("company_name")
        number = integer(body["number"], "number") if body.get("number") is not None \
            else self.acc.next_number("customers", guesses.FIRST_CUSTOMER_NUMBER)
        if self.customer(number):
            raise invalid({"number": guesses.MSG_TAKEN.format(field="number")})
        now = self.acc.clock.stamp()
        doc = {"number": number, **{k: "" for k in CUSTOMER_TEXT}, "currency": guesses.ACCOUNT_CURRENCY,
               "vat_zone": guesses.DEFAULT_VAT_ZONE, "is_barred": False, "created_at": now, "updated_at": now}
        doc.update(self._customer_values(body))
        doc["id"] = self.store.insert("customers", doc, key=str(number))
        self.acc.events.note("customer.created", "number", number, data=lambda: self.render_customer(doc))
        return doc

    def update_customer(self, customer: dict, body: dict) -> dict:
        before = dict(customer)
        customer.update(self._customer_values(body))
        if not customer["company_name"].strip():
            raise required("company_name")
        changed = [k for k in customer if customer[k] != before[k]]
        if changed:
            customer["updated_at"] = self.acc.clock.stamp()
            self.store.put("customers", customer["id"], customer, key=str(customer["number"]))
            self.acc.events.note("customer.updated", "number", customer["number"], changed=changed,
                                 data=lambda: self.render_customer(customer))
        return customer

    @staticmethod
    def _customer_values(body: dict) -> dict:
        out: dict[str, Any] = {k: str(body[k] if body[k] is not None else "") for k in CUSTOMER_TEXT if k in body}
        if "vat_zone" in body:
            if body["vat_zone"] not in guesses.VAT_ZONES:
                raise invalid({"vat_zone": guesses.MSG_INVALID.format(field="vat zone")})
            out["vat_zone"] = body["vat_zone"]
        if "is_barred" in body:
            out["is_barred"] = truthy(body["is_barred"])
        return out

    def render_customer(self, customer: dict, brief: bool = False) -> dict:
        if brief:
            return {"number": customer["number"], "company_name": customer["company_name"],
                    "self": self.acc.link(f"customers/{customer['number']}")}
        return {**{k: customer[k] for k in ("number", *CUSTOMER_TEXT, "vat_zone", "is_barred", "created_at",
                                             "updated_at")},
                "self": self.acc.link(f"customers/{customer['number']}")}

    # ---- orders: writes -----------------------------------------------------------------------------
    def order(self, number: Any) -> dict:
        row = self.acc.one("orders", number)
        if not row:
            raise not_found("order", number)
        return row

    def orders(self) -> list[dict]:
        return sorted(self.store.find("orders"), key=lambda o: o["number"])

    def create_order(self, body: dict, *, book: bool) -> dict:
        customer_ref = body.get("customer_id", body.get("customer"))
        if isinstance(customer_ref, dict):
            customer_ref = customer_ref.get("number")
        if customer_ref in (None, ""):
            raise required("customer_id")
        customer = self.customer(customer_ref)
        if customer is None:
            raise invalid({"customer_id": "The selected Customer is invalid."})
        if not isinstance(body.get("lines"), list) or not body["lines"]:
            raise required("lines")
        now = self.acc.clock.stamp()
        number = integer(body["number"], "number") if body.get("number") is not None \
            else self.acc.next_number("orders", guesses.FIRST_ORDER_NUMBER)
        if self.acc.one("orders", number):
            raise invalid({"number": guesses.MSG_TAKEN.format(field="number")})
        doc = {"number": number, "customer": customer["number"], "currency": customer["currency"] or guesses.ACCOUNT_CURRENCY,
               "vat_zone": customer.get("vat_zone") or guesses.DEFAULT_VAT_ZONE, "their_reference": "",
               "our_reference": "", "note": "", "deliver_at": None, "billing_address": self._address(customer),
               "delivery_address": self._address(customer), **{f: False for f in ORDER_FLAGS},
               "booked_at": None, "shipped_at": None, "created_at": now, "updated_at": now}
        doc.update(self._header(body))
        doc["lines"] = self._lines(body["lines"], doc["vat_zone"])
        doc["id"] = self.store.insert("orders", doc, key=str(number))
        self.acc.events.note("order.created", "number", number, data=lambda: self.render_order(self.order(number)))
        if book:
            self.book(doc)
        return doc

    def update_order(self, order: dict, body: dict) -> dict:
        before = {k: v for k, v in order.items()}
        header = self._header(body)
        if "lines" in body and order["is_booked"]:
            raise invalid({"lines": guesses.MSG_BOOKED_LOCKED})
        order.update(header)
        if "lines" in body:
            if not isinstance(body["lines"], list) or not body["lines"]:
                raise required("lines")
            order["lines"] = self._lines(body["lines"], order["vat_zone"])
        return self._save_changed(order, before)

    def update_line(self, order: dict, line_id: Any, body: dict) -> dict:
        if order["is_booked"]:
            raise invalid({"lines": guesses.MSG_BOOKED_LOCKED})
        wanted = integer(line_id, "line")
        for n, line in enumerate(order["lines"]):
            if line["id"] == wanted:
                merged = {"item_id": line["child_id"], "quantity": line["quantity"], "line_price": line["line_price"],
                          "discount_percentage": line["discount_percentage"], "vat_percentage": line["vat_percentage"],
                          "name": line["name"], "location_id": line["location"],
                          guesses.LINE_VARIATION_SHORTCUT: line["product_variation_id"]}
                if "item_id" in body and body["item_id"] != line["child_id"]:
                    merged.pop(guesses.LINE_VARIATION_SHORTCUT)
                merged.update(body)
                before = {k: v for k, v in order.items()}
                order["lines"] = [dict(x) for x in order["lines"]]
                order["lines"][n] = {**self._line(merged, n, order["vat_zone"]), "id": line["id"]}
                self._save_changed(order, before)
                return order["lines"][n]
        raise not_found("order line", line_id)

    def _save_changed(self, order: dict, before: dict) -> dict:
        changed = sorted(k for k in order if order[k] != before.get(k))
        if changed:
            order["updated_at"] = self.acc.clock.stamp()
            self.store.put("orders", order["id"], order, key=str(order["number"]))
            self.acc.events.note("order.updated", "number", order["number"], changed=changed,
                                 data=lambda: self.render_order(self.order(order["number"])))
        return order

    def _header(self, body: dict) -> dict:
        out: dict[str, Any] = {k: str(body[k]) if body[k] is not None else None for k in ORDER_TEXT if k in body}
        if "vat_zone" in body:
            if body["vat_zone"] not in guesses.VAT_ZONES:
                raise invalid({"vat_zone": guesses.MSG_INVALID.format(field="vat zone")})
            out["vat_zone"] = body["vat_zone"]
        for name in ("billing_address", "delivery_address"):
            if isinstance(body.get(name), dict):
                out[name] = dict(body[name])
        return out

    @staticmethod
    def _address(customer: dict) -> dict:
        return {"name": customer["company_name"], "street": customer["address_street"],
                "street2": customer["address_street2"], "zipcode": customer["address_zipcode"],
                "city": customer["address_city"], "country": customer["address_country"]}

    def _lines(self, lines: list, vat_zone: str) -> list[dict]:
        return [self._line(line, n, vat_zone) for n, line in enumerate(lines)]

    def _line(self, line: Any, n: int, vat_zone: str) -> dict:
        if not isinstance(line, dict):
            raise invalid({f"lines.{n}": "The line must be an object."})
        ref = line.get("item_id", line.get("product_id", line.get("lot_id")))
        if isinstance(ref, dict):
            ref = ref.get("number")
        if ref in (None, ""):
            raise invalid({f"lines.{n}.item_id": "Product needed"})  # [doc: portal errors]
        item = self.acc.catalog.item(str(ref))
        if item is None:
            raise invalid({f"lines.{n}.item_id": guesses.MSG_INVALID.format(field=f"lines.{n}.item_id")})
        if line.get("quantity") is None:
            raise required(f"lines.{n}.quantity")
        quantity = money(line["quantity"], f"lines.{n}.quantity")
        price = money(line["line_price"], f"lines.{n}.line_price") if line.get("line_price") is not None \
            else Decimal(item["sales_price"])
        discount = money(line.get("discount_percentage") or 0, f"lines.{n}.discount_percentage")
        if not 0 <= discount <= 100:
            raise invalid({f"lines.{n}.discount_percentage": "The discount percentage must be between 0 and 100."})
        if line.get("vat_percentage") is not None:
            vat = money(line["vat_percentage"], f"lines.{n}.vat_percentage")
        else:
            group = self.acc.catalog.group(item["group"])
            vat = Decimal(str(group[f"vat_{vat_zone}"])) if group else Decimal(0)
        variation = self.acc.catalog.resolve_variation(item, line, f"lines.{n}")
        location = self.acc.stock.resolve_location(item, line.get("location_id", line.get("location")),
                                                   f"lines.{n}.location_id") if self.acc.stock.locations() else None
        name = str(line.get("name") or "") or item["name"]
        if variation and not line.get("name"):
            name = f"{item['name']} - {self.acc.catalog.variation_name(item, variation)}"
        return {"id": self.acc.counter("order_lines"), "item_id": item["id"], "child_id": item["number"],
                "child_type": item["type"], "name": name, "quantity": str(quantity), "line_price": str(price),
                "discount_percentage": str(discount), "vat_percentage": str(vat),
                "location": location["number"] if location else None,
                "product_variation_id": variation["id"] if variation else None}

    # ---- orders: state changes ----------------------------------------------------------------------
    def book(self, order: dict) -> dict:
        if order["is_booked"]:
            raise invalid({"number": guesses.MSG_ALREADY_BOOKED})
        self._stock(order)
        now = self.acc.clock.stamp()
        order.update(is_booked=True, is_ready_for_shipping=True, booked_at=now, updated_at=now)
        self.store.put("orders", order["id"], order, key=str(order["number"]))
        self._note("order.booked", order)
        return order

    def ship(self, order: dict) -> dict:
        """All lines shipped in one shipment (a warehouse user's action; the control routes use it)."""
        if not order["is_booked"] or order["is_cancelled"] or order["is_shipped"]:
            raise invalid({"number": "Only a booked, open order can be shipped."})
        self._stock(order, ship=True)
        now = self.acc.clock.stamp()
        order.update(is_shipped=True, is_ready_for_shipping=False, is_ready_for_invoicing=True, shipped_at=now,
                     updated_at=now)
        self.store.put("orders", order["id"], order, key=str(order["number"]))
        self._note("order.shipped", order)
        return order

    def cancel(self, order: dict) -> dict:
        if order["is_shipped"] or order["is_cancelled"]:
            raise invalid({"number": "A shipped or cancelled order can not be cancelled."})
        if order["is_booked"]:
            self._stock(order, release=True)
        now = self.acc.clock.stamp()
        order.update(is_cancelled=True, is_ready_for_shipping=False, updated_at=now)
        self.store.put("orders", order["id"], order, key=str(order["number"]))
        self.acc.events.note("order.updated", "number", order["number"], changed=["is_cancelled"],
                             data=lambda: self.render_order(self.order(order["number"])))
        return order

    def _note(self, event: str, order: dict) -> None:
        self.acc.events.note(event, "number", order["number"], data=lambda: self.render_order(self.order(order["number"])))

    def delete_order(self, order: dict) -> None:
        if order["is_booked"]:
            raise invalid({"number": guesses.MSG_BOOKED_LOCKED})
        self.store.delete("orders", order["id"])
        self.acc.events.note("order.deleted", "number", order["number"], data=lambda: {"number": order["number"]})

    def _stock(self, order: dict, *, ship: bool = False, release: bool = False) -> None:
        if not guesses.BOOKING_RESERVES_STOCK:
            return
        for line in order["lines"]:
            item = self.acc.catalog.item_by_id(line["item_id"])
            if item is None or line["location"] is None:
                continue
            self.acc.stock.reserve(item, line["product_variation_id"], line["location"], Decimal(line["quantity"]),
                                   ship=ship, release=release)

    def item_on_orders(self, item_id: int) -> bool:
        return any(line["item_id"] == item_id for o in self.store.find("orders") for line in o["lines"])

    # ---- orders: rendering --------------------------------------------------------------------------
    @staticmethod
    def line_amounts(line: dict) -> tuple[Decimal, Decimal]:
        """(line_total excl. VAT, vat) of a line (guesses.MONEY_DECIMALS rounding per line)."""
        quantity, price = Decimal(line["quantity"]), Decimal(line["line_price"])
        total = cents(quantity * price * (HUNDRED - Decimal(line["discount_percentage"])) / HUNDRED)
        return total, cents(total * Decimal(line["vat_percentage"]) / HUNDRED)

    def render_line(self, order: dict, line: dict) -> dict:
        total, vat = self.line_amounts(line)
        item = self.acc.catalog.item_by_id(line["item_id"])
        loc = self.acc.stock.location(line["location"]) if line["location"] is not None else None
        return {"id": line["id"], "child_id": line["child_id"], "child_type": line["child_type"],
                "item": {"number": item["number"] if item else line["child_id"],
                         "name": item["name"] if item else line["name"], "type": line["child_type"]},
                "name": line["name"], "quantity": number_out(Decimal(line["quantity"])),
                "line_price": number_out(Decimal(line["line_price"])),
                "discount_percentage": number_out(Decimal(line["discount_percentage"])),
                "vat_percentage": number_out(Decimal(line["vat_percentage"])),
                "line_total": number_out(total), "vat_total": number_out(vat),
                "location": self.acc.stock.render_location(loc, brief=True) if loc else None,
                "product_variation_id": line["product_variation_id"],
                "variations": self._line_variations(item, line),
                "self": self.acc.link(f"orders/{order['number']}/lines/{line['id']}")}

    def _line_variations(self, item: dict | None, line: dict) -> list[dict]:
        if not item or not line["product_variation_id"]:
            return []
        row = self.store.get("product_variations", line["product_variation_id"])
        rendered = self.acc.catalog.render_product_variation(item, row) if row else {"variation_options": []}
        return [{"variation_id": o["variation_type_id"], "option_id": o["option_id"], "name": o["name"]}
                for o in rendered["variation_options"]]

    def render_order(self, order: dict) -> dict:
        customer = self.customer(order["customer"])
        lines = [self.render_line(order, line) for line in order["lines"]]
        subtotal = sum((self.line_amounts(line)[0] for line in order["lines"]), Decimal(0))
        vat = sum((self.line_amounts(line)[1] for line in order["lines"]), Decimal(0))
        return {"number": order["number"], "customer_id": order["customer"],
                "customer": self.render_customer(customer, brief=True) if customer else None,
                "currency": order["currency"], "vat_zone": order["vat_zone"],
                "total_subtotal": number_out(subtotal), "total_vat": number_out(vat),
                "total_total": number_out(subtotal + vat), "lines": lines,
                **{f: order[f] for f in ORDER_FLAGS},
                **{k: order[k] for k in ("their_reference", "our_reference", "note", "deliver_at", "billing_address",
                                         "delivery_address", "booked_at", "shipped_at", "created_at", "updated_at")},
                "self": self.acc.link(f"orders/{order['number']}")}

    def order_row(self, order: dict) -> dict:
        """A row for list filters (search on the customer's name, booleans, updated_at)."""
        customer = self.customer(order["customer"])
        return {**order, "customer_name": customer["company_name"] if customer else ""}
