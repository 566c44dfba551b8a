"""An order's items and money: what a REST write makes of its lines, and how REST shows them.

A write (``POST``/``PUT /orders``) turns ``line_items``, ``shipping_lines``, ``fee_lines`` and
``coupon_lines`` into stored items, then recomputes the whole order as WooCommerce does after a REST
write (:mod:`.taxes`: coupons, then taxes, then totals). Stored amounts keep WooCommerce's precision
(6 decimals, as ``wc_format_decimal`` stores floats); :func:`view` formats the money fields with
``dp`` (default: the shop's decimals) and leaves ``taxes[]``, ``price``, ``fee_lines[].amount``
and the coupon amounts as WooCommerce emits them [source: rest-api/Controllers/Version2/
class-wc-rest-orders-v2-controller.php get_formatted_item_data, get_order_item_data].
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from integrations_dagster.sandbox.woocommerce import taxes, views
from integrations_dagster.sandbox.woocommerce.documents import WooDocuments
from integrations_dagster.sandbox.woocommerce.errors import WooError, invalid_param
from integrations_dagster.sandbox.woocommerce.setup import ShopSetup

ORDER_MONEY = ("discount_total", "discount_tax", "shipping_total", "shipping_tax", "cart_tax", "total", "total_tax")
ITEM_MONEY = ("subtotal", "subtotal_tax", "total", "total_tax", "tax_total", "shipping_tax_total")


def _amount(value: Any, name: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip()) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise invalid_param(name, f"{name} is not of type string.") from None
    if not amount.is_finite():
        raise invalid_param(name, f"{name} is not of type string.")
    return amount


class OrderItems:
    """Builds and recomputes an order's items (``new_id`` numbers them, as order item ids)."""

    def __init__(self, store: WooDocuments, setup: ShopSetup, new_id: Callable[[], int]) -> None:
        self.store, self.setup, self.new_id = store, setup, new_id

    # -- what a write makes of posted items -------------------------------------------------------
    def line(self, posted: dict, existing: dict | None, product: dict, variation: dict | None, order: dict) -> dict:
        quantity = int(posted.get("quantity", existing["quantity"] if existing else 1))
        if quantity < 1:
            raise invalid_param("line_items", "quantity must be a positive integer.")
        item = variation or product
        tax_class = product.get("tax_class", "") if variation and item.get("tax_class") == "parent" else item.get(
            "tax_class", "")
        tax_status = product.get("tax_status", "taxable")  # a variation's tax status is its parent's
        if posted.get("total") not in (None, ""):  # a client may state the line's amounts, without VAT
            total = _amount(posted["total"], "total")
            subtotal = _amount(posted["subtotal"], "subtotal") if posted.get("subtotal") not in (None, "") else total
        elif existing and "quantity" not in posted:
            subtotal, total = Decimal(existing["subtotal"]), Decimal(existing["total"])
        else:
            setup = self.setup.setup_for(order)
            subtotal = total = taxes.line_amount(_amount(item.get("price"), "price"), quantity, tax_class,
                                                 tax_status == "taxable", setup)
        subtotal = max(subtotal, total)  # "Subtotal cannot be less than total" (set_total)
        return {
            "id": existing["id"] if existing else self.new_id(), "name": views.item_name(product, variation),
            "product_id": product["id"], "variation_id": variation["id"] if variation else 0, "quantity": quantity,
            "tax_class": tax_class, "_tax_status": tax_status, "subtotal": taxes.stored(subtotal),
            "subtotal_tax": "0", "total": taxes.stored(total),
            "total_tax": "0", "taxes": [],
            "meta_data": [{"id": i + 1, "key": a["name"].lower(), "value": a["option"]}
                          for i, a in enumerate((variation or {}).get("attributes", []))],
            "sku": views.view_sku(item, product if variation else None),
            **({"parent_name": product["name"]} if variation else {}),
        }

    def shipping_line(self, posted: dict) -> dict:
        return {"id": self.new_id(), "method_title": str(posted.get("method_title", "")),
                "method_id": str(posted.get("method_id", "")), "instance_id": str(posted.get("instance_id", "")),
                "total": taxes.stored(_amount(posted.get("total"), "total")), "total_tax": "0", "taxes": [],
                "meta_data": []}

    def fee_line(self, posted: dict) -> dict:
        total = _amount(posted.get("total"), "total")
        if total < 0:
            raise WooError(400, "sandbox_not_emulated", "The sandbox does not emulate negative fees.")
        status = posted.get("tax_status", "taxable")
        if status not in ("taxable", "none"):
            raise invalid_param("tax_status", "tax_status is not one of taxable, none.")
        return {"id": self.new_id(), "name": str(posted.get("name", "")),
                "tax_class": str(posted.get("tax_class", "")).replace("standard", ""), "tax_status": status,
                "amount": str(posted.get("total", "")), "total": taxes.stored(total), "total_tax": "0",
                "taxes": [], "meta_data": []}

    def coupon_lines(self, posted: list) -> list[dict]:
        out = []
        for entry in posted:
            code = entry.get("code", "") if isinstance(entry, dict) else str(entry)
            coupon = self.setup.coupon(str(code))
            if coupon is None:
                raise WooError(400, "woocommerce_rest_invalid_coupon", f'Coupon "{code}" does not exist!')
            out.append({"id": self.new_id(), "code": coupon["code"], "discount": "0", "discount_tax": "0",
                        "meta_data": [], "_coupon": {"discount_type": coupon["discount_type"],
                                                     "amount": coupon["amount"]}})
        return out

    # -- the order's money ----------------------------------------------------------------------
    def recompute(self, doc: dict) -> None:
        setup = self.setup.setup_for(doc)
        lines = [taxes.Item("line", li["tax_class"], li.get("_tax_status", "taxable") == "taxable", li["quantity"],
                            Decimal(li["subtotal"]), Decimal(li["subtotal"])) for li in doc["line_items"]]
        for item in lines:  # the subtotal's VAT prices the coupons
            item.subtotal_taxes = taxes.exclusive(item.subtotal, setup.rates(item.tax_class)) if item.taxable else {}
        applied = taxes.apply_coupons(lines, [c["_coupon"] for c in doc["coupon_lines"]], setup)
        fees = [taxes.Item("fee", f["tax_class"], f["tax_status"] == "taxable", total=Decimal(f["total"]))
                for f in doc["fee_lines"]]
        shipping = [taxes.Item("shipping", "", True, total=Decimal(s["total"])) for s in doc["shipping_lines"]]
        taxes.tax_everything(lines, fees, shipping, setup)
        money = taxes.totals(lines, fees, shipping, setup)
        for stored_line, item in zip(doc["line_items"], lines):
            stored_line.update(total=taxes.stored(item.total), subtotal=taxes.stored(item.subtotal),
                               total_tax=taxes.stored(item.tax(setup)),
                               subtotal_tax=taxes.stored(item.tax(setup, "subtotal")),
                               taxes=_taxes(item.taxes, item.subtotal_taxes))
        for stored_fee, item in zip(doc["fee_lines"], fees):
            stored_fee.update(total_tax=taxes.stored(item.tax(setup)), taxes=_taxes(item.taxes, None))
        for stored_ship, item in zip(doc["shipping_lines"], shipping):
            stored_ship.update(total_tax=taxes.stored(item.tax(setup)), taxes=_taxes(item.taxes, None))
        for stored_coupon, (_, discount, tax) in zip(doc["coupon_lines"], applied):
            stored_coupon.update(discount=taxes.stored(discount), discount_tax=taxes.stored(tax))
        doc.update({k: taxes.stored(money[k]) for k in ORDER_MONEY})
        doc["tax_lines"] = [{"id": self.new_id(), **line, "tax_total": taxes.stored(line["tax_total"]),
                             "shipping_tax_total": taxes.stored(line["shipping_tax_total"])}
                            for line in taxes.tax_lines(money["cart_taxes"], money["shipping_taxes"], 2)]


def _taxes(total: dict[int, Decimal], subtotal: dict[int, Decimal] | None) -> list[dict]:
    return [{"id": rate_id, "total": taxes.stored(amount),
             "subtotal": taxes.stored(subtotal.get(rate_id, Decimal(0))) if subtotal is not None else ""}
            for rate_id, amount in total.items()]


def view(doc: dict, dp: int) -> dict:
    """An order as REST answers it with ``dp`` decimals."""
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    for name in ORDER_MONEY:
        out[name] = taxes.money(Decimal(doc[name]), dp)
    for part in ("line_items", "shipping_lines", "fee_lines", "tax_lines", "coupon_lines"):
        out[part] = [_item_view(item, dp) for item in doc.get(part, [])]
    for shown, stored in zip(out["line_items"], doc["line_items"]):
        price = Decimal(stored["total"]) / stored["quantity"]  # from the stored amount, not the dp one
        shown["price"] = int(price) if price == price.to_integral_value() else float(price)
    return out


def _item_view(item: dict, dp: int) -> dict:
    out = {k: v for k, v in item.items() if not k.startswith("_")}
    for name in ITEM_MONEY:
        if name in out:
            out[name] = taxes.money(Decimal(out[name]), dp)
    return out
