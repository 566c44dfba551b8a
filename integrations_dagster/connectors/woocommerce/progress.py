"""Exporter of order progress into WooCommerce: what the ERP did with a shop order sets its status,
and the delivery's tracking numbers follow as an order note.

Seed 002: ERP events (Levererad, Fakturerad, Betald, Makulerad) "skicka signalen vidare till
WooCommerce"; "ställa in om mail ska skickas till kunden vid en given orderstatus och om eventuell
paketspårningsinformation ska följa med leveransen"; "Capture": a Klarna or DIBS/Nets payment is
captured when the order reaches the status its gateway captures on — WooCommerce's ``completed``
— so delivered maps there by default.

* The order is the one the orders flow sent: the record's key is ``<connection>:<order id>``; an
  order of another connection (multishop) is not this shop's and is left alone.
* Status: ``PUT /orders/<id>`` with the mapped status [doc: woocommerce orders.md "Update an
  order"]; WooCommerce itself mails the customer on that change (its completed-order mail), as
  configured in the shop. An order the shop refunded or trashed is not moved: that is refused with
  its reason. An order already in the mapped status is not written again.
* Tracking: one note per tracking number, ``POST /orders/<id>/notes`` [source: woocommerce
  class-wc-rest-order-notes-v1-controller.php]; a customer note (``customer_note: true``, mailed by
  the shop) on the states listed in ``mail_customer``. A number already in a note of the order is
  not noted again (a re-run, a replayed event).
"""

from __future__ import annotations

from typing import Any, Iterator

from integrations_dagster.connectors.base import Change, Outcome, WriteContext, one_by_one
from integrations_dagster.connectors.http import HttpClient
from integrations_dagster.model.progress import OrderProgress

DEFAULT_STATUS_MAP = {"delivered": "completed", "invoiced": "completed", "paid": "completed",
                      "cancelled": "cancelled"}
FINAL = ("refunded", "trash")  # shop statuses an ERP event never moves an order out of


class ProgressExporter:
    def __init__(self, http: HttpClient, ctx: WriteContext) -> None:
        self.http, self.ctx = http, ctx
        options: dict[str, Any] = ctx.options
        self.connection = str(options.get("connection") or "shop")
        self.status_map = {**DEFAULT_STATUS_MAP, **(options.get("status_map") or {})}
        self.mail_on = set(options.get("mail_customer") or ())
        self.note = str(options.get("tracking_note") or "Spårningsnummer: {tracking}")

    def write(self, changes: list[Change]) -> Iterator[Outcome]:
        yield from one_by_one(changes, self._one, "WooCommerce refused it")

    def _one(self, change: Change) -> Outcome:
        progress = change.record
        if not isinstance(progress, OrderProgress):
            return Outcome(change.key, ok=True, action="skipped", error="order progress is not deleted")
        shop, _, order_id = progress.order_key.partition(":")
        if shop != self.connection or not order_id.isdigit():
            return Outcome(change.key, ok=True, action="ignored",
                           error=f"order {progress.order_key} did not come from {self.connection}")
        order = self.http.get(f"/orders/{order_id}")
        wanted = self.status_map.get(progress.state)
        warnings = []
        if wanted and order.get("status") != wanted:
            if order.get("status") in FINAL:
                return Outcome(change.key, ok=False, action="failed", target_id=order_id, error=(
                    f"the ERP says {progress.state}, but the shop order is {order.get('status')}: not moved"))
            self.http.request("PUT", f"/orders/{order_id}", json={"status": wanted})
            warnings.append(f"status {order.get('status')} → {wanted} ({progress.state} in the ERP)")
        if progress.tracking_numbers:
            noted = " ".join(n.get("note", "") for n in self.http.get(f"/orders/{order_id}/notes"))
            for number in progress.tracking_numbers:
                if number not in noted:
                    self.http.request("POST", f"/orders/{order_id}/notes", json={
                        "note": self.note.replace("{tracking}", number),
                        "customer_note": progress.state in self.mail_on})
        return Outcome(change.key, ok=True, action="updated", target_id=order_id, warnings=tuple(warnings))
