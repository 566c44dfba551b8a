"""Order and invoice endpoints of the Fortnox sandbox, with Fortnox's row and total arithmetic.

Enforced on create/update: the customer exists, every row's ``ArticleNumber`` exists (400 naming
it), fields are known/writable/typed (orders: ``fortnox_Order`` minus computed fields; invoices:
``fortnox_InvoicePayload``), quantities are numeric strings. Totals are computed here, never taken
from the client: with ``VATIncluded`` true, row prices and ``Freight`` include VAT and the VAT is
extracted (rate/(100+rate)); otherwise VAT is added on top. Freight carries 25 % VAT. Öre rounding
of the amount to pay (``RoundOff``) is not emulated: ``RoundOff`` is always 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.fortnox.listing import (
    ListSpec, contains, date_from, date_to, exact, flag, list_page, natural, number,
)
from integrations_dagster.sandbox.fortnox.registers import Registers
from integrations_dagster.sandbox.fortnox.store import Keyed, present
from integrations_dagster.sandbox.fortnox.validation import check
from integrations_dagster.sandbox.fortnox.wire import (
    CODE_DUPLICATE, CODE_NOT_FOUND, Refusal, dec, handler, money, not_found, qty_text, today_local,
    wrapped_body,
)

FREIGHT_VAT = Decimal(25)


@dataclass(frozen=True)
class Kind:
    """What differs between an order and an invoice."""

    name: str  # "Order"
    collection: str
    payload: str  # validation schema of the document
    row_payload: str
    rows: str  # "OrderRows"
    quantity: str  # the quantity that is priced
    date: str  # "OrderDate"
    path: str  # "/3/orders"
    integer_vat: bool  # invoice rows carry VAT as an int32


ORDER = Kind("Order", "orders", "Order", "OrderRow", "OrderRows", "OrderedQuantity", "OrderDate", "/3/orders",
             False)
INVOICE = Kind("Invoice", "invoices", "InvoicePayload", "InvoiceRow", "InvoiceRows", "DeliveredQuantity",
               "InvoiceDate", "/3/invoices", True)

ORDER_LIST_FIELDS = ("Cancelled", "Currency", "CustomerName", "CustomerNumber", "DeliveryDate", "DocumentNumber",
                     "ExternalInvoiceReference1", "ExternalInvoiceReference2", "OrderDate", "OrderType",
                     "Project", "Sent", "Total")
INVOICE_LIST_FIELDS = ("Balance", "Booked", "Cancelled", "CostCenter", "Currency", "CurrencyRate", "CurrencyUnit",
                       "CustomerName", "CustomerNumber", "DocumentNumber", "DueDate", "ExternalInvoiceReference1",
                       "ExternalInvoiceReference2", "FinalPayDate", "InvoiceDate", "InvoiceType", "NoxFinans",
                       "OCR", "Project", "Sent", "TermsOfPayment", "Total", "VoucherNumber", "VoucherSeries",
                       "VoucherYear", "WayOfDelivery")


class Documents:
    def __init__(self, reg: Registers, kind: Kind) -> None:
        self.reg, self.kind = reg, kind
        self.docs = Keyed(reg.store, kind.collection, "DocumentNumber")

    def get(self, number: str) -> dict:
        found = self.docs.get(number)
        if found is None:
            raise not_found(f"{self.kind.name.lower()} {number!r}")
        return found

    def create(self, data: dict) -> dict:
        self._check(data, creating=True)
        number = data.get("DocumentNumber") or self.docs.next_number()
        if self.docs.get(number):
            raise Refusal(400, f"Dokumentnumret {number!r} används redan.", CODE_DUPLICATE)
        customer = self._customer(data["CustomerNumber"])
        doc = {"DocumentNumber": number, "Currency": "SEK", "CurrencyRate": 1, "CurrencyUnit": 1,
               "VATIncluded": False, "PriceList": customer.get("PriceList", "A"), "Freight": 0,
               "AdministrationFee": 0, "Cancelled": False, "Sent": False, "NotCompleted": False,
               self.kind.date: today_local(), self.kind.rows: [], "CustomerName": customer["Name"],
               **{f: customer[f] for f in ("Address1", "Address2", "City", "ZipCode", "Country", "Phone1",
                                           "OrganisationNumber") if customer.get(f)},
               **self._defaults(), **data}
        return self.docs.save(self._compute(doc))

    def update(self, number: str, data: dict) -> dict:
        current = self.get(number)
        self._check(data, creating=False)
        if data.get("DocumentNumber") not in (None, number):
            raise Refusal(400, "Dokumentnumret kan inte ändras (cannot be changed).")
        if "CustomerNumber" in data:
            data = {**data, "CustomerName": self._customer(data["CustomerNumber"])["Name"]}
        return self.docs.save(self._compute({**current, **data}))

    def _defaults(self) -> dict:
        if self.kind is ORDER:
            return {"DeliveryState": "registration", "InvoiceReference": "0", "OrderType": "Order",
                    "WarehouseReady": False}
        return {"Booked": False, "Credit": "false", "InvoiceType": "INVOICE", "NoxFinans": False, "Reminders": 0}

    def _check(self, data: dict, *, creating: bool) -> None:
        check(self.kind.payload, data, creating=creating)
        for i, row in enumerate(data.get(self.kind.rows) or [], start=1):
            if not isinstance(row, dict):
                raise Refusal(400, "Felaktig datastruktur.", 2002649)
            check(self.kind.row_payload, row, creating=True)
            article = row.get("ArticleNumber")
            if article and self.reg.articles.get(article) is None:
                raise Refusal(400, f"Rad {i}: artikel {article!r} finns inte (article not found).", CODE_NOT_FOUND)

    def _customer(self, number: str) -> dict:
        found = self.reg.customers.get(number)
        if found is None:
            raise Refusal(400, f"Kund {number!r} finns inte (customer not found).", CODE_NOT_FOUND)
        return found

    def _compute(self, doc: dict) -> dict:
        included = bool(doc.get("VATIncluded"))
        net = vat = Decimal(0)
        rows = []
        for row_id, row in enumerate(doc.get(self.kind.rows) or [], start=1):
            row = self._fill_row(dict(row), included)
            amount = dec(row["Price"]) * dec(row[self.kind.quantity], self.kind.quantity)
            discount = dec(row.get("Discount") or 0)
            amount = amount - discount if row.get("DiscountType") == "AMOUNT" else amount * (1 - discount / 100)
            row_net, row_vat = _split(amount, dec(row["VAT"]), included)
            net, vat = net + row_net, vat + row_vat
            row.update(RowId=row_id, Total=money(amount))
            if self.kind is INVOICE:
                price_net, _ = _split(dec(row["Price"]), dec(row["VAT"]), included)
                row.update(PriceExcludingVAT=money(price_net), TotalExcludingVAT=money(row_net))
            rows.append(row)
        freight_net, freight_vat = _split(dec(doc.get("Freight") or 0), FREIGHT_VAT, included)
        admin = dec(doc.get("AdministrationFee") or 0)
        gross = net + freight_net + admin
        total_vat = vat + freight_vat
        total = gross + total_vat
        doc.update({self.kind.rows: rows, "Net": money(net), "Gross": money(gross), "TotalVAT": money(total_vat),
                    "FreightVAT": money(freight_vat), "Total": money(total), "TotalToPay": money(total),
                    "RoundOff": 0})
        if self.kind is INVOICE:
            doc.setdefault("DueDate", (date.fromisoformat(doc["InvoiceDate"]) + timedelta(days=30)).isoformat())
            doc.setdefault("OCR", doc["DocumentNumber"])  # no OCR check digit in the sandbox
            doc["Balance"] = doc["Total"]
        return doc

    def _fill_row(self, row: dict, included: bool) -> dict:
        """Row defaults from the article, as Fortnox fills them: description, VAT, price list A price."""
        article = self.reg.articles.get(row["ArticleNumber"]) if row.get("ArticleNumber") else None
        if article:
            row.setdefault("Description", article.get("Description"))
            row.setdefault("Unit", article.get("Unit"))
        rate = dec(row["VAT"]) if row.get("VAT") is not None else dec((article or {}).get("VAT", 25))
        row["VAT"] = int(rate) if self.kind.integer_vat else float(rate)
        if row.get("Price") is None:
            listed = dec((article or {}).get("SalesPrice") or 0)
            row["Price"] = money(listed * (1 + rate / 100) if included else listed)
        if self.kind is ORDER:
            row.setdefault("OrderedQuantity", "0")
            row.setdefault("DeliveredQuantity", row["OrderedQuantity"])
        else:
            row.setdefault("DeliveredQuantity", "0")
        for name in ("OrderedQuantity", "DeliveredQuantity"):
            if name in row:
                row[name] = qty_text(dec(row[name], name))
        return row


def _split(amount: Decimal, rate: Decimal, included: bool) -> tuple[Decimal, Decimal]:
    """(net, VAT) of an amount stated with or without VAT."""
    if included:
        vat = amount * rate / (100 + rate)
        return amount - vat, vat
    return amount, amount * rate / 100


def _list_spec(kind: Kind) -> ListSpec:
    def item(doc: dict, base: str) -> dict:
        fields = ORDER_LIST_FIELDS if kind is ORDER else INVOICE_LIST_FIELDS
        return present(doc, base, f"{kind.path}/{quote(doc['DocumentNumber'])}", fields)

    common = {"customername": contains("CustomerName"), "customernumber": exact("CustomerNumber"),
              "documentnumber": exact("DocumentNumber"),
              "externalinvoicereference1": exact("ExternalInvoiceReference1"),
              "externalinvoicereference2": exact("ExternalInvoiceReference2"),
              "fromdate": date_from(kind.date), "todate": date_to(kind.date),
              "costcenter": exact("CostCenter"), "project": exact("Project"), "sent": flag("Sent"),
              "notcompleted": flag("NotCompleted"), "ourreference": contains("OurReference"),
              "yourreference": contains("YourReference")}
    sorts = {"customername": lambda d: str(d.get("CustomerName", "")).lower(),
             "customernumber": lambda d: natural(d["CustomerNumber"]),
             "documentnumber": lambda d: natural(d["DocumentNumber"]), "total": number("Total")}
    if kind is ORDER:
        return ListSpec(
            "orders", "Orders", item, filters={**common, "ordertype": exact("OrderType")},
            named_filters={"cancelled": lambda d: bool(d.get("Cancelled")),
                           "expired": lambda d: False,  # no delivery-date expiry in the sandbox
                           "invoicecreated": lambda d: d.get("InvoiceReference", "0") != "0",
                           "invoicenotcreated": lambda d: d.get("InvoiceReference", "0") == "0"},
            sorts={**sorts, "orderdate": lambda d: d.get("OrderDate", "")}, default_sort="documentnumber",
            not_emulated=frozenset({"label"}))
    return ListSpec(
        "invoices", "Invoices", item,
        filters={**common, "ocr": exact("OCR"), "yourordernumber": exact("YourOrderNumber"),
                 "currency": exact("Currency"), "invoicetype": exact("InvoiceType"),
                 "credit": lambda d, v: str(d.get("Credit", "false")).lower() == v.lower()},
        named_filters={"cancelled": lambda d: bool(d.get("Cancelled")),
                       "fullypaid": lambda d: not d.get("Cancelled") and dec(d.get("Balance", 0)) == 0,
                       "unpaid": lambda d: not d.get("Cancelled") and dec(d.get("Balance", 0)) != 0,
                       "unpaidoverdue": lambda d: not d.get("Cancelled") and dec(d.get("Balance", 0)) != 0
                       and d.get("DueDate", "9999") < today_local(),
                       "unbooked": lambda d: not d.get("Booked")},
        sorts={**sorts, "invoicedate": lambda d: d.get("InvoiceDate", ""), "ocr": lambda d: d.get("OCR", "")},
        default_sort="documentnumber",
        not_emulated=frozenset({"label", "fromfinalpaydate", "tofinalpaydate", "articlenumber",
                                "articledescription", "accountnumberfrom", "accountnumberto"}))


def routes(reg: Registers) -> list[Route]:
    result: list[Route] = []
    for kind in (ORDER, INVOICE):
        docs, spec = Documents(reg, kind), _list_spec(kind)
        result += _kind_routes(docs, spec)
    return result


def _kind_routes(docs: Documents, spec: ListSpec) -> list[Route]:
    kind = docs.kind

    def out(doc: dict, request: Request) -> dict:
        base = str(request.base_url).rstrip("/")
        return {kind.name: present(doc, base, f"{kind.path}/{quote(doc['DocumentNumber'])}")}

    @handler
    async def collection(request: Request):
        if request.method == "POST":
            return 201, out(docs.create(await wrapped_body(request, kind.name)), request)
        return 200, list_page(request, docs.reg.store, spec)

    @handler
    async def single(request: Request):
        number = request.path_params["DocumentNumber"]
        if request.method == "PUT":
            return 200, out(docs.update(number, await wrapped_body(request, kind.name)), request)
        return 200, out(docs.get(number), request)

    return [Route(kind.path, collection, methods=["GET", "POST"]),
            Route(f"{kind.path}/{{DocumentNumber}}", single, methods=["GET", "PUT"])]
