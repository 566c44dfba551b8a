"""What a Fortnox user does to a document after it arrived: invoice an order, cancel it, book an
invoice, register a payment — the events an order-status flow reads back into the shop.

Endpoints [spec: openapi-fortnox.json]: ``PUT /3/orders/{n}/createinvoice`` (answers the created
invoice), ``PUT /3/orders/{n}/cancel``, ``PUT /3/invoices/{n}/cancel``, ``PUT /3/invoices/{n}/bookkeep``,
``POST /3/invoicepayments`` (``fortnox_InvoicePayment``, only ``InvoiceNumber`` required by the
schema) and ``GET /3/invoicepayments``.

Evidence for the effects:

* The order keeps the invoice's number in ``InvoiceReference`` ("0" until then [rec: orders/find_new.yml])
  and the invoice the order's in ``OrderReference`` [spec; 3p: BjornTech woo-fortnox-hub
  ``get_fn_order_reference``]. The invoice carries the order's ``ExternalInvoiceReference1`` — the
  plugin finds the shop order of an invoice made from an order by that field [3p: woo-fortnox-hub
  ``get_order_id``, used for every changed invoice].
* An invoice is paid when its ``FinalPayDate`` holds a date [3p: woo-fortnox-hub ``invoice_is_paid``:
  ``strlen(FinalPayDate) === 10``] and its ``Balance`` is 0 (the list's ``fullypaid`` filter [spec]).
* A payment changes the invoice's ``lastmodified``: the plugin finds paid invoices by listing the
  invoices changed since its last check [3p: woo-fortnox-hub ``sync_fortnox_invoices``].

Guessed, kept here: the refusals below (an invoiced order cannot be cancelled or invoiced again, a
cancelled one cannot be invoiced, a booked invoice cannot be cancelled, a payment needs an amount that
is not more than the balance) and their codes; a payment's ``Number`` from a series of its own.
"""

from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.fortnox.store import Keyed
from integrations_dagster.sandbox.fortnox.wire import (
    CODE_INVALID_VALUE, Refusal, dec, handler, money, not_found, today_local, wrapped_body,
)

CODE_STATE = 2000588  # GUESS: the document is in a state that does not allow the action
# What an invoice made from an order takes over from it (the order's rows become invoice rows).
COPIED = ("CustomerNumber", "Currency", "VATIncluded", "Freight", "AdministrationFee", "CostCenter", "Project",
          "ExternalInvoiceReference1", "ExternalInvoiceReference2", "YourOrderNumber", "YourReference",
          "OurReference", "DeliveryName", "DeliveryAddress1", "DeliveryAddress2", "DeliveryZipCode",
          "DeliveryCity", "DeliveryCountry", "WayOfDelivery", "TermsOfDelivery")
ROW_COPIED = ("ArticleNumber", "Description", "DeliveredQuantity", "Price", "VAT", "Discount", "DiscountType",
              "AccountNumber", "Unit", "CostCenter", "Project")


class Actions:
    def __init__(self, orders, invoices) -> None:  # two documents.Documents
        self.orders, self.invoices = orders, invoices
        self.payments = Keyed(orders.reg.store, "invoicepayments", "Number")

    def create_invoice(self, number: str) -> dict:
        order = self.orders.get(number)
        if order.get("Cancelled"):
            raise Refusal(400, f"Order {number} är makulerad och kan inte faktureras.", CODE_STATE)
        if str(order.get("InvoiceReference") or "0") != "0":
            raise Refusal(400, f"Order {number} är redan fakturerad (faktura {order['InvoiceReference']}).",
                          CODE_STATE)
        data = {name: order[name] for name in COPIED if order.get(name) not in (None, "")}
        data["InvoiceRows"] = [{name: row[name] for name in ROW_COPIED if row.get(name) not in (None, "")}
                               for row in order.get("OrderRows") or []]
        if order.get("CopyRemarks"):
            data["Remarks"] = order.get("Remarks") or ""
        invoice = self.invoices.create(data)
        invoice = self.invoices.docs.save({**invoice, "OrderReference": number})
        self.orders.docs.save({**order, "InvoiceReference": invoice["DocumentNumber"]})
        return invoice

    def cancel_order(self, number: str) -> dict:
        order = self.orders.get(number)
        if str(order.get("InvoiceReference") or "0") != "0":
            raise Refusal(400, f"Order {number} är fakturerad och kan inte makuleras.", CODE_STATE)
        return self.orders.docs.save({**order, "Cancelled": True})

    def cancel_invoice(self, number: str) -> dict:
        invoice = self.invoices.get(number)
        if invoice.get("Booked"):
            raise Refusal(400, f"Faktura {number} är bokförd och kan inte makuleras; kreditera den.", CODE_STATE)
        return self.invoices.docs.save({**invoice, "Cancelled": True})

    def bookkeep(self, number: str) -> dict:
        invoice = self.invoices.get(number)
        if invoice.get("Cancelled"):
            raise Refusal(400, f"Faktura {number} är makulerad.", CODE_STATE)
        return self.invoices.docs.save({**invoice, "Booked": True})

    def pay(self, data: dict) -> dict:
        number = str(data.get("InvoiceNumber") or "")
        invoice = self.invoices.docs.get(number)
        if invoice is None:
            raise Refusal(400, f"Faktura {number!r} finns inte.", CODE_INVALID_VALUE)
        if invoice.get("Cancelled"):
            raise Refusal(400, f"Faktura {number} är makulerad.", CODE_STATE)
        if data.get("Amount") in (None, ""):
            raise Refusal(400, "Belopp (Amount) saknas.", CODE_INVALID_VALUE)
        amount, balance = dec(data["Amount"], "Amount"), dec(invoice.get("Balance") or 0)
        if amount <= 0:
            raise Refusal(400, f"Beloppet {amount} måste vara större än 0.", CODE_INVALID_VALUE)
        if amount > balance:
            raise Refusal(400, f"Beloppet {amount} är större än fakturans saldo {balance}.", CODE_INVALID_VALUE)
        paid_on = str(data.get("PaymentDate") or today_local())
        left = balance - amount
        self.invoices.docs.save({**invoice, "Balance": money(left), "_paid": money(dec(invoice.get("_paid") or 0)
                                                                              + amount),
                                 **({"FinalPayDate": paid_on} if left == Decimal(0) else {})})
        payment = {"Number": self.payments.next_number(), "InvoiceNumber": int(number), "Amount": money(amount),
                   "AmountCurrency": money(amount), "PaymentDate": paid_on, "Booked": False, "Source": "manual",
                   "Currency": invoice.get("Currency") or "SEK", "CurrencyRate": 1, "CurrencyUnit": 1,
                   "InvoiceCustomerName": invoice.get("CustomerName") or "",
                   "InvoiceCustomerNumber": invoice.get("CustomerNumber") or "",
                   "InvoiceDueDate": invoice.get("DueDate"), "InvoiceOCR": invoice.get("OCR") or "",
                   "InvoiceTotal": str(invoice.get("Total")),
                   "ExternalInvoiceReference1": invoice.get("ExternalInvoiceReference1") or "",
                   "ExternalInvoiceReference2": invoice.get("ExternalInvoiceReference2") or "",
                   "ModeOfPayment": data.get("ModeOfPayment") or "", "ModeOfPaymentAccount": data.get(
                       "ModeOfPaymentAccount") or 1930, "WriteOffs": []}
        return self.payments.save(payment)

    def payments_of(self, invoice: str | None) -> list[dict]:
        found = self.orders.reg.store.find("invoicepayments")
        return [p for p in found if invoice is None or str(p.get("InvoiceNumber")) == invoice]


def routes(orders, invoices, out_order, out_invoice) -> list[Route]:
    """``out_*``: (document, request) -> the wrapped body the document endpoints answer."""
    acts = Actions(orders, invoices)

    def payment_out(p: dict, request: Request) -> dict:
        base = str(request.base_url).rstrip("/")
        return {"@url": f"{base}/3/invoicepayments/{p['Number']}", **{k: v for k, v in p.items() if k != "id"}}

    def document_action(act, out):
        """``PUT /3/<documents>/{n}/<action>``: the document after the action, as its endpoint answers it."""
        @handler
        async def endpoint(request: Request):
            return 200, out(act(request.path_params["n"]), request)
        return endpoint

    @handler
    async def payments(request: Request):
        if request.method == "POST":
            return 201, {"InvoicePayment": payment_out(acts.pay(await wrapped_body(request, "InvoicePayment")),
                                                       request)}
        listed = acts.payments_of(request.query_params.get("invoicenumber"))
        keep = ("Amount", "Booked", "Currency", "CurrencyRate", "CurrencyUnit", "InvoiceNumber", "Number",
                "PaymentDate", "Source")
        return 200, {"InvoicePayments": [{"@url": payment_out(p, request)["@url"], **{k: p.get(k) for k in keep}}
                                         for p in listed],
                     "MetaInformation": {"@TotalResources": len(listed), "@TotalPages": 1, "@CurrentPage": 1}}

    @handler
    async def payment(request: Request):
        found = acts.payments.get(request.path_params["n"])
        if found is None:
            raise not_found("invoice payment")
        return 200, {"InvoicePayment": payment_out(found, request)}

    return [Route("/3/orders/{n}/createinvoice", document_action(acts.create_invoice, out_invoice), methods=["PUT"]),
            Route("/3/orders/{n}/cancel", document_action(acts.cancel_order, out_order), methods=["PUT"]),
            Route("/3/invoices/{n}/cancel", document_action(acts.cancel_invoice, out_invoice), methods=["PUT"]),
            Route("/3/invoices/{n}/bookkeep", document_action(acts.bookkeep, out_invoice), methods=["PUT"]),
            Route("/3/invoicepayments", payments, methods=["GET", "POST"]),
            Route("/3/invoicepayments/{n}", payment, methods=["GET"])]
