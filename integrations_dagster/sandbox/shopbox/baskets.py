"""Baskets — Shopbox's sales receipts ("kassebonner") —: how one is rung up (till or API), the stock it
draws at its register's branch, cancelling, and the routes.

Evidence:
* ``GET /baskets`` → ``data`` + ``meta.pagination``; items carry ``uid``, an epoch-seconds ``crdate`` and
  ``canceled``; line amounts are integers that clients divide by 100; ``GET /baskets?page=1`` answered
  HTTP 500 while the call without ``page`` worked; no date filter was found — the script pages newest
  first and stops by itself [3p: sales-sync script ``shopbox_sync.py``, both versions].
* ``GET /baskets/{uid}`` (bare object with ``canceled``), ``POST /baskets`` {``order_hash``, ``external_id``,
  ``creation_time``, ``cash_register``, ``basket_items``: [{``product``, ``quantity``, ``selling_price`` (unit,
  øre incl. VAT), ``comment``, ``tax``, ``course``, ``product_variance``, ``menu``, ``name``, ``discount``}],
  ``staff``, ``type`` (payment type), ``table_id``, ``discount_margin``} → {``uid``, …}; a line without a
  product is a free line ("Shipping"); ``PUT /baskets/{uid}/cancel`` [3p: PHP plugin ``OrderCreator``].
* ``GET /baskets/top-item-sales?from_date=&to_date=`` exists [3p: sales-sync script ``inspect_data``].
* A sale lowers the stock of its register's location [partner: Rackbeat — sales flow to Rackbeat as orders,
  per location; stock goes back to Shopbox to avoid overselling, seed 003].

GUESSES (guesses.py): newest first by uid, the read-back line key ``basket_items``, the VAT fields, discount
as øre, idempotent ``order_hash``, refunds as negative quantities, cancelling restores stock, composite
products and the multiply factor, the page=1 quirk's scope, the top-item-sales shape, the inventory hook.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time as dtime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import DocumentStore
from integrations_dagster.sandbox.rest import lookup
from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.shopbox.catalog import Catalog
from integrations_dagster.sandbox.shopbox.hooks import InventoryHook
from integrations_dagster.sandbox.shopbox.org import Org
from integrations_dagster.sandbox.shopbox.stock import Stock
from integrations_dagster.sandbox.shopbox.wire import (BASE, COPENHAGEN, atomic, envelope, error, handler, invalid,
                                                       json_body, minor_units, not_found, now, page_request, public,
                                                       quantity, ref, stamps)

BASKETS, ITEMS = "baskets", "basket_items"
BASKET_UID_BASE, ITEM_UID_BASE = 9_000_000, 9_500_000


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Ledger:
    def __init__(self, store: DocumentStore, org: Org, cat: Catalog, stock: Stock, hook: InventoryHook) -> None:
        self.store, self.org, self.cat, self.stock, self.hook = store, org, cat, stock, hook

    # --- reading -----------------------------------------------------------------------------------
    def _doc(self, uid: Any) -> dict[str, Any] | None:
        try:
            row_id = int(uid) - BASKET_UID_BASE
        except (TypeError, ValueError):
            return None
        return self.store.get(BASKETS, row_id) if row_id > 0 else None

    def get(self, uid: Any) -> dict[str, Any] | None:
        doc = self._doc(uid)
        return public(doc) if doc else None

    def page(self, page: int, per_page: int | None) -> tuple[list[dict[str, Any]], int]:
        """Newest first by uid (guesses.BASKETS_NEWEST_FIRST): rows of one page and the total."""
        total = self.store.count(BASKETS)
        if per_page is None:
            rows = self.store.find(BASKETS) if page == 1 else []
        else:
            end = total - (page - 1) * per_page
            start = max(0, end - per_page)
            rows = self.store.find(BASKETS, offset=start, limit=end - start) if end > 0 else []
        if guesses.BASKETS_NEWEST_FIRST:
            rows = rows[::-1]
        return [public(r) for r in rows], total

    # --- ringing up -------------------------------------------------------------------------------------
    def create(self, body: dict[str, Any], source: str) -> tuple[dict[str, Any], bool]:
        """Record a basket from a POST /baskets body; (basket, created). ``source``: "api" or "till"."""
        register_uid = ref(body.get("cash_register"), "cash_register")
        register = self.org.registers.get(register_uid)
        if register is None:
            raise invalid(("cash_register", "Cash register is invalid."))
        staff = ref(body.get("staff"), "staff", required=False)
        if staff is not None and staff not in self.org.staff:
            raise invalid(("staff", "Staff is invalid."))
        payment = ref(body.get("type"), "type", required=False) or guesses.DEFAULT_PAYMENT_TYPE
        if payment not in self.org.payment_types:
            raise invalid(("type", "Payment type is invalid."))
        moment = now()
        crdate = moment
        if body.get("creation_time") not in (None, ""):
            crdate = ref(body["creation_time"], "creation_time")
        order_hash = str(body.get("order_hash") or "") or None
        items = body.get(guesses.LINES_KEY)
        if not isinstance(items, list) or not items:
            raise invalid((guesses.LINES_KEY, "Basket items cannot be blank."))
        with atomic(self.store):
            if order_hash and guesses.ORDER_HASH_DEDUP:
                same = self.store.find(BASKETS, key=order_hash)
                if same:
                    return public(same[0]), False
            lines, moves, sold = [], [], []
            for i, item in enumerate(items):
                line, line_moves, hook_line = self._line(i, item, register["branch"])
                lines.append(line)
                moves += line_moves
                sold.append(hook_line)
            row_id = self.store.insert(BASKETS, {}, key=order_hash)
            uid = BASKET_UID_BASE + row_id
            for line in lines:
                line["uid"] = ITEM_UID_BASE + self.store.insert(ITEMS, {"basket": uid})
                line["basket"] = uid
            basket = {
                "uid": uid, "client": self.org.client, "cash_register": register_uid, "branch": register["branch"],
                "staff": staff, "type": payment, "payment_type_name": self.org.payment_types[payment]["name"],
                "external_id": body.get("external_id"), "order_hash": order_hash, "table_id": body.get("table_id"),
                "discount_margin": body.get("discount_margin"), "canceled": 0, "currency": guesses.CURRENCY,
                "total": sum(line["total"] for line in lines),
                "vat_amount": sum(line["vat_amount"] for line in lines),
                guesses.LINES_KEY: lines, "source": source, **stamps(crdate, moment), "_moves": moves,
                "id": row_id,
            }
            for branch, product, variance, delta in moves:
                self.stock.move(branch, product, variance, delta, note=f"basket {uid}")
            self.store.put(BASKETS, row_id, basket, key=order_hash)
        if source == "till" or guesses.HOOK_ON_API_BASKETS:
            self.hook.sold(basket, sold)  # after the commit: the call reports a stored sale
        return public(basket), True

    def _line(self, i: int, item: Any, branch: int) -> tuple[dict[str, Any], list[list], dict[str, Any]]:
        where = f"{guesses.LINES_KEY}[{i}]"
        if not isinstance(item, dict):
            raise invalid((where, "Each basket item must be an object."))
        product = variance = None
        product_uid = ref(item.get("product"), f"{where}.product", required=False)
        if product_uid is not None:
            product = self.cat.product(product_uid)
            if product is None:
                raise invalid((f"{where}.product", "Product is invalid."))
            variance_uid = ref(item.get("product_variance"), f"{where}.product_variance", required=False)
            if variance_uid is not None:
                variance = self.cat.variance(product, variance_uid)
                if variance is None:
                    raise invalid((f"{where}.product_variance", "Product variance is invalid."))
            elif product["inventory_on_variants"] and product["product_variances"]:
                raise invalid((f"{where}.product_variance", "This product is sold by variance."))
        amount = quantity(item.get("quantity", 1), f"{where}.quantity")
        if amount == 0 or (amount < 0 and not guesses.NEGATIVE_QUANTITY_IS_REFUND):
            raise invalid((f"{where}.quantity", "Quantity must not be 0."))
        if item.get("selling_price") is not None:
            price = minor_units(item["selling_price"], f"{where}.selling_price")
        elif product is not None:
            price = (variance or product)["selling_price"]
        else:
            raise invalid((f"{where}.selling_price", "A line without a product needs a selling_price."))
        name = str(item.get("name") or "").strip()
        if not name:
            if product is None:
                raise invalid((f"{where}.name", "A line without a product needs a name."))
            name = product["name"] + (f" - {variance['name']}" if variance else "")
        discount = minor_units(item.get("discount") or 0, f"{where}.discount")
        tax = ref(item.get("tax"), f"{where}.tax", required=False) or (product or {}).get("tax") or guesses.DEFAULT_TAX
        if tax not in self.org.taxes:
            raise invalid((f"{where}.tax", "Tax is invalid."))
        percentage = self.org.taxes[tax]["percentage"]
        total = half_up(Decimal(str(amount)) * price) - discount
        vat = total - half_up(Decimal(total) * 100 / (100 + percentage))
        line = {"uid": None, "basket": None, "product": product["uid"] if product else None,
                "product_variance": variance["uid"] if variance else None, "name": name,
                "sku_code": (variance or {}).get("sku_code") or (product or {}).get("sku_code"),
                "quantity": amount, "selling_price": price, "discount": discount, "total": total,
                "tax": tax, "tax_percentage": percentage, "vat_amount": vat,
                "comment": str(item.get("comment") or ""), "course": item.get("course") or 0}
        moves = self._moves(branch, product, variance, amount) if product else []
        hook_line = {"product": line["product"], "quantity": amount,
                     "variance_values": [v["slug"] for v in variance["variance_values"]] if variance else [],
                     "variance_id": variance.get("integration_number") if variance else None}
        return line, moves, hook_line

    def _moves(self, branch: int, product: dict, variance: dict | None, amount) -> list[list]:
        components = product.get(guesses.COMPONENTS_FIELD) or []
        if components:
            return [[branch, c["product"], c["product_variance"], -amount * c["quantity"]] for c in components]
        if product["inventory_on_variants"]:
            return [[branch, product["uid"], variance["uid"] if variance else None, -amount]]
        factor = 1
        if variance is not None and guesses.MULTIPLY_FACTOR_ON_PRODUCT_STOCK:
            factor = variance.get("inventory_multiply_factor") or 1
        return [[branch, product["uid"], None, -amount * factor]]

    def cancel(self, uid: Any) -> dict[str, Any]:
        with atomic(self.store):
            doc = self._doc(uid)
            if doc is None:
                raise not_found("Basket")
            if not doc["canceled"]:
                if guesses.CANCEL_RESTORES_STOCK:
                    for branch, product, variance, delta in doc["_moves"]:
                        self.stock.move(branch, product, variance, -delta, note=f"basket {doc['uid']} canceled")
                doc = {**doc, "canceled": 1, **stamps(doc["crdate"], now())}
                self.store.put(BASKETS, doc["id"], doc, key=doc.get("order_hash"))
        return public(doc)

    def top_items(self, first: date, last: date) -> list[dict[str, Any]]:
        start = int(datetime.combine(first, dtime(0), COPENHAGEN).timestamp())
        end = int(datetime.combine(last + timedelta(days=1), dtime(0), COPENHAGEN).timestamp())
        sums: dict[tuple, list] = defaultdict(lambda: [0, 0])
        for basket in self.store.find(BASKETS):
            if basket["canceled"] or not start <= basket["crdate"] < end:
                continue
            for line in basket[guesses.LINES_KEY]:
                key = (line["product"], line["product_variance"], line["name"])
                sums[key][0] += line["quantity"]
                sums[key][1] += line["total"]
        rows = [{"product": p, "product_variance": v, "name": n, "quantity": q, "total": t}
                for (p, v, n), (q, t) in sums.items()]
        return sorted(rows, key=lambda r: (-r["quantity"], -r["total"], r["name"]))


def _day(text: str | None, name: str) -> date:
    if not text:
        return datetime.now(COPENHAGEN).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise invalid((name, f"{name} must be a date (YYYY-MM-DD).")) from None


def routes(ledger: Ledger) -> list[Route]:
    @handler
    async def list_baskets(request: Request) -> Response:
        page, per_page = page_request(request)
        if request.url.path in guesses.PAGE_ONE_FAILS and "page" in request.query_params and page == 1:
            return error(guesses.PAGE_ONE_STATUS, guesses.SERVER_ERROR_MESSAGE)  # [3p] the page=1 quirk
        rows, total = ledger.page(page, per_page)
        return JSONResponse(envelope(request, rows, total, page, per_page))

    get_basket = handler(lookup(ledger.get, "uid", lambda: not_found("Basket")))

    @handler
    async def create(request: Request) -> Response:
        basket, created = ledger.create(await json_body(request), source="api")
        return JSONResponse(basket, status_code=guesses.BASKET_CREATE_STATUS if created else 200)

    @handler
    async def cancel(request: Request) -> Response:
        return JSONResponse(ledger.cancel(request.path_params["uid"]))

    @handler
    async def top_item_sales(request: Request) -> Response:
        first = _day(request.query_params.get("from_date"), "from_date")
        last = _day(request.query_params.get("to_date"), "to_date")
        return JSONResponse({"data": ledger.top_items(first, last)})

    return [
        Route(f"{BASE}/baskets", list_baskets, methods=["GET"]),
        Route(f"{BASE}/baskets", create, methods=["POST"]),
        Route(f"{BASE}/baskets/top-item-sales", top_item_sales, methods=["GET"]),
        Route(f"{BASE}/baskets/{{uid:int}}", get_basket, methods=["GET"]),
        Route(f"{BASE}/baskets/{{uid:int}}/cancel", cancel, methods=["PUT"]),
    ]
