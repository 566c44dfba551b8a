"""Order notes and the mails a shop sends its customers, as WooCommerce does them.

Notes: ``GET/POST /orders/<id>/notes`` [source: woocommerce includes/rest-api/Controllers/Version1/
class-wc-rest-order-notes-v1-controller.php and its V2/V3 heirs]: ``note`` is required ("Missing
parameter(s): note", ``rest_missing_callback_param``, 400 — WordPress's check of a required arg);
``customer_note: true`` shows it to the customer and mails it (``WC_Order::add_order_note`` fires
``woocommerce_new_customer_note``, the trigger of ``WC_Email_Customer_Note``); a note answers
``{id, author, date_created, date_created_gmt, note, customer_note}``, a list newest first, ``type``
``any|customer|internal``.

Mails: the core customer e-mails and the transitions that trigger them [source: woocommerce
includes/emails/class-wc-email-customer-processing-order.php (pending/failed/cancelled/on-hold →
processing), …-customer-completed-order.php (→ completed), …-customer-on-hold-order.php
(pending/failed/cancelled → on-hold), …-cancelled-order.php (processing/on-hold → cancelled, to the
shop's admin)]. Each sent mail is kept and listed at ``GET /__sandbox__/woocommerce/mails``.
"""

from __future__ import annotations

from typing import Any

from integrations_dagster.sandbox.woocommerce.clock import dated, now_gmt
from integrations_dagster.sandbox.woocommerce.documents import WooDocuments
from integrations_dagster.sandbox.woocommerce.errors import WooError

NOTES, MAILS = "order_notes", "mails"
ADMIN = "admin@shop.example"
_TRANSITIONS = {  # (from, to) -> (template, to the customer?); "*" any status
    ("pending", "processing"): "customer_processing_order", ("failed", "processing"): "customer_processing_order",
    ("cancelled", "processing"): "customer_processing_order", ("on-hold", "processing"): "customer_processing_order",
    ("*", "completed"): "customer_completed_order",
    ("pending", "on-hold"): "customer_on_hold_order", ("failed", "on-hold"): "customer_on_hold_order",
    ("cancelled", "on-hold"): "customer_on_hold_order",
    ("processing", "cancelled"): "cancelled_order", ("on-hold", "cancelled"): "cancelled_order",
}


class OrderNotes:
    def __init__(self, store: WooDocuments) -> None:
        self.store = store

    def add(self, order: dict, body: Any) -> dict:
        if not isinstance(body, dict) or not str(body.get("note") or "").strip():
            raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): note", ["note"])  # type: ignore[arg-type]
        note = {"order_id": order["id"], "author": "WooCommerce" if not body.get("added_by_user") else "admin",
                **dated("date_created", now_gmt()), "note": str(body["note"]),
                "customer_note": bool(body.get("customer_note"))}
        note["id"] = self.store.insert(NOTES, note, parent=order["id"])
        if note["customer_note"]:
            self.mail("customer_note", order, note["note"])
        return _public(note)

    def of(self, order: dict, kind: str = "any") -> list[dict]:
        notes = self.store.find(NOTES, parent=order["id"])
        if kind == "customer":
            notes = [n for n in notes if n["customer_note"]]
        elif kind == "internal":
            notes = [n for n in notes if not n["customer_note"]]
        return [_public(n) for n in sorted(notes, key=lambda n: n["id"], reverse=True)]

    def on_status(self, order: dict, old: str, new: str) -> None:
        if old == new:
            return
        template = _TRANSITIONS.get((old, new)) or _TRANSITIONS.get(("*", new))
        if template:
            self.mail(template, order)

    def mail(self, template: str, order: dict, text: str = "") -> None:
        to = ADMIN if template == "cancelled_order" else (order.get("billing") or {}).get("email") or ""
        if to:
            self.store.insert(MAILS, {"template": template, "to": to, "order_id": order["id"], "text": text,
                                      "at": now_gmt().isoformat()})

    def mails(self) -> list[dict]:
        return [{k: m.get(k) for k in ("template", "to", "order_id", "text", "at")} for m in self.store.find(MAILS)]


def _public(note: dict) -> dict:
    return {k: note[k] for k in ("id", "author", "date_created", "date_created_gmt", "note", "customer_note")}
