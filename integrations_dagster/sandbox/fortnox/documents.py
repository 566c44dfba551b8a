"""Order and invoice endpoints of the Fortnox sandbox, with Fortnox's row and total arithmetic.

Enforced on create/update: the customer exists, every row's ``ArticleNumber`` exists (400 naming
it), fields are known/writable/typed (orders: ``fortnox_Order`` minus computed fields; invoices:
``fortnox_InvoicePayload``), a row's VAT is one of the company's VAT rates (:data:`COMPANY_VAT_RATES`,
Fortnox's defaults 25/12/6/0 [doc: "the percentage needs to be of an existing VAT percentage"]), a
priced row without article has a description (2003977 [3p]). Totals are computed here, never taken
from the client (:mod:`.arithmetic`, which says what is recorded and what is guessed). A new document
copies its customer's name, address and e-mail [rec: orders/save_with_nested_model.yml; 2026
recordings copy the e-mail]; an invoice is due its terms of payment (30 days) after its date and
gets an OCR number: the document number, a length digit and a Luhn digit [rec: all 38 invoices in
invoices/*.yml, e.g. 1 -> "133", 40 -> "4044"]. A row without article is booked on the predefined
sales account 3001 [rec: rows default AccountNumber 3001; doc: "the predefined account will be used"].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.fortnox import actions, arithmetic, shapes
from integrations_dagster.sandbox.fortnox.listing import (
    ListSpec, contains, date_from, date_to, exact, flag, list_page, natural, number,
)
from integrations_dagster.sandbox.fortnox.registers import Registers
from integrations_dagster.sandbox.fortnox.store import Keyed, present
from integrations_dagster.sandbox.fortnox.validation import check
from integrations_dagster.sandbox.fortnox.wire import (
    CODE_DUPLICATE, CODE_NOT_FOUND, CODE_ROW_WITHOUT_TEXT, CODE_VAT, Refusal, dec, handler, money, not_found,
    today_local, wrapped_body,
)

COMPANY_VAT_RATES = (Decimal(25), Decimal(12), Decimal(6), Decimal(0))
PREDEFINED_SALES_ACCOUNT = 3001
TERMS_OF_PAYMENT_DAYS = 30  # the company's default terms "30" [rec: TermsOfPayment "30" on every document]


@dataclass(frozen=True)
class Kind:
    """What differs between an order and an invoice."""

    name: str  # "Order"
    collection: str
    payload: str  # validation schema of the document
    row_payload: str
    rows: str  # "OrderRows"
    date: str  # "OrderDate"
    path: str  # "/3/orders"
    integer_vat: bool  # invoice rows carry VAT as an int32
    shape: dict
    row_shape: dict
    item_fields: tuple[str, ...]
    resource: str  # for its 404


ORDER = Kind("Order", "orders", "Order", "OrderRow", "OrderRows", "OrderDate", "/3/orders", False,
             shapes.ORDER, shapes.ORDER_ROW, shapes.ORDER_ITEM, "order")
INVOICE = Kind("Invoice", "invoices", "InvoicePayload", "InvoiceRow", "InvoiceRows", "InvoiceDate", "/3/invoices",
               True, shapes.INVOICE, shapes.INVOICE_ROW, shapes.INVOICE_ITEM, "invoice")
QUANTITIES = ("OrderedQuantity", "DeliveredQuantity", "ReservedQuantity")


def ocr(number: str) -> str:
    """Fortnox's OCR reference: the number, a length digit (length of the whole OCR) and a Luhn digit."""
    digits = f"{number}{(len(number) + 2) % 10}"
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str((10 - total % 10) % 10)


class Documents:
    def __init__(self, reg: Registers, kind: Kind) -> None:
        self.reg, self.kind = reg, kind
        self.docs = Keyed(reg.store, kind.collection, "DocumentNumber")

    def get(self, number: str) -> dict:
        found = self.docs.get(number)
        if found is None:
            raise not_found(self.kind.resource)
        return found

    def create(self, data: dict) -> dict:
        self._check(data, creating=True)
        number = data.get("DocumentNumber") or self.docs.next_number()
        if self.docs.get(number):
            raise Refusal(400, f"Dokumentnumret {number!r} används redan.", CODE_DUPLICATE)
        today = today_local()
        doc = {"DocumentNumber": number, self.kind.date: today, "OutboundDate": today,
               **self._from_customer(data["CustomerNumber"]), **data}
        if self.kind is INVOICE:
            doc.setdefault("DueDate", (date.fromisoformat(doc["InvoiceDate"])
                                       + timedelta(days=TERMS_OF_PAYMENT_DAYS)).isoformat())
            doc.setdefault("OCR", ocr(number))
        return self.docs.save(self._compute(doc))

    def update(self, number: str, data: dict) -> dict:
        current = self.get(number)
        self._check(data, creating=False)
        if data.get("DocumentNumber") not in (None, number):
            raise Refusal(400, "Dokumentnumret kan inte ändras (cannot be changed).")
        if "CustomerNumber" in data:
            data = {**self._from_customer(data["CustomerNumber"]), **data}
        return self.docs.save(self._compute({**current, **data}))

    def _from_customer(self, number: str) -> dict:
        customer = self._customer(number)
        copied = {"CustomerName": customer.get("Name") or "", "PriceList": customer.get("PriceList") or "A",
                  "EmailInformation": {"EmailAddressTo": customer.get("Email") or ""}}
        for name in ("Address1", "Address2", "City", "ZipCode", "Country", "Phone1", "OrganisationNumber"):
            copied[name] = customer.get(name) or ""
        return copied

    def _check(self, data: dict, *, creating: bool) -> None:
        check(self.kind.payload, data, creating=creating)
        for i, row in enumerate(data.get(self.kind.rows) or [], start=1):
            if not isinstance(row, dict):
                raise Refusal(400, "Felaktig datastruktur.", 2002649)
            check(self.kind.row_payload, row, creating=True)
            article = row.get("ArticleNumber")
            if article and self.reg.articles.get(article) is None:
                raise Refusal(400, f"Rad {i}: artikel {article!r} finns inte (article not found).", CODE_NOT_FOUND)
            if row.get("VAT") not in (None, "") and dec(row["VAT"], "VAT") not in COMPANY_VAT_RATES:
                raise Refusal(400, f"Kunde inte hitta moms {row['VAT']} % (rad {i}): företaget har momssatserna "
                                   + ", ".join(str(r) for r in COMPANY_VAT_RATES) + ".", CODE_VAT)
            priced = any(dec(row.get(q) or 0) for q in ("OrderedQuantity", "DeliveredQuantity"))
            if not article and priced and not row.get("Description"):
                raise Refusal(400, f"Rad {i}: en rad med antal måste ha artikel eller benämning.",
                              CODE_ROW_WITHOUT_TEXT)

    def _customer(self, number: str) -> dict:
        found = self.reg.customers.get(number)
        if found is None:
            raise Refusal(400, f"Kund {number!r} finns inte (customer not found).", CODE_NOT_FOUND)
        return found

    def _compute(self, doc: dict) -> dict:
        included = bool(doc.get("VATIncluded"))
        rows, parts = [], []
        for row_id, row in enumerate(doc.get(self.kind.rows) or [], start=1):
            row, cost = self._fill_row(dict(row), included)
            total = arithmetic.row_total(dec(row["Price"]), dec(row["DeliveredQuantity"]),
                                         dec(row.get("Discount") or 0), row.get("DiscountType") or "PERCENT")
            rate = dec(row["VAT"])
            parts.append((total, rate, cost))
            contribution = (total - arithmetic.vat_of(total, rate, True) if included else total) - cost
            row.update(RowId=row_id, Total=money(total), Cost=money(cost),
                       ContributionValue=shapes.text_number(money(contribution)),
                       ContributionPercent=shapes.text_number(money(contribution / total * 100) if total else 0))
            if self.kind is INVOICE:
                net_total = total - arithmetic.vat_of(total, rate, True) if included else total
                price = dec(row["Price"])
                row.update(TotalExcludingVAT=money(net_total),
                           PriceExcludingVAT=money(price * 100 / (100 + rate) if included else price))
            rows.append(row)
        figures = arithmetic.totals(parts, freight=dec(doc.get("Freight") or 0),
                                    fee=dec(doc.get("AdministrationFee") or 0), included=included,
                                    currency=doc.get("Currency") or "SEK")
        doc.update({self.kind.rows: rows, **{k: money(v) for k, v in figures.items()}})
        if self.kind is INVOICE:  # what is left to pay (payments: :mod:`.actions`)
            doc["Balance"] = money(dec(doc["Total"]) - dec(doc.get("_paid") or 0))
        return doc

    def _fill_row(self, row: dict, included: bool) -> tuple[dict, Decimal]:
        """A row as Fortnox stores it: defaults from its article (description, unit, account, VAT),
        price and quantities rounded to 2 decimals [rec], quantities kept as text; and its cost."""
        article = self.reg.articles.get(row["ArticleNumber"]) if row.get("ArticleNumber") else None
        if article:
            row.setdefault("Description", article.get("Description"))
            row.setdefault("Unit", article.get("Unit") or "")
            row.setdefault("AccountNumber", article.get("SalesAccount") or PREDEFINED_SALES_ACCOUNT)
        row.setdefault("AccountNumber", PREDEFINED_SALES_ACCOUNT)
        rate = dec(row["VAT"]) if row.get("VAT") not in (None, "") else dec((article or {}).get("VAT", 25))
        row["VAT"] = int(rate) if self.kind.integer_vat or rate == rate.to_integral_value() else float(rate)
        if row.get("Price") is None:
            listed = dec((article or {}).get("SalesPrice") or 0)
            row["Price"] = money(listed * (1 + rate / 100) if included else listed)
        row["Price"] = money(dec(row["Price"]))
        for name in QUANTITIES:
            if name in row or name == "DeliveredQuantity" or (name == "OrderedQuantity" and self.kind is ORDER):
                row[name] = shapes.text_number(money(dec(row.get(name) or 0, name)))
        cost = dec((article or {}).get("PurchasePrice") or 0) * dec(row["DeliveredQuantity"])
        return row, cost


def _list_spec(kind: Kind) -> ListSpec:
    def item(doc: dict, base: str) -> dict:
        listed = present(doc, base, f"{kind.path}/{quote(doc['DocumentNumber'])}", kind.shape, kind.item_fields)
        if kind is INVOICE:  # text in the list, a number on the invoice [rec: invoices/all.yml]
            listed["CurrencyRate"] = shapes.text_number(doc.get("CurrencyRate", 1))
        return listed

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
    orders, invoices = Documents(reg, ORDER), Documents(reg, INVOICE)
    # the actions' paths first: ``/3/orders/{n}/cancel`` is no document number
    return (actions.routes(orders, invoices, _out(ORDER), _out(INVOICE))
            + _kind_routes(orders, _list_spec(ORDER)) + _kind_routes(invoices, _list_spec(INVOICE)))


def _out(kind: Kind):
    """(stored document, request) -> the document as Fortnox answers it, in its wrapper."""
    def out(doc: dict, request: Request) -> dict:
        base = str(request.base_url).rstrip("/")
        number = doc["DocumentNumber"]
        body = present(doc, base, f"{kind.path}/{quote(number)}", kind.shape)
        body["@urlTaxReductionList"] = f"{base}/3/taxreductions?filter={kind.collection}&referencenumber={number}"
        body[kind.rows] = [shapes.whole(kind.row_shape, row) for row in doc.get(kind.rows) or []]
        return {kind.name: body}
    return out


def _kind_routes(docs: Documents, spec: ListSpec) -> list[Route]:
    kind, out = docs.kind, _out(docs.kind)

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
