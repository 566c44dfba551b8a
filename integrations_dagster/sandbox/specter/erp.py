"""The ERP's books in the sandbox's SQLite documents: articles, stock, customers, orders.

One article per variant [partner: Abicart "unika produktnummer, även kundens val (storlekar/färger)";
CONTRACTS §10 "Specter one article per variant"], keyed by its article number (case folded:
guesses.ARTICLE_NO_CASE_INSENSITIVE). Stock is kept per stock site [doc: change log "getmultiplestocksites
… flera lager"; 3p: PrestaShop sums the <stock> sites; orders carry `stocksiteid`]; what the feeds report
is the available quantity (guesses.STOCK_REPORTS_AVAILABLE). Orders keep their rows as sent (prices
excl. VAT with a VAT percent per row [3p: PrestaShop/Laravel `priceExclVAT_N`, `vatPercent_N`]) and the
totals computed from them (:func:`order_totals`).

Every change flags the item in its change feed (:mod:`.feeds`) and queues the callback Specter makes
for it (:mod:`.callbacks`); both happen inside :meth:`Erp.unit`, whose callbacks go out after commit.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Iterator

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.specter import guesses
from integrations_dagster.sandbox.specter.wire import Refusal

ZERO = Decimal(0)
ARTICLE_FIELDS = ("name", "barCode", "buyPrice", "stockPrice", "vatPercent", "priceExclVat", "productWeight",
                  "productVolume", "supplierNo", "supplierName", "supplierBuyPrice", "supplierArticleNo",
                  "manufacturingCountryCode")
DECIMAL_ARTICLE_FIELDS = ("buyPrice", "stockPrice", "priceExclVat", "productWeight", "productVolume",
                          "supplierBuyPrice")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fold(article_no: str) -> str:
    return article_no.upper() if guesses.ARTICLE_NO_CASE_INSENSITIVE else article_no


def check_article_no(article_no: str, row: int) -> None:
    """[partner: Abicart] no spaces, commas, å ä ö & % ¤ # €; the rest of the rule is guesses."""
    bad = (not article_no or len(article_no) > guesses.ARTICLE_NO_MAX_LEN
           or any(ch in guesses.ARTICLE_NO_FORBIDDEN or ord(ch) < 32 for ch in article_no))
    if bad:
        raise Refusal(guesses.ERR_ARTICLE_NO, row=row, articleNo=article_no)


def check_vat(value: Decimal, row: int) -> str:
    """guesses.VAT_PERCENTS; the percent as Specter keeps it ("25", "12", "6", "0")."""
    text = str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")
    if text not in guesses.VAT_PERCENTS:
        raise Refusal(guesses.ERR_VAT, row=row, value=format(value, "f"))
    return text


def order_totals(rows: list[dict[str, Any]]) -> dict[str, str]:
    """guesses.TOTAL_ROUNDING: exact sums, rounded once to öre."""
    exact_excl = sum((Decimal(r["priceExclVat"]) * Decimal(r["noOfItems"]) for r in rows), ZERO)
    exact_incl = sum((Decimal(r["priceExclVat"]) * Decimal(r["noOfItems"]) * (1 + Decimal(r["vatPercent"]) / 100)
                      for r in rows), ZERO)
    step = Decimal(1).scaleb(-guesses.TOTAL_DECIMALS)
    excl = exact_excl.quantize(step, guesses.TOTAL_ROUNDING)
    incl = exact_incl.quantize(step, guesses.TOTAL_ROUNDING)
    return {"totalExclVat": str(excl), "totalVat": str(incl - excl), "totalInclVat": str(incl)}


class Erp:
    """The books of one Specter account (sbmId)."""

    def __init__(self, store: DocumentStore, feeds: Any, callbacks: Any) -> None:
        self.store, self.feeds, self.callbacks = store, feeds, callbacks
        self._pending_events: list[tuple[str, dict[str, str]]] | None = None

    # --- transactions ---------------------------------------------------------------------------
    @contextmanager
    def unit(self) -> Iterator["Erp"]:
        """One operation: a transaction; its callbacks are sent after it committed (none if it failed)."""
        with self.store.lock:
            outer = self._pending_events is None
            if not outer:  # nested: part of the enclosing unit
                yield self
                return
            self._pending_events = []
            try:
                with self.store.transaction():
                    yield self
                events = self._pending_events
            finally:
                self._pending_events = None
        for name, values in events:
            self.callbacks.fire(name, values)

    def event(self, name: str, **values: str) -> None:
        if self._pending_events is None:
            self.callbacks.fire(name, values)
        else:
            self._pending_events.append((name, values))

    # --- articles -------------------------------------------------------------------------------
    def article(self, article_no: str) -> dict | None:
        found = self.store.find("articles", key=fold(article_no), limit=1)
        return found[0] if found else None

    def articles(self) -> list[dict]:
        return self.store.find("articles")

    def save_article(self, values: dict[str, Any], *, create_stock: bool, stock: Decimal | None,
                     source: str = "api") -> tuple[dict, bool]:
        """Create or update one article from ``values`` (already validated); (article, created)."""
        current = self.article(values["articleNo"])
        created = current is None
        doc = dict(current or {"articleNo": values["articleNo"], "stockKept": False, "stock": {}, "reserved": {},
                               "created": now()})
        for name in ARTICLE_FIELDS:
            if name in values and values[name] is not None:
                doc[name] = str(values[name])
        doc["modified"] = now()
        stock_changed = False
        if create_stock and (created or not doc["stockKept"] or not guesses.INITIAL_STOCK_ONLY):
            doc["stockKept"] = True
            doc.setdefault("stock", {})[str(guesses.DEFAULT_STOCK_SITE)] = str(stock if stock is not None else ZERO)
            stock_changed = True
        if created:
            next_id = self.store.next_id("articles")
            doc["specterId"] = guesses.ARTICLE_ID_START + next_id - 1
            self.store.insert("articles", doc, key=fold(doc["articleNo"]), modified=doc["modified"])
            doc = self.article(doc["articleNo"]) or doc
        else:
            self.store.put("articles", doc["id"], doc, key=fold(doc["articleNo"]), modified=doc["modified"])
        if source != "api" or guesses.API_WRITES_ENTER_FEEDS:
            self.feeds.mark("articles", fold(doc["articleNo"]))
            self.event("actionArticleChange")
            if stock_changed:
                self.feeds.mark("stock", fold(doc["articleNo"]))
                self.event("actionStockChange")
        return doc, created

    def change_article(self, article_no: str, values: dict[str, Any]) -> dict:
        """An ERP user edits an article (name, price …): flagged for getArticleInfoExternalNeedUpdate."""
        doc = self.article(article_no)
        if doc is None:
            raise KeyError(article_no)
        for name in ARTICLE_FIELDS:
            if name in values and values[name] is not None:
                doc[name] = str(values[name])
        doc["modified"] = now()
        self.store.put("articles", doc["id"], doc, key=fold(doc["articleNo"]), modified=doc["modified"])
        self.feeds.mark("articles", fold(doc["articleNo"]))
        self.event("actionArticleChange")
        return doc

    # --- stock ----------------------------------------------------------------------------------
    @staticmethod
    def available(doc: dict, site: int) -> Decimal:
        key = str(site)
        return Decimal(doc.get("stock", {}).get(key, "0")) - Decimal(doc.get("reserved", {}).get(key, "0"))

    def _put_stock(self, doc: dict) -> None:
        doc["modified"] = now()
        self.store.put("articles", doc["id"], doc, key=fold(doc["articleNo"]), modified=doc["modified"])
        self.feeds.mark("stock", fold(doc["articleNo"]))

    def set_stock(self, article_no: str, site: int, *, quantity: Decimal | None = None,
                  delta: Decimal | None = None) -> dict:
        """An ERP user counts or adjusts the physical stock of an article at a stock site."""
        doc = self.article(article_no)
        if doc is None:
            raise KeyError(article_no)
        key = str(site)
        current = Decimal(doc.get("stock", {}).get(key, "0"))
        new = quantity if quantity is not None else current + (delta or ZERO)
        doc.setdefault("stock", {})[key] = str(new)
        doc["stockKept"] = True
        self._put_stock(doc)
        self.event("actionStockChange")
        return doc

    def _move(self, rows: list[dict], site: int, *, reserve: Decimal, take: Decimal) -> bool:
        """Reserve (+1)/release (-1) and/or take out of stock (+1) the stock rows of an order."""
        changed = False
        for row in rows:
            if not row.get("stockArticle"):
                continue
            doc = self.article(row["articleNo"])
            if doc is None or not doc.get("stockKept"):
                continue
            qty, key = Decimal(row["noOfItems"]), str(site)
            doc.setdefault("reserved", {})[key] = str(Decimal(doc["reserved"].get(key, "0")) + reserve * qty)
            doc.setdefault("stock", {})[key] = str(Decimal(doc["stock"].get(key, "0")) - take * qty)
            self._put_stock(doc)
            changed = True
        return changed

    # --- customers ------------------------------------------------------------------------------
    def customer(self, customer_id: str) -> dict | None:
        found = self.store.find("customers", key=str(customer_id).strip(), limit=1)
        return found[0] if found else None

    def match_customer(self, email: str, org_no: str, *, use_email: bool, use_org_no: bool) -> dict | None:
        """[partner: Abicart] match on e-mail or person/org number; order and normalisation are guesses."""
        def norm_org(value: str) -> str:
            return value.replace("-", "").replace(" ", "")
        customers = self.store.find("customers")
        if use_email and email:
            for doc in customers:
                if (doc.get("emailAddress") or "").lower() == email.lower():
                    return doc
        if use_org_no and org_no:
            for doc in customers:
                if doc.get("orgNo") and norm_org(doc["orgNo"]) == norm_org(org_no):
                    return doc
        return None

    def save_customer(self, values: dict[str, str], current: dict | None) -> dict:
        if current is None:
            next_id = self.store.next_id("customers")
            doc = {**values, "customerId": guesses.CUSTOMER_ID_START + next_id - 1, "created": now(),
                   "modified": now()}
            self.store.insert("customers", doc, key=str(doc["customerId"]), modified=doc["modified"])
            return self.customer(str(doc["customerId"])) or doc
        doc = {**current, **values, "modified": now()}
        self.store.put("customers", current["id"], doc, key=str(doc["customerId"]), modified=doc["modified"])
        return doc

    # --- orders ---------------------------------------------------------------------------------
    def order(self, order_no: str) -> dict | None:
        found = self.store.find("orders", key=str(order_no).strip(), limit=1)
        return found[0] if found else None

    def order_by_external_no(self, external_no: str) -> dict | None:
        found = self.store.find("external_order_nos", key=external_no, limit=1)
        return self.order(str(found[0]["orderNo"])) if found else None

    def create_order(self, doc: dict[str, Any]) -> dict:
        next_id = self.store.next_id("orders")
        order_no = guesses.ORDER_NO_START + next_id - 1
        doc = {**doc, "orderNo": order_no, "created": now(), "modified": now(),
               "status": {"statusId": guesses.STATUS_IDS["registered"],
                          "deliveryStatus": guesses.DELIVERY_STATUS["none"], "delivered": False, "invoiced": False, "paid": False, "cancelled": False},
               "deliveries": [], "invoices": [], **order_totals(doc["rows"])}
        self.store.insert("orders", doc, key=str(order_no), modified=doc["modified"])
        if doc.get("externalOrderNo"):
            self.store.insert("external_order_nos", {"orderNo": order_no}, key=doc["externalOrderNo"])
        if guesses.ORDER_RESERVES_STOCK and self._move(doc["rows"], doc["stockSiteId"], reserve=Decimal(1), take=ZERO):
            self.event("actionStockChange")
        if guesses.NEW_ORDERS_IN_ORDER_FEED:
            self.feeds.mark("orders", str(order_no))
        return self.order(str(order_no)) or doc

    def _put_order(self, doc: dict) -> None:
        """Store a changed order; its statusId is the last step it reached (guesses.STATUS_IDS)."""
        doc["modified"] = now()
        status = doc["status"]
        reached = [step for step in ("delivered", "invoiced", "paid", "cancelled") if status.get(step)]
        status["statusId"] = guesses.STATUS_IDS[reached[-1] if reached else "registered"]
        self.store.put("orders", doc["id"], doc, key=str(doc["orderNo"]), modified=doc["modified"])
        self.feeds.mark("orders", str(doc["orderNo"]))

    def _number(self, collection: str, start: int, doc: dict) -> int:
        """The next number of a series (deliveries, invoices), recorded in its own collection."""
        number = start + self.store.next_id(collection) - 1
        self.store.insert(collection, {**doc, "number": number}, key=str(number))
        return number

    def deliver(self, order_no: str, tracking_no: str, delivery_date: str) -> dict:
        doc = self._open_order(order_no)
        if doc["status"]["delivered"]:
            raise ValueError(f"order {order_no} is already delivered")
        number = self._number("deliveries", guesses.DELIVERY_NO_START, {"orderNo": doc["orderNo"]})
        doc["deliveries"].append({"deliveryId": number, "trackingNo": tracking_no, "deliveryDate": delivery_date})
        doc["status"]["delivered"] = True
        doc["status"]["deliveryStatus"] = guesses.DELIVERY_STATUS["delivered"]
        if guesses.ORDER_RESERVES_STOCK and self._move(doc["rows"], doc["stockSiteId"], reserve=Decimal(-1),
                                                        take=Decimal(1)):
            self.event("actionStockChange")
        self._put_order(doc)
        self.event("actionOrderChange", orderNo=str(doc["orderNo"]))
        return doc

    def invoice(self, order_no: str, invoice_date: str) -> dict:
        doc = self._open_order(order_no)
        if doc["status"].get("invoiced"):
            raise ValueError(f"order {order_no} is already invoiced")
        invoice_no = self._number("invoices", guesses.INVOICE_NO_START, {"orderNo": doc["orderNo"]})
        doc["invoices"].append({"invoiceId": invoice_no, "invoiceDate": invoice_date})
        doc["status"]["invoiced"] = True
        self._put_order(doc)
        self.event("actionNewInvoice", orderId=str(doc["orderNo"]), invoiceId=str(invoice_no),
                   invoiceSource=guesses.INVOICE_SOURCE)
        return doc

    def pay(self, order_no: str) -> dict:
        doc = self._open_order(order_no)
        if not doc["status"].get("invoiced"):
            raise ValueError(f"order {order_no} has no invoice to pay")
        if doc["status"].get("paid"):
            raise ValueError(f"order {order_no} is already paid")
        doc["status"]["paid"] = True
        self._put_order(doc)
        self.event("actionOrderChange", orderNo=str(doc["orderNo"]))
        return doc

    def cancel(self, order_no: str) -> dict:
        doc = self._open_order(order_no)
        if doc["status"]["delivered"] and not guesses.CANCEL_AFTER_DELIVERY:
            raise ValueError(f"order {order_no} is delivered and cannot be cancelled")
        doc["status"]["cancelled"] = True
        if guesses.ORDER_RESERVES_STOCK and not doc["status"]["delivered"] and \
                self._move(doc["rows"], doc["stockSiteId"], reserve=Decimal(-1), take=ZERO):
            self.event("actionStockChange")
        self._put_order(doc)
        self.event("actionRemoveOrder", orderNo=str(doc["orderNo"]))
        return doc

    def _open_order(self, order_no: str) -> dict:
        doc = self.order(order_no)
        if doc is None:
            raise KeyError(order_no)
        if doc["status"].get("cancelled"):
            raise ValueError(f"order {order_no} is cancelled")
        return doc
