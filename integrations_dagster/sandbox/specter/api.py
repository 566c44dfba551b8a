"""The two pages of Specter's web-shop API and their actions.

``getInfo.asp?Action=<action>`` — the change feeds, their acknowledgements, ``clearArticleBatch`` and
``checkAccountSettings``; ``putInfo.asp?action=<action>`` — ``newArticleSubmit``, ``newCustomerSubmit``,
``newOrderSubmit`` [3p: PrestaShop module (GET for getInfo, POST form for putInfo); Laravel app (putInfo
as GET, every parameter in the query)]. Action names are matched ignoring case [3p: "Action=" /
"action="; the v2.45 change log writes them all lower case]. Actions seen in integrator code but not
emulated (answered "unknown action"): ``newDeliverySubmit``, ``newInvoiceSubmit``, ``getPDFLink``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.specter import guesses
from integrations_dagster.sandbox.specter.auth import Account, customer_key_subject
from integrations_dagster.sandbox.specter.erp import Erp, check_article_no, check_vat, fold
from integrations_dagster.sandbox.specter.feeds import ACK_ACTIONS, READ_ACTIONS
from integrations_dagster.sandbox.specter.wire import (Params, Refusal, fmt_decimal, fmt_quantity, ok, parse_number,
                                                       refusal_response, sub, text_answer, text_fields, wants_xml,
                                                       xml_answer, xml_root)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
STOCK_SITES = dict(guesses.STOCK_SITES)
WEBSHOPS = dict(guesses.WEBSHOPS)
# newArticleSubmit row fields [3p: PrestaShop SpecterProductHandler::SendProducts / SendProductAttributesToSpecter]
ARTICLE_NUMBERS = {"buyPrice": "buyPrice", "stockPrice": "stockPrice", "priceExclVAT": "priceExclVat",
                   "productWeight": "productWeight", "productVolume": "productVolume",
                   "supplierBuyPrice": "supplierBuyPrice"}
ARTICLE_TEXTS = ("name", "barCode", "supplierNo", "supplierName", "supplierArticleNo", "manufacturingCountryCode")
# newCustomerSubmit fields [3p: PrestaShop SpecterCustomerHelper::buildCustomerData]
CUSTOMER_FIELDS = ("currency", "language", "firstName", "surName", "contactPerson", "name", "attention",
                   "deliveryAttention", "customerGroupId", "customerOrganizationalForm", "orgNo", "homepage",
                   "invoiceCompanyName", "address", "addressRow2", "zipCodeEng", "city", "countryCode", "region",
                   "deliveryCompanyName", "deliveryAddress", "deliveryAddressRow2", "deliveryZipCodeEng",
                   "deliveryCity", "deliveryCountryCode", "deliveryregion", "emailAddress", "phoneNo", "vatNo",
                   "mobileNo")
# newOrderSubmit header fields [3p: PrestaShop SpecterOrderHelper::buildOrderData; Laravel app]
ORDER_FIELDS = ("externalOrderNo", "currency", "language", "payTypeIdentifier", "payTypeReference",
                "payTypeIdentifierPaySystemUser", "internalComment", "publishedComment", "customerOrderReference",
                "sendOrderMail", "sendOrderMailToUser", "userSource", "preparedShipmentId", "externalDeliveryMethod",
                "isPrepayment", "deliveryDate")


class Api:
    def __init__(self, account: Account, erp: Erp) -> None:
        self.account, self.erp = account, erp
        self.actions: dict[str, dict[str, Callable[[Params], Response]]] = {
            "getinfo.asp": {
                **{name: self._reader(feed) for name, feed in READ_ACTIONS.items()},
                **{name: self._acknowledger(feed) for name, feed in ACK_ACTIONS.items()},
                "cleararticlebatch": self.clear_article_batch,
                "checkaccountsettings": self.check_account_settings,
            },
            "putinfo.asp": {
                "newarticlesubmit": self.new_article_submit,
                "newcustomersubmit": self.new_customer_submit,
                "newordersubmit": self.new_order_submit,
            },
        }

    # --- HTTP ---------------------------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        name = request.path_params["page"]
        page = name.lower() if guesses.PAGE_NAMES_CASE_INSENSITIVE else name
        if page not in self.actions:
            return HTMLResponse("<h2>404 - File or directory not found.</h2>", status_code=404)  # IIS (guess)
        body = b""
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and ("x-www-form-urlencoded" in content_type or not content_type):
            body = await request.body()
        params = Params(request.scope.get("query_string", b""), body)
        handler = self.actions[page].get(params.text("action").lower())
        try:
            if handler is None:
                raise Refusal(guesses.ERR_ACTION)
            return handler(params)
        except Refusal as refusal:
            return refusal_response(params, refusal)

    def routes(self) -> list[Route]:
        return [Route("/{page}", self.page, methods=["GET", "POST"])]

    # --- change feeds -------------------------------------------------------------------------------
    def _batch_no(self, params: Params) -> str:
        batch_no = params.text("batchNo")
        if not batch_no:
            raise Refusal(guesses.ERR_MISSING, name="batchNo")
        if len(batch_no) > guesses.BATCH_NO_MAX_LEN:
            raise Refusal(guesses.ERR_BATCH_NO)
        return batch_no

    def _reader(self, feed: str) -> Callable[[Params], Response]:
        def read(params: Params) -> Response:
            batch_no = self._batch_no(params)
            self.account.verify(params, batch_no)
            with self.erp.unit():
                batch = self.erp.feeds.read(feed, batch_no, getattr(self, f"_snapshot_{feed}"))
            return getattr(self, f"_render_{feed}")(params, batch)
        return read

    def _acknowledger(self, feed: str) -> Callable[[Params], Response]:
        def acknowledge(params: Params) -> Response:
            batch_no = self._batch_no(params)
            self.account.verify(params, batch_no)
            with self.erp.unit():
                self.erp.feeds.acknowledge(feed, batch_no)
            return ok(params, batch_no, guesses.ACK_OK_MESSAGE)
        return acknowledge

    def _snapshot_stock(self, ref: str) -> dict | None:
        doc = self.erp.article(ref)
        if doc is None:
            return None
        def quantity(site: int) -> Decimal:
            if guesses.STOCK_REPORTS_AVAILABLE:
                return Erp.available(doc, site)
            return Decimal(doc.get("stock", {}).get(str(site), "0"))
        return {"specterId": doc["specterId"], "articleNo": doc["articleNo"],
                "sites": {str(site): str(quantity(site)) for site in STOCK_SITES}}

    def _snapshot_articles(self, ref: str) -> dict | None:
        doc = self.erp.article(ref)
        if doc is None:
            return None
        return {k: doc.get(k) for k in ("specterId", "articleNo", "name", "buyPrice", "priceExclVat", "barCode",
                                        "productWeight", "vatPercent")}

    def _snapshot_orders(self, ref: str) -> dict | None:
        doc = self.erp.order(ref)
        if doc is None:
            return None
        return {"orderNo": doc["orderNo"], "externalOrderNo": doc.get("externalOrderNo") or "",
                "webshopId": doc.get("webshopId"), "totalInclVat": doc["totalInclVat"],
                "statusId": doc["status"]["statusId"], "deliveryStatus": doc["status"]["deliveryStatus"],
                "invoiced": doc["status"]["invoiced"], "paid": doc["status"]["paid"],
                "deliveries": list(doc["deliveries"]), "invoices": list(doc["invoices"])}

    @staticmethod
    def _quantity_text(available: Decimal) -> str:
        return guesses.NO_ITEMS_LITERAL if available <= 0 else fmt_quantity(available)

    def _render_stock(self, params: Params, batch: dict[str, Any]) -> Response:
        """Text ``specterId;articleNo;quantity;batchId`` per line [3p: PrestaShop StockSync], or XML
        ``stockChanges/stock/articles/article{articleNo,noItemsAv}`` [3p: StockSyncMultiStock]."""
        default = str(guesses.DEFAULT_STOCK_SITE)
        if not wants_xml(params):
            return text_answer([text_fields(row["specterId"], row["articleNo"],
                                            self._quantity_text(Decimal(row["sites"][default])),
                                            batch["batchNo"] if guesses.STOCK_LINE_BATCH_FIELD == "batchNo" else "")
                                for row in batch["rows"]])
        sites = [str(s) for s in STOCK_SITES] if params.flag("getMultipleStocksites") else [default]
        root = xml_root()
        changes = sub(root, "stockChanges")
        if batch["rows"]:
            for site in sites:
                stock = sub(changes, "stock", stockSiteId=site, stockSiteName=STOCK_SITES[int(site)])
                articles = sub(stock, "articles")
                for row in batch["rows"]:
                    article = sub(articles, "article")
                    sub(article, "articleNo", row["articleNo"])
                    sub(article, "noItemsAv", self._quantity_text(Decimal(row["sites"][site])))
        self._more(root, batch, "moreInfoToFetch", "1")
        return xml_answer(root)

    def _render_articles(self, params: Params, batch: dict[str, Any]) -> Response:
        """``articles/article`` with children articleNo, name and attributes buyPrice, priceExclVat,
        barCode, productWeight [3p: PrestaShop ProcessProductChanges]; vatPercent is a guess."""
        root = xml_root()
        articles = sub(root, "articles")
        for row in batch["rows"]:
            article = sub(articles, "article", buyPrice=fmt_decimal(row.get("buyPrice"), guesses.PRICE_DECIMALS),
                          priceExclVat=fmt_decimal(row.get("priceExclVat"), guesses.PRICE_DECIMALS),
                          barCode=row.get("barCode") or "",
                          productWeight=fmt_decimal(row.get("productWeight"), guesses.WEIGHT_DECIMALS),
                          vatPercent=row.get("vatPercent") or "")
            sub(article, "articleNo", row["articleNo"])
            sub(article, "name", row.get("name") or "")
        self._more(root, batch, "responseMaxLimit", str(self.erp.feeds.limits.caps["articles"]))
        return xml_answer(root)

    def _render_orders(self, params: Params, batch: dict[str, Any]) -> Response:
        """``orders/order@orderNo`` › ``orderstatus@deliveryStatus,@statusId``, ``deliveries@updated`` ›
        ``delivery@trackingNo`` [3p: PrestaShop spectercron UpdateOrderData]; the rest is guessed."""
        root = xml_root()
        orders = sub(root, "orders")
        for row in batch["rows"]:
            order = sub(orders, "order", orderNo=row["orderNo"], externalOrderNo=row["externalOrderNo"],
                        webshopId=row["webshopId"] or "",
                        totalInclVat=fmt_decimal(row["totalInclVat"], guesses.TOTAL_DECIMALS))
            sub(order, "orderstatus", deliveryStatus=row["deliveryStatus"], statusId=row["statusId"],
                invoiced=int(row["invoiced"]), paid=int(row["paid"]))
            deliveries = sub(order, "deliveries", updated="1" if row["deliveries"] else "0")
            for delivery in row["deliveries"]:
                sub(deliveries, "delivery", deliveryId=delivery["deliveryId"], trackingNo=delivery["trackingNo"],
                    deliveryDate=delivery["deliveryDate"])
            invoices = sub(order, "invoices")
            for invoice in row["invoices"]:
                sub(invoices, "invoice", invoiceId=invoice["invoiceId"], invoiceDate=invoice["invoiceDate"])
        self._more(root, batch, "moreInfoToFetch", "1")
        return xml_answer(root)

    @staticmethod
    def _more(root: ET.Element, batch: dict[str, Any], tag: str, value: str) -> None:
        if batch["more"] or not guesses.CAP_MARKER_ONLY_WHEN_MORE:
            sub(root, tag, value)

    # --- account ------------------------------------------------------------------------------------
    def clear_article_batch(self, params: Params) -> Response:
        """``clearArticleBatch&clearSelf=1`` [3p: PrestaShop resyncStockFromSBM, change log 6.4.1 "support to
        reset stocksync"]; GUESS: drops the pending stock batch and flags every stock article again."""
        batch_no = self._batch_no(params)
        self.account.verify(params, batch_no)
        with self.erp.unit():
            refs = [fold(doc["articleNo"]) for doc in self.erp.articles() if doc.get("stockKept")]
            self.erp.feeds.clear("stock", refs)
        return ok(params, batch_no, guesses.ACK_OK_MESSAGE)

    def check_account_settings(self, params: Params) -> Response:
        """[doc: change log "checkaccountsettings"; 3p: PrestaShop registers its callback URLs with it]."""
        when = params.require("date")
        self.account.verify(params, when)
        try:
            day = date.fromisoformat(when)
        except ValueError:
            raise Refusal(guesses.ERR_KEY) from None
        today = datetime.now(STOCKHOLM).date()
        if abs(day - today) > timedelta(days=guesses.ACCOUNT_DATE_TOLERANCE_DAYS):
            raise Refusal(guesses.ERR_KEY)
        given = {name: params.text(name) for name in guesses.CALLBACK_NAMES if params.get(name) is not None}
        if given:
            with self.erp.unit():
                self.erp.callbacks.register(given)
        return ok(params, self.account.sbm_id, guesses.ACCOUNT_NAME)

    # --- writes -------------------------------------------------------------------------------------
    def new_article_submit(self, params: Params) -> Response:
        """Rows ``_1 … _n`` [3p: PrestaShop sends up to 100 per call]; key subject ``articleNo_1``."""
        first = params.require("articleNo_1")
        self.account.verify(params, first)
        force = params.flag("forceArticleUpdate")
        first_id, count = None, 0
        with self.erp.unit():
            row = 1
            while params.get(f"articleNo_{row}") is not None:
                doc = self._submit_article(params, row, force)
                first_id = doc["specterId"] if first_id is None else first_id
                count += 1
                row += 1
        return ok(params, first_id, guesses.ARTICLE_OK_MESSAGE.format(count=count))

    def _submit_article(self, params: Params, row: int, force: bool) -> dict:
        article_no = params.text(f"articleNo_{row}")
        check_article_no(article_no, row)
        existing = self.erp.article(article_no)
        if existing is not None and not force:
            raise Refusal(guesses.ERR_ARTICLE_EXISTS, articleNo=article_no)
        values: dict[str, Any] = {"articleNo": existing["articleNo"] if existing else article_no}
        for name in ARTICLE_TEXTS:
            if params.get(f"{name}_{row}") is not None:
                values[name] = params.text(f"{name}_{row}")
        for name, stored in ARTICLE_NUMBERS.items():
            if params.has(f"{name}_{row}"):
                values[stored] = str(parse_number(params.text(f"{name}_{row}"), f"{name}_{row}"))
        if params.has(f"vatPercent_{row}"):
            values["vatPercent"] = check_vat(parse_number(params.text(f"vatPercent_{row}"), f"vatPercent_{row}"), row)
        if existing is None and not values.get("name"):
            raise Refusal(guesses.ERR_ARTICLE_FIELD, row=row, name=f"name_{row}")
        stock = None
        if params.has(f"noItemsInStock_{row}"):
            stock = parse_number(params.text(f"noItemsInStock_{row}"), f"noItemsInStock_{row}")
        doc, _ = self.erp.save_article(values, create_stock=params.flag(f"createArticleStock_{row}"), stock=stock)
        return doc

    def new_customer_submit(self, params: Params) -> Response:
        """Key subject: the customer's name (guesses.CUSTOMER_KEY_NAME); match on e-mail or org/person
        number [partner: Abicart] unless switched off (guesses.IGNORE_*); ``forceCustomerUpdate=1`` updates
        [3p: PrestaShop]; answers ``1;<customerId>;…`` [3p: PrestaShop SpecterCustomerHandler]."""
        subject = customer_key_subject(params)
        if not subject:
            raise Refusal(guesses.ERR_CUSTOMER_FIELD, name="name")
        self.account.verify(params, subject)
        values = {name: params.text(name) for name in CUSTOMER_FIELDS if params.get(name) is not None}
        for name in guesses.CUSTOMER_REQUIRED:
            if not values.get(name):
                raise Refusal(guesses.ERR_CUSTOMER_FIELD, name=name)
        for name, limit in guesses.CUSTOMER_MAX_LEN.items():
            if len(values.get(name, "")) > limit:
                raise Refusal(guesses.ERR_CUSTOMER_FIELD, name=name)
        form = values.get("customerOrganizationalForm") or ("C" if values.get("name") else "P")
        if form not in ("C", "P"):  # [3p: PrestaShop 'C' company / 'P' person; core-suite max length 1]
            raise Refusal(guesses.ERR_CUSTOMER_FIELD, name="customerOrganizationalForm")
        values["customerOrganizationalForm"] = form
        with self.erp.unit():
            match = self.erp.match_customer(values.get("emailAddress", ""), values.get("orgNo", ""),
                                            use_email=not params.flag(guesses.IGNORE_EMAIL_PARAM),
                                            use_org_no=not params.flag(guesses.IGNORE_ORGNO_PARAM))
            if match is not None and not params.flag("forceCustomerUpdate") \
                    and guesses.MATCH_WITHOUT_FORCE_RETURNS_EXISTING:
                return ok(params, match["customerId"], guesses.CUSTOMER_OK_MESSAGES["matched"])
            doc = self.erp.save_customer(values, match)
        outcome = "created" if match is None else "updated"
        return ok(params, doc["customerId"], guesses.CUSTOMER_OK_MESSAGES[outcome])

    def new_order_submit(self, params: Params) -> Response:
        """Key subject ``customerId`` (v1 / v2 [3p]); ``webshopId`` (multishop) needs v2 [partner: Vendre];
        answers ``1;<orderNo>;…`` [3p: PrestaShop SpecterOrderHandler::sendOrderToSBM]."""
        customer_id = params.require("customerId")
        version = self.account.verify(params, customer_id, v2_evidenced=True)
        webshop = params.text("webshopId")
        webshop_id = None
        if webshop:
            if version != 2:
                raise Refusal(guesses.ERR_MULTISHOP_V2)
            if not webshop.isdigit() or int(webshop) not in WEBSHOPS:
                raise Refusal(guesses.ERR_WEBSHOP_UNKNOWN, webshopId=webshop)
            webshop_id = int(webshop)
        site_text = params.text("stocksiteid")
        if site_text and (not site_text.isdigit() or int(site_text) not in STOCK_SITES):
            raise Refusal(guesses.ERR_STOCKSITE_UNKNOWN, stockSiteId=site_text)
        site = int(site_text) if site_text else guesses.DEFAULT_STOCK_SITE
        with self.erp.unit():
            customer = self.erp.customer(customer_id)
            if customer is None:
                raise Refusal(guesses.ERR_CUSTOMER_UNKNOWN, customerId=customer_id)
            external = params.text("externalOrderNo")
            if external and guesses.EXTERNAL_ORDER_NO_CONTROL and not params.flag("ignoreExternalOrderNoControl"):
                existing = self.erp.order_by_external_no(external)
                if existing is not None:
                    raise Refusal(guesses.ERR_EXTERNAL_ORDER_NO, externalOrderNo=external, orderNo=existing["orderNo"])
            rows = self._order_rows(params, site)
            header = {name: params.text(name) for name in ORDER_FIELDS if params.get(name) is not None}
            doc = self.erp.create_order({**header, "customerId": customer["customerId"], "webshopId": webshop_id,
                                         "stockSiteId": site, "apiVersion": version, "rows": rows})
        return ok(params, doc["orderNo"], fmt_decimal(doc["totalInclVat"], guesses.TOTAL_DECIMALS))

    def _order_rows(self, params: Params, site: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        n = 1
        while any(params.get(f"{p}_{n}") is not None for p in ("articleNo", "articleName", "priceExclVAT")):
            article_no = params.text(f"articleNo_{n}")
            if not article_no and not guesses.EMPTY_ARTICLE_NO_IS_TEXT_ROW:
                raise Refusal(guesses.ERR_ROW, row=n, name=f"articleNo_{n}")
            article = self.erp.article(article_no) if article_no else None
            if article_no and article is None and guesses.UNKNOWN_ARTICLE_REFUSED:
                raise Refusal(guesses.ERR_ARTICLE_UNKNOWN, row=n, articleNo=article_no)
            name = params.text(f"articleName_{n}") or (article or {}).get("name", "")
            if not article_no and not name:
                raise Refusal(guesses.ERR_ROW, row=n, name=f"articleName_{n}")
            if not params.has(f"noOfItems_{n}"):
                raise Refusal(guesses.ERR_ROW, row=n, name=f"noOfItems_{n}")
            quantity = parse_number(params.text(f"noOfItems_{n}"), f"noOfItems_{n}")
            if params.has(f"priceExclVAT_{n}"):
                price = parse_number(params.text(f"priceExclVAT_{n}"), f"priceExclVAT_{n}")
            elif article is not None and guesses.ROW_DEFAULTS_FROM_ARTICLE and article.get("priceExclVat"):
                price = Decimal(article["priceExclVat"])
            else:
                raise Refusal(guesses.ERR_ROW, row=n, name=f"priceExclVAT_{n}")
            if params.has(f"vatPercent_{n}"):
                vat = check_vat(parse_number(params.text(f"vatPercent_{n}"), f"vatPercent_{n}"), n)
            elif article is not None and guesses.ROW_DEFAULTS_FROM_ARTICLE and article.get("vatPercent"):
                vat = article["vatPercent"]
            else:
                raise Refusal(guesses.ERR_ROW, row=n, name=f"vatPercent_{n}")
            rows.append({"row": n, "articleNo": article["articleNo"] if article else "", "articleName": name,
                         "articleComment": params.text(f"articleComment_{n}"), "priceExclVat": str(price),
                         "noOfItems": str(quantity), "vatPercent": vat,
                         "stockArticle": bool(article and article.get("stockKept"))})
            n += 1
        if not rows:
            raise Refusal(guesses.ERR_ROW, row=1, name="articleNo_1")
        if not guesses.ALLOW_OVERSELL:
            wanted: dict[str, Decimal] = {}
            for row in rows:
                if row["stockArticle"]:
                    wanted[row["articleNo"]] = wanted.get(row["articleNo"], Decimal(0)) + Decimal(row["noOfItems"])
            for article_no, quantity in wanted.items():
                if Erp.available(self.erp.article(article_no) or {}, site) < quantity:
                    raise Refusal(guesses.ERR_ROW, row=next(r["row"] for r in rows if r["articleNo"] == article_no),
                                  name="noOfItems")
        return rows
