"""WooCommerce as the target of orders: a marketplace's order, through the hub, becomes a shop order.

The exporter of the hub's *order export* plug (seed 000 step 19: "Order-import … till Plugboard …
exporteras till din e-handelsplattform"). An order is created paid (``set_paid``), so WooCommerce
reduces the stock of what was sold as for any paid order [source: woocommerce includes/
wc-stock-functions.php ``wc_maybe_reduce_stock_levels`` on ``woocommerce_payment_complete``] — the
sale on the marketplace lowers the shop's stock, and the shop's stock goes back out to every channel.

* **Idempotent create.** The order carries its canonical key in the hidden meta ``_integrations_order``.
  Before creating, the writer looks for it: the id map first, then the shop's orders found by the
  buyer's e-mail, else name (``search``: WooCommerce searches an order's address index), keeping
  the one whose meta names the key. A crash between the shop's answer and our record costs a lookup,
  never a second order.
* **Lines.** Items by SKU (a variation's own SKU names the variation) through the shop's SKU index,
  read once per run; an item whose SKU the shop does not sell fails the order with the SKU named —
  a shop order without the goods would book nothing and reduce no stock. Amounts go without VAT
  (``total``, six decimals as WooCommerce stores them); the shop taxes them with its own classes, so a
  total that WooCommerce rounds differently is landed with a warning naming both totals.
* **Updates.** Only the status follows, and only forward (pending → processing → completed): an order the
  shop shipped or cancelled keeps the shop's word; the lines of an order the shop holds are never rewritten.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext, one_by_one
from integrations_dagster.connectors.woocommerce import mapping
from integrations_dagster.model import Order, OrderStatus
from integrations_dagster.model.order import Address

if TYPE_CHECKING:
    from integrations_dagster.connectors.woocommerce.client import WooCommerceResource

META_KEY = "_integrations_order"
SIX = Decimal("0.000001")
# The shop status a canonical state becomes (an order from a marketplace arrives paid).
STATUS = {OrderStatus.PENDING: "pending", OrderStatus.PROCESSING: "processing", OrderStatus.PAID: "processing",
          OrderStatus.ON_HOLD: "on-hold", OrderStatus.COMPLETED: "completed", OrderStatus.DELIVERED: "completed",
          OrderStatus.INVOICED: "completed", OrderStatus.CANCELLED: "cancelled", OrderStatus.REFUNDED: "refunded",
          OrderStatus.FAILED: "failed"}
PAID = {"processing", "completed"}
FINAL = {"completed", "cancelled", "refunded", "failed", "trash"}  # the shop's own last word on an order
RANK = {"pending": 0, "on-hold": 1, "processing": 2, "completed": 3}


class OrderWriter:
    def __init__(self, shop: "WooCommerceResource", ctx: WriteContext) -> None:
        self.shop, self.ctx, self.http = shop, ctx, shop.http

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        yield from one_by_one(changes, self._one, "WooCommerce refused the order")

    def _one(self, change: Change) -> Outcome:
        order = change.record
        if change.action == "delete" or not isinstance(order, Order):
            return Outcome(change.key, ok=True, action="skipped", error="orders are not deleted in the shop")
        held = self.ctx.binder.external_id("orders", order.key) or self._find(order)
        if held is not None:
            return self._follow(order, held, found=change.target_id is None)
        body, missing = self._body(order)
        if missing:
            return Outcome(order.key, ok=False, action="failed", error=missing)
        made = self.http.request("POST", "/orders", json=body).json()
        return Outcome(order.key, ok=True, action="created", target_id=str(made["id"]),
                       warnings=self._total_warning(order, made))

    def _follow(self, order: Order, held: str, *, found: bool) -> Outcome:
        """An order the shop holds: its status follows ours forward only — the shop's own work (it shipped:
        completed; it cancelled) is never undone by the source's older word; nothing else is rewritten."""
        status = STATUS[order.status]
        current = self.http.request("GET", f"/orders/{held}", params={"_fields": "id,status"}).json().get("status")
        if current != status and current not in FINAL and RANK.get(status, 0) > RANK.get(current, 0):
            self.http.request("PUT", f"/orders/{held}", json={"status": status})
            return Outcome(order.key, ok=True, action="updated", target_id=held)
        return Outcome(order.key, ok=True, action="linked" if found else "updated", target_id=held)

    def _find(self, order: Order) -> str | None:
        """The shop's order made from ``order`` earlier (a run killed before it recorded the answer): searched
        by the buyer's e-mail, else name (WooCommerce searches both in an order's address index)."""
        billing = order.billing or order.customer.billing
        term = order.customer.email or (billing.email if billing else None) or order.customer.name \
            or (billing.name if billing else None)
        if not term:
            return None
        found = self.http.request("GET", "/orders", params={"search": term, "per_page": 100, "status": "any",
                                                             "_fields": "id,meta_data"}).json()
        for raw in found:
            if any(m.get("key") == META_KEY and m.get("value") == order.key for m in raw.get("meta_data") or []):
                return str(raw["id"])
        return None

    def _body(self, order: Order) -> tuple[dict, str | None]:
        index = self._index()
        items, shipping, unknown = [], [], []
        for line in order.lines:
            net = line.net  # without VAT: the shop taxes it with its own classes
            if line.kind == "item":
                address = index.get(line.sku or "")
                if address is None:
                    unknown.append(line.sku or line.name)
                    continue
                product, _, variation = address.partition("/")
                items.append({"product_id": int(product), **({"variation_id": int(variation)} if variation else {}),
                              "quantity": int(line.quantity), "total": _six(net), "subtotal": _six(net + line.discount)})
            elif line.kind == "shipping":
                shipping.append({"method_id": "flat_rate", "method_title": line.name, "total": _six(net)})
        if unknown:
            return {}, (f"the shop sells no SKU {', '.join(repr(s) for s in unknown)}: an order without its goods "
                        "would book nothing; list the products in the shop first")
        status = STATUS[order.status]
        body = {"status": status, "set_paid": status in PAID, "currency": order.currency,
                "billing": _address(order.billing or order.customer.billing, order.customer.name,
                                    order.customer.email, order.customer.phone),
                "shipping": _address(order.shipping or order.customer.shipping or order.billing, order.customer.name),
                "line_items": items, "shipping_lines": shipping,
                "payment_method_title": order.source,
                "meta_data": [{"key": META_KEY, "value": order.key},
                              {"key": "_integrations_source_number", "value": order.number}]}
        return body, None

    def _index(self) -> dict[str, str]:
        if "wc_sku_index" not in self.ctx.memo:
            self.ctx.memo["wc_sku_index"] = self.shop._sku_index(mapping.Skus(self.ctx.options))
        return self.ctx.memo["wc_sku_index"]

    @staticmethod
    def _total_warning(order: Order, made: dict) -> tuple[str, ...]:
        total = Decimal(str(made.get("total") or "0"))
        if total == order.total.amount:
            return ()
        return (f"the shop totals {total} {made.get('currency')}, the source charged {order.total.amount} "
                f"{order.total.currency}: WooCommerce taxed the lines with its own rounding",)


def _six(amount: Decimal) -> str:
    return str(amount.quantize(SIX))


def _address(address: Address | None, name: str, email: str | None = None, phone: str | None = None) -> dict:
    first, _, last = (address.name if address and address.name else name).partition(" ")
    out = {"first_name": first, "last_name": last}
    if address is not None:
        out.update({"company": address.company or "", "address_1": address.line1 or "",
                    "address_2": address.line2 or "", "postcode": address.postcode or "", "city": address.city or "",
                    "country": address.country or ""})
    if email:
        out["email"] = email
    if phone:
        out["phone"] = phone
    return out
