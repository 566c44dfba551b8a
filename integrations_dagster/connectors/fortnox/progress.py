"""Reader of order progress from Fortnox: what the company did with the documents the orders flow
sent — invoiced, paid, cancelled — as one :class:`OrderProgress` per shop order.

Fortnox has no event feed: the documents changed since the window's start are listed
(``lastmodified`` on ``/3/invoices`` and ``/3/orders`` [spec]), the way the WooCommerce Fortnox Hub
plugin finds the invoices to act on [3p: woo-fortnox-hub ``sync_fortnox_invoices``].

* The shop order is the document's ``ExternalInvoiceReference1``: the orders flow writes the order's
  canonical key there, and an invoice made from an order carries it over [3p: woo-fortnox-hub
  ``get_order_id``]. A document without one is not ours and is passed over.
* An **invoice** (made from the order, or the document the flow wrote) means ``invoiced``; with a date
  in ``FinalPayDate`` it is ``paid`` [3p: woo-fortnox-hub ``invoice_is_paid``]; ``Cancelled`` means
  ``cancelled``. A credit invoice (a negative total) is a refund, not the order's progress: passed over.
* An **order** counts only when ``Cancelled``: one that was invoiced shows up through its invoice,
  one that was not is still open — nothing for the shop.
* **Delivered**: Fortnox's API has no delivery event (``DeliveryState`` is the order's stock mode —
  registration, reservation, delivery — set when it is made [spec; rec: orders/find_new.yml has
  ``delivery`` on a new order]; ``DeliveredQuantity`` is what will be invoiced, which the orders flow
  sets on every row). The invoice is the delivery: the plugin's recommended trigger for completing
  a shop order is "when the invoice is created" [3p: woo-fortnox-hub settings]; WooCommerce's default
  status map sends ``invoiced`` to ``completed``, where Klarna and Nets capture. Nor has Fortnox a
  tracking number field, so no tracking note comes from Fortnox.

Articles and documents carry no modification time, so a record's freshness is when it was read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Iterator

from integrations_dagster.model.progress import OrderProgress

LIST_LIMIT = 500  # Fortnox's largest page


def changed_documents(list_stream: Callable[..., Iterable[dict]], since_param: str | None) -> Iterator[dict]:
    """The raw progress records: one per shop order among the invoices and orders changed from
    ``since_param`` (Fortnox's ``lastmodified`` text; None: all of them)."""
    params: dict[str, Any] = {"limit": LIST_LIMIT}
    if since_param is not None:
        params["lastmodified"] = since_param
    read_at = datetime.now(UTC).isoformat()
    by_key: dict[str, dict] = {}
    for invoice in list_stream("invoices", **params):
        key = str(invoice.get("ExternalInvoiceReference1") or "")
        if key and not _is_credit(invoice):
            by_key[key] = {**invoice, "_document": "invoice", "_fetched_at": read_at}
    for order in list_stream("orders", **params):
        key = str(order.get("ExternalInvoiceReference1") or "")
        if key and order.get("Cancelled") and key not in by_key:
            by_key[key] = {**order, "_document": "order", "_fetched_at": read_at}
    yield from by_key.values()


def progress(raw: dict) -> OrderProgress:
    """The furthest state the document shows for its shop order."""
    if raw.get("Cancelled"):
        state = "cancelled"
    elif raw.get("_document") == "invoice":
        state = "paid" if _is_date(raw.get("FinalPayDate")) else "invoiced"
    else:
        raise ValueError(f"Fortnox order {raw.get('DocumentNumber')} is neither invoiced nor cancelled")
    return OrderProgress(order_key=str(raw["ExternalInvoiceReference1"]), state=state,
                         source_id=f"{raw.get('_document')} {raw.get('DocumentNumber')}", as_of=raw.get("_fetched_at"))


def _is_credit(invoice: dict) -> bool:
    try:
        return Decimal(str(invoice.get("Total") or 0)) < 0
    except InvalidOperation:
        return False


def _is_date(value: Any) -> bool:
    """``FinalPayDate`` holds ``YYYY-MM-DD`` once the invoice is paid, else null or ""."""
    return isinstance(value, str) and len(value) == 10 and value[4] == "-"
