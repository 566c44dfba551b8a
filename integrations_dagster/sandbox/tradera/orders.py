"""Seller orders and transactions: a buyer's purchase (control route), ``/v4/orders*``, transactions.

* ``GET /v4/orders?fromDate&toDate&queryDateMode`` → ``SellerOrder[]``, no paging [spec
  ``#/paths/~1v4~1orders/get``]; mode 0 created / 1 last updated (guesses.ENUM_ORDER), window inclusive, UTC,
  both dates required (guesses.ORDER_WINDOW). ``GET /v4/orders/{orderIds}`` comma list [spec; 3p: proxy];
  unknown ids are left out (GUESS). ``POST /v4/orders/{orderId}/ship`` → ``{orderId}`` [spec
  ``#/components/schemas/SetSellerOrderAsShippedResponse``]; idempotent, unknown → 400 (guesses.ORDER_RULES).
* ``GET /v4/listings/seller-transactions?minTransactionDate&maxTransactionDate&filter`` (2 New, 4 NewAndUpdated
  [3p: wsdl-ts]) and ``PUT /v4/listings/transaction-status`` → ``Transaction`` [spec
  ``#/components/schemas/Transaction``]; unknown → 400 ``Transction with id N does not exist.`` [rec].
* A purchase makes a paid order [doc: v3 DocPush "for shop items: when the item is paid"]: whole kronor,
  ``subTotal = Σ quantity × unitPrice``, one payment of ``subTotal + shippingCost`` (guesses.MONEY_RULES),
  ``vatRate`` = the item's vat, ``merchantPartNumber`` = a variant's ``sellerPartNo`` (guesses.VARIANT_RULES),
  one transaction per line; the item's stock drops and it gets a new row version (SALE_DECREMENTS_STOCK).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from integrations_dagster.sandbox.tradera import guesses
from integrations_dagster.sandbox.tradera import reference as ref
from integrations_dagster.sandbox.tradera.shop import Shop
from integrations_dagster.sandbox.tradera.views import is_running, seller_user
from integrations_dagster.sandbox.tradera.wire import USER, Api, Refusal, int_value, parse_time, query_int, query_time

# The default buyer of POST /__sandbox__/tradera/buy (sandbox data); a body's "buyer" overrides fields.
DEFAULT_BUYER = {"userId": 555001, "alias": "kopare_anna", "firstName": "Anna", "lastName": "Svensson",
                 "addressLine1": "Storgatan 1", "addressLine2": None, "zipCode": "11122", "city": "Stockholm",
                 "countryName": guesses.COUNTRY_NAME, "email": "anna.svensson@example.se", "phone": "070-1234567"}


class Orders:
    def __init__(self, shop: Shop) -> None:
        self.shop, self.store, self.clock = shop, shop.store, shop.clock

    # --- a purchase ------------------------------------------------------------------------------------
    def buy(self, body: dict[str, Any]) -> dict:
        shop = self.shop
        item = shop.item(body.get("itemId"), "active")
        if item is None:
            raise Refusal(404, shop.no_such_item(body.get("itemId")))
        quantity = int_value(body.get("quantity", 1), "quantity", low=1)
        if not is_running(item, self.clock.now()):
            raise Refusal(409, f"Shop item {item['itemId']} is not for sale now.")
        if quantity > item.get("remainingQuantity", 0):
            raise Refusal(409, f"Only {item.get('remainingQuantity', 0)} left of shop item {item['itemId']}.")
        option = self._shipping(item, body.get("shippingOptionId"))
        payment_id = body.get("paymentOptionId") or next(iter(item.get("paymentOptionIds") or []), None)
        buyer = {**DEFAULT_BUYER, **(body.get("buyer") or {})}
        unit, now = item["price"], self.clock.stamp()
        sub_total = quantity * unit
        shipping_cost = option.get("cost", 0) if option else 0
        with self.store.transaction():
            item["remainingQuantity"] -= quantity
            shop.save_item(item)
            row = self.store.insert("orders", {})
            order_id = row + guesses.ORDER_ID_BASE
            line = {"itemId": item["itemId"], "type": guesses.ITEM_TYPE_SHOP, "title": item.get("title"),
                    "quantity": quantity, "unitPrice": unit, "vatRate": item.get("vat") or 0,
                    "ownReferences": list(item.get("ownReferences") or []),
                    "merchantPartNumber": item.get("sellerPartNo") if item["kind"] == "variant" else None}
            order = {
                "orderId": order_id, "purchaseOrderId": str(uuid.uuid4()), "createdDate": now, "lastUpdatedDate": now,
                "expiresDate": None, "subTotal": sub_total, "shippingCost": shipping_cost,
                "shippingType": ref.shipping_name(option) if option else None,
                "shippingWeight": option.get("shippingWeight") if option else None,
                "seller": shop.profile(), "buyer": buyer,
                "shipTo": {"name": f"{buyer.get('firstName') or ''} {buyer.get('lastName') or ''}".strip(),
                           **{k: buyer.get(k) for k in ("addressLine1", "addressLine2", "zipCode", "city",
                                                        "countryName")}},
                "items": [line],
                "sellerOrderPayments": [{
                    "paymentType": ref.PAYMENT_TYPES.get(payment_id) if payment_id else None,
                    "reference": guesses.PAYMENT_REFERENCE.format(order_id=order_id),
                    "amount": sub_total + shipping_cost, "paymentCost": 0, "paidDate": now, "additionalInfo": []}],
            }
            self.store.put("orders", row, {"id": row, "view": order, "shipped": False})
            trow = self.store.insert("transactions", {})
            self.store.put("transactions", trow, {"id": trow, "orderId": order_id, "view": {
                "id": trow + guesses.TRANSACTION_ID_BASE, "date": now, "lastUpdatedDate": now,
                "amount": quantity * unit, "buyer": seller_user(buyer),
                "item": {"id": item["itemId"], "title": item.get("title"), "type": guesses.ITEM_TYPE_SHOP,
                         "ownReferences": line["ownReferences"]},
                "isMarkedAsPaidConfirmed": False, "isMarkedAsShipped": False, "isShippingBooked": False,
                "isFeedbackLeftByBuyer": False, "isFeedbackLeftBySeller": False}})
        return order

    @staticmethod
    def _shipping(item: dict, wanted: Any) -> dict | None:
        options = item.get("shippingOptions") or []
        if wanted is None:
            return options[0] if options else None
        for option in options:
            if wanted in (option.get("shippingOptionId"), option.get("shippingProductId")):
                return option
        raise Refusal(400, f"Shop item {item['itemId']} has no shipping option {wanted}.")

    # --- reads and writes ------------------------------------------------------------------------------
    def all(self) -> list[dict]:
        return [{**doc["view"], "shipped": doc["shipped"]} for doc in self.store.find("orders") if doc.get("view")]

    def _doc(self, order_id: int) -> dict | None:
        row = order_id - guesses.ORDER_ID_BASE
        doc = self.store.get("orders", row) if row > 0 else None
        return doc if doc and doc.get("view") else None

    def ship(self, order_id: int) -> dict:
        doc = self._doc(order_id)
        if doc is None:
            raise Refusal(400, guesses.NO_SUCH_ORDER.format(order_id=order_id))
        if not doc["shipped"]:  # a second ship changes nothing (guesses.ORDER_RULES)
            now = self.clock.stamp()
            doc["shipped"], doc["view"]["lastUpdatedDate"] = True, now
            self.store.put("orders", order_id - guesses.ORDER_ID_BASE, doc)
            for tdoc in self._transactions(order_id):
                tdoc["view"].update(isMarkedAsShipped=True, lastUpdatedDate=now)
                self.store.put("transactions", tdoc["id"], tdoc)
        return {"orderId": order_id}

    def _transactions(self, order_id: int | None = None) -> list[dict]:
        return [t for t in self.store.find("transactions") if t.get("view") and order_id in (None, t["orderId"])]

    def set_transaction_status(self, body: dict) -> dict:
        transaction_id = body.get("transactionId")
        doc = next((t for t in self._transactions() if t["view"]["id"] == transaction_id), None)
        if doc is None:
            raise Refusal(400, guesses.NO_SUCH_TRANSACTION.format(transaction_id=transaction_id))
        view, changed = doc["view"], False
        for field, flag in (("markAsPaidConfirmed", "isMarkedAsPaidConfirmed"),
                            ("markShippingBooked", "isShippingBooked"), ("markedAsShipped", "isMarkedAsShipped")):
            if body.get(field) is not None and view[flag] != body[field]:
                view[flag], changed = body[field], True
        if changed:
            now = self.clock.stamp()
            view["lastUpdatedDate"] = now
            self.store.put("transactions", doc["id"], doc)
            order = self._doc(doc["orderId"])
            order["view"]["lastUpdatedDate"] = now
            self.store.put("orders", doc["orderId"] - guesses.ORDER_ID_BASE, order)
        return view

    def routes(self, api: Api) -> list[Route]:
        def list_orders(request: Request, _) -> list[dict]:
            start, end = query_time(request, "fromDate"), query_time(request, "toDate")
            if start is None or end is None:
                raise Refusal(400, "fromDate and toDate are required.")
            field = guesses.QUERY_DATE_MODE[query_int(request, "queryDateMode", 0, guesses.QUERY_DATE_MODE)]
            return [o["view"] for o in self.store.find("orders") if o.get("view")
                    and _within(o["view"][field], start, end)]

        def get_orders(request: Request, _) -> list[dict]:
            ids = [int_value(p, "orderIds") for p in request.path_params["order_ids"].split(",") if p.strip()]
            return [doc["view"] for doc in map(self._doc, dict.fromkeys(ids)) if doc]

        def transactions(request: Request, _) -> list[dict]:
            start, end = query_time(request, "minTransactionDate"), query_time(request, "maxTransactionDate")
            raw = (request.query_params.get("filter") or "2").strip()
            if not raw.isdigit() or int(raw) not in guesses.TRANSACTION_FILTER:
                raise Refusal(400, f"'{raw}' is not a valid value for TransactionFilter.")  # [rec] wording
            updated_too = guesses.TRANSACTION_FILTER[int(raw)] == "new_and_updated"
            fields = ("date", "lastUpdatedDate") if updated_too else ("date",)
            return [t["view"] for t in self._transactions() if any(_within(t["view"][f], start, end) for f in fields)]

        return [
            api.route("GET", "/v4/orders", USER, list_orders),
            api.route("GET", "/v4/orders/{order_ids}", USER, get_orders),
            api.route("POST", "/v4/orders/{order_id}/ship", USER,
                      lambda request, _: self.ship(int_value(request.path_params["order_id"], "orderId"))),
            api.route("GET", "/v4/listings/seller-transactions", USER, transactions),
            api.route("PUT", "/v4/listings/transaction-status", USER,
                      lambda _, body: self.set_transaction_status(body)),
        ]


def _within(stamp: str, start: datetime | None, end: datetime | None) -> bool:
    moment = parse_time(stamp, "date")
    return (start is None or start <= moment) and (end is None or moment <= end)
