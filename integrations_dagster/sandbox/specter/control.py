"""What a Specter user does in the ERP, as control routes (test instruments) under ``/__sandbox__/specter``.

Each lands in the feed a web shop reads it from, and calls the registered callback URL
(:mod:`.callbacks`), as Specter would [partner: seed 002 — order status changes in Specter (Levererad,
Fakturerad, Betald, Makulerad) are caught and sent on to the web shop; Specter "styr" stock and price
in flows #2 and #3]:

* ``POST /stock`` ``{"articleNo", "quantity" | "delta", "stockSiteId"?}`` — count / adjust physical stock
  → stock feed, ``actionStockChange``;
* ``POST /articles/{articleNo}`` ``{"name"?, "priceExclVat"?, "buyPrice"?, "barCode"?, "productWeight"?,
  "vatPercent"?, "stock"?}`` — change an article, or create it (one article per variant) → article-info feed,
  ``actionArticleChange`` (and the stock feed when created with ``stock``); ``GET`` shows it;
* ``POST /orders/{orderNo}/deliver`` ``{"trackingNo"?, "deliveryDate"?}``, ``/invoice``, ``/pay``,
  ``/cancel`` → orders feed and ``actionOrderChange`` / ``actionNewInvoice`` / ``actionRemoveOrder``;
  ``GET /orders/{orderNo}`` shows the order as stored (rows, totals, status);
* ``GET /customers/{customerId}``;
* ``GET|POST /callbacks`` ``{"actionStockChange": url, …}`` — register URLs, as Specter support does at
  install time (the API way is ``checkAccountSettings``);
* ``GET /feeds`` — pending batch and flagged items per feed; ``POST /limits`` ``{"stock"?, "articles"?,
  "orders"?}`` — lower the feeds' response caps (a reset restores guesses.FEED_CAPS).

Answers are JSON; 404 for an unknown article/order/customer, 409 for a change the order's state does not
allow (guesses.CANCEL_AFTER_DELIVERY etc.), 400 for a refused value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import SANDBOX_PREFIX
from integrations_dagster.sandbox.specter import guesses
from integrations_dagster.sandbox.specter.erp import Erp, check_article_no, check_vat
from integrations_dagster.sandbox.specter.wire import Refusal

PREFIX = f"{SANDBOX_PREFIX}/specter"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _decimal(body: dict, name: str) -> Decimal | None:
    if body.get(name) is None:
        return None
    try:
        return Decimal(str(body[name]))
    except InvalidOperation:
        raise ValueError(f"{name} is not a number") from None


def routes(erp: Erp) -> list[Route]:
    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        data = await request.json()
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    async def stock(request: Request) -> Response:
        try:
            body = await body_of(request)
            article_no = str(body.get("articleNo") or "")
            site = int(body.get("stockSiteId") or guesses.DEFAULT_STOCK_SITE)
            if site not in dict(guesses.STOCK_SITES):
                return _bad(f"unknown stock site {site}")
            quantity, delta = _decimal(body, "quantity"), _decimal(body, "delta")
            if (quantity is None) == (delta is None):
                return _bad("give exactly one of quantity, delta")
            with erp.unit():
                doc = erp.set_stock(article_no, site, quantity=quantity, delta=delta)
        except KeyError:
            return _bad(f"no article {body.get('articleNo')!r}", 404)
        except ValueError as exc:
            return _bad(str(exc))
        return JSONResponse(doc)

    async def article(request: Request) -> Response:
        article_no = request.path_params["article_no"]
        if request.method == "GET":
            doc = erp.article(article_no)
            return JSONResponse(doc) if doc else _bad(f"no article {article_no!r}", 404)
        try:
            body = await body_of(request)
            values: dict[str, Any] = {k: body[k] for k in ("name", "barCode") if body.get(k) is not None}
            for name in ("priceExclVat", "buyPrice", "stockPrice", "productWeight", "productVolume"):
                number = _decimal(body, name)
                if number is not None:
                    values[name] = str(number)
            if body.get("vatPercent") is not None:
                values["vatPercent"] = check_vat(Decimal(str(body["vatPercent"])), 1)
            with erp.unit():
                if erp.article(article_no) is None:
                    check_article_no(article_no, 1)
                    if not values.get("name"):
                        return _bad("a new article needs a name")
                    stock_qty = _decimal(body, "stock")
                    doc, _ = erp.save_article({"articleNo": article_no, **values}, create_stock=stock_qty is not None,
                                              stock=stock_qty, source="erp")
                    return JSONResponse(doc, status_code=201)
                doc = erp.change_article(article_no, values)
        except Refusal as refusal:
            return _bad(refusal.message)
        except (ValueError, InvalidOperation) as exc:
            return _bad(str(exc))
        return JSONResponse(doc)

    async def customer(request: Request) -> Response:
        doc = erp.customer(request.path_params["customer_id"])
        return JSONResponse(doc) if doc else _bad("no such customer", 404)

    async def order(request: Request) -> Response:
        doc = erp.order(request.path_params["order_no"])
        return JSONResponse(doc) if doc else _bad("no such order", 404)

    async def order_action(request: Request) -> Response:
        order_no, what = request.path_params["order_no"], request.path_params["what"]
        today = datetime.now(STOCKHOLM).date().isoformat()
        try:
            body = await body_of(request)
            with erp.unit():
                if what == "deliver":
                    doc = erp.deliver(order_no, str(body.get("trackingNo") or ""),
                                      str(body.get("deliveryDate") or today))
                elif what == "invoice":
                    doc = erp.invoice(order_no, str(body.get("invoiceDate") or today))
                elif what == "pay":
                    doc = erp.pay(order_no)
                elif what == "cancel":
                    doc = erp.cancel(order_no)
                else:
                    return _bad(f"unknown order action {what!r}", 404)
        except KeyError:
            return _bad(f"no order {order_no}", 404)
        except ValueError as exc:
            return _bad(str(exc), 409)
        return JSONResponse(doc)

    async def callbacks(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await body_of(request)
                with erp.unit():
                    erp.callbacks.register({str(k): str(v or "") for k, v in body.items()})
            except ValueError as exc:
                return _bad(str(exc))
        return JSONResponse(erp.callbacks.registered())

    async def feeds(_: Request) -> Response:
        return JSONResponse(erp.feeds.state())

    async def limits(request: Request) -> Response:
        try:
            body = await body_of(request)
            for feed, cap in body.items():
                if feed not in guesses.FEED_CAPS or int(cap) < 1:
                    return _bad(f"bad limit {feed!r}: {cap!r}")
                erp.feeds.limits.caps[feed] = int(cap)
        except ValueError as exc:
            return _bad(str(exc))
        return JSONResponse(erp.feeds.limits.caps)

    return [
        Route(f"{PREFIX}/stock", stock, methods=["POST"]),
        Route(f"{PREFIX}/articles/{{article_no:path}}", article, methods=["GET", "POST"]),
        Route(f"{PREFIX}/customers/{{customer_id}}", customer, methods=["GET"]),
        Route(f"{PREFIX}/orders/{{order_no}}", order, methods=["GET"]),
        Route(f"{PREFIX}/orders/{{order_no}}/{{what}}", order_action, methods=["POST"]),
        Route(f"{PREFIX}/callbacks", callbacks, methods=["GET", "POST"]),
        Route(f"{PREFIX}/feeds", feeds, methods=["GET"]),
        Route(f"{PREFIX}/limits", limits, methods=["POST"]),
    ]
