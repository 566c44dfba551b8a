"""Orders v2, store information, tax settings, and the shopper's checkout (a test instrument).

* ``GET /v2/orders`` answers a bare array, sorted by id; filters ``min_date_modified``/``max_date_modified``
  (RFC-2822 or ISO-8601), ``status_id``, ``min_id``/``max_id``, ``page`` (1), ``limit`` (50)
  [spec: orders.v2.oas2.yml#getOrders]; no match -> 204 with no body [3p: aligent/bigcommerce-v3-api-php-client#177] (§6.1).
* Money as 4-decimal strings, dates RFC-2822 UTC, ``status`` names of the status ids
  [spec: orders.v2.oas2.yml#getOrderStatuses] (§6.2, §6.3). ``GET /v2/orders/{id}/products`` [spec: …#getOrderProducts].
* ``GET /v2/store`` and ``GET /v3/tax/settings``: shapes from third-party copies of the vendor's specs
  (see :mod:`.guesses`); ``tax_entered_with_prices`` says whether catalog prices include tax.
* ``POST /__sandbox__/bigcommerce/order`` ``{"lines": [{"sku", "quantity"}]}`` (or a bare list): a shopper
  checks out; prices from the catalog, stock leaves at once (guess ``update_stock_behavior=order_placed``, §6.5).
  After it committed, webhooks ``store/order/created`` then the stock events of its lines (method
  ``relative``: "inventory updated by an order" [spec: webhooks.v3.yml#store_product_inventory_updated]).
  There is no order-update route, so ``store/order/updated|statusUpdated`` are never sent.
"""

from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations_dagster.sandbox.bigcommerce import guesses, shapes
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.inventory import adjust
from integrations_dagster.sandbox.bigcommerce.wire import (
    BcError, Gate, money4, now, parse_any_date, rfc2822, store_time, v2_error,
)

V2 = "/stores/{store_hash}/v2"
STATUSES = {0: "Incomplete", 1: "Pending", 2: "Shipped", 3: "Partially Shipped", 4: "Refunded", 5: "Cancelled",
            6: "Declined", 7: "Awaiting Payment", 8: "Awaiting Pickup", 9: "Awaiting Shipment", 10: "Completed",
            11: "Awaiting Fulfillment", 12: "Manual Verification Required", 13: "Disputed", 14: "Partially Refunded"}


def _v2_int(q, name: str, default: int, low: int, high: int | None = None) -> int:
    try:
        value = int(q.get(name, default))
    except ValueError:
        raise v2_error(400, f"The field '{name}' is invalid.") from None
    if value < low or (high is not None and value > high):
        raise v2_error(400, f"The field '{name}' is invalid.")
    return value


def order_out(order: dict, store_hash: str) -> dict:
    out = shapes.public(order)
    out["date_created"], out["date_modified"] = rfc2822(order["_created"]), rfc2822(order["_modified"])
    base = f"https://api.bigcommerce.com/stores/{store_hash}/v2/orders/{order['id']}"
    out["products"] = {"url": base + "/products", "resource": f"/orders/{order['id']}/products"}
    out["shipping_addresses"] = {"url": base + "/shipping_addresses", "resource": f"/orders/{order['id']}/shipping_addresses"}
    out["coupons"] = {"url": base + "/coupons", "resource": f"/orders/{order['id']}/coupons"}
    return out


def place_order(catalog: Catalog, lines: list[dict], status_id: int = guesses.CHECKOUT_STATUS_ID) -> dict:
    """Price ``lines`` from the catalog (tax: :data:`guesses.VAT_RATE`), store the order, move stock."""
    store, rate = catalog.store, Decimal(guesses.VAT_RATE)
    priced, inc_total, ex_total = [], Decimal(0), Decimal(0)
    for line in lines:
        owner = catalog.sku_owner(str(line["sku"]))
        if owner is None:
            raise v2_error(400, f"Unknown SKU {line['sku']}")
        product = store.get("products", owner["product_id"])
        variant = store.get("variants", owner["variant_id"]) if owner["variant_id"] else None
        price = Decimal(str(shapes.variant_out(product, variant)["calculated_price"] if variant
                            else shapes.calculated(product["price"], product["sale_price"])))
        inc, ex = (price, price / (1 + rate)) if guesses.TAX_ENTERED_WITH_PRICES else (price * (1 + rate), price)
        qty = int(line["quantity"])
        priced.append((line, product, variant, inc, ex, qty))
        inc_total += inc * qty
        ex_total += ex * qty
    stamp = store_time(now())
    order = {"customer_id": 0, "_created": stamp, "_modified": stamp, "date_shipped": "", "status_id": status_id,
             "status": STATUSES[status_id], "custom_status": STATUSES[status_id],
             "subtotal_ex_tax": money4(ex_total), "subtotal_inc_tax": money4(inc_total), "subtotal_tax": money4(inc_total - ex_total),
             "base_shipping_cost": money4(0), "shipping_cost_ex_tax": money4(0), "shipping_cost_inc_tax": money4(0),
             "total_ex_tax": money4(ex_total), "total_inc_tax": money4(inc_total), "total_tax": money4(inc_total - ex_total),
             "items_total": sum(p[5] for p in priced), "items_shipped": 0, "payment_method": "Cash",
             "payment_status": "captured", "refunded_amount": money4(0), "order_is_digital": False,
             "is_tax_inclusive_pricing": guesses.TAX_ENTERED_WITH_PRICES, "currency_code": guesses.STORE_CURRENCY,
             "currency_exchange_rate": "1.0000000000", "default_currency_code": guesses.STORE_CURRENCY,
             "discount_amount": money4(0), "channel_id": 1, "order_source": "www", "external_source": None,
             "is_deleted": False, "customer_message": "", "staff_notes": "",
             "billing_address": {"first_name": "Sandbox", "last_name": "Shopper", "email": "shopper@example.com",
                                 "street_1": "Storgatan 1", "city": "Stockholm", "zip": "111 22",
                                 "country": "Sweden", "country_iso2": "SE"}}
    with catalog.events.collect(), store.transaction():
        order["id"] = store.insert("orders", order, modified=stamp)
        catalog.events.order("created", order["id"])
        for line, product, variant, inc, ex, qty in priced:
            row = {"order_id": order["id"], "product_id": product["id"],
                   "variant_id": variant["id"] if variant else product.get("_base_variant_id"),
                   "order_address_id": 0, "name": product["name"], "sku": line["sku"], "upc": product["upc"],
                   "type": product["type"], "base_price": money4(inc if guesses.TAX_ENTERED_WITH_PRICES else ex),
                   "price_ex_tax": money4(ex), "price_inc_tax": money4(inc), "price_tax": money4(inc - ex),
                   "base_total": money4(inc * qty), "total_ex_tax": money4(ex * qty), "total_inc_tax": money4(inc * qty),
                   "total_tax": money4((inc - ex) * qty), "quantity": qty, "quantity_shipped": 0, "quantity_refunded": 0,
                   "is_refunded": False, "refund_amount": money4(0), "parent_order_product_id": None,
                   "is_bundled_product": False, "applied_discounts": [],
                   "product_options": [{"id": ov["id"], "option_id": ov["option_id"], "product_option_id": ov["option_id"],
                                        "display_name": ov["option_display_name"], "display_value": ov["label"],
                                        "value": str(ov["id"])} for ov in (variant or {}).get("option_values", [])]}
            store.insert("order_products", row, parent=order["id"])
            tracked = product["inventory_tracking"] != "none"
            if guesses.STOCK_LEAVES_ON_ORDER_PLACED and status_id != 0 and tracked:
                item = {"location_id": 1, "quantity": -qty, **({"variant_id": variant["id"]} if variant
                                                              and product["inventory_tracking"] == "variant" else {"product_id": product["id"]})}
                adjust_order(catalog, item)
    return order


def adjust_order(catalog: Catalog, item: dict) -> None:
    """An order's stock move: like a relative adjustment, but an order may take stock below 0 (guess)."""
    try:
        adjust(catalog, [item], relative=True, method=guesses.STOCK_METHOD_ORDER)
    except BcError:
        holder_kind = "variants" if "variant_id" in item else "products"
        holder = catalog.store.get(holder_kind, item.get("variant_id") or item["product_id"])
        holder["inventory_level"] = int(holder.get("inventory_level") or 0) + item["quantity"]
        holder["_stock_set"] = True
        (catalog.save_variant if holder_kind == "variants" else catalog.save_product)(holder)
        product = holder if holder_kind == "products" else catalog.store.get("products", holder["product_id"])
        catalog.events.stock(product, holder if holder_kind == "variants" else None, item["quantity"],
                             guesses.STOCK_METHOD_ORDER)


def routes(gate: Gate, catalog: Catalog) -> list[Route]:
    store = catalog.store

    async def list_orders(request: Request):
        q = request.query_params
        page_no = _v2_int(q, "page", 1, 1)
        limit = _v2_int(q, "limit", 50, 1, guesses.ORDERS_MAX_LIMIT)
        after = parse_any_date(q["min_date_modified"], date_only_gets_now=False) if "min_date_modified" in q else None
        before = parse_any_date(q["max_date_modified"], date_only_gets_now=False) if "max_date_modified" in q else None
        rows = [o for o in store.find("orders")
                if (after is None or o["_modified"][:19] >= after[:19]) and (before is None or o["_modified"][:19] <= before[:19])
                and ("status_id" not in q or str(o["status_id"]) == q["status_id"])
                and ("min_id" not in q or o["id"] >= int(q["min_id"])) and ("max_id" not in q or o["id"] <= int(q["max_id"]))]
        chosen = rows[(page_no - 1) * limit: page_no * limit]
        if not chosen:
            return 204, None
        return 200, [order_out(o, gate.store_hash) for o in chosen]

    def order(request: Request) -> dict:
        doc = store.get("orders", int(request.path_params["order_id"]))
        if doc is None:
            raise v2_error(404, "The requested resource was not found.")
        return doc

    async def get_order(request: Request):
        return 200, order_out(order(request), gate.store_hash)

    async def order_products(request: Request):
        doc = order(request)
        q = request.query_params
        page_no, limit = _v2_int(q, "page", 1, 1), _v2_int(q, "limit", 50, 1, guesses.ORDERS_MAX_LIMIT)
        rows = store.find("order_products", parent=doc["id"])[(page_no - 1) * limit: page_no * limit]
        return (200, rows) if rows else (204, None)

    async def store_info(_: Request):
        return 200, {"id": gate.store_hash, "domain": "sandbox-store.example", "secure_url": "https://sandbox-store.example",
                     "status": "live", "name": "Sandbox Butik", "address": "Storgatan 1, Stockholm",
                     "country": "Sweden", "country_code": "SE", "phone": "", "admin_email": "admin@example.com",
                     "order_email": "order@example.com", "timezone": {"name": guesses.STORE_TIMEZONE, "raw_offset": 3600,
                                                                      "dst_offset": 7200, "dst_correction": True},
                     "language": "sv", "currency": guesses.STORE_CURRENCY, "currency_symbol": "kr",
                     "decimal_separator": ",", "thousands_separator": " ", "decimal_places": 2,
                     "currency_symbol_location": "right", "weight_units": "kg", "dimension_units": "Centimeters",
                     "plan_name": "Standard", "plan_level": "Standard", "plan_is_trial": False}

    async def tax_settings(_: Request):
        return 200, {"data": {"tax_entered_with_prices": guesses.TAX_ENTERED_WITH_PRICES,
                              "price_display_settings": {"show_inclusive_in_control_panel": guesses.TAX_ENTERED_WITH_PRICES,
                                                         "invoice_price_display_strategy": "INCLUSIVE"},
                              "fallback_strategy": "BASIC"}, "meta": {}}

    async def checkout(request: Request):
        try:
            body = await request.json()
            lines = body["lines"] if isinstance(body, dict) else body
            status_id = int(body.get("status_id", guesses.CHECKOUT_STATUS_ID)) if isinstance(body, dict) else guesses.CHECKOUT_STATUS_ID
            doc = place_order(catalog, lines, status_id)
        except BcError as refusal:
            return JSONResponse(refusal.body, status_code=400)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(order_out(doc, gate.store_hash))

    return [
        Route(V2 + "/orders", gate.endpoint("v2", list_orders), methods=["GET"]),
        Route(V2 + "/orders/{order_id:int}", gate.endpoint("v2", get_order), methods=["GET"]),
        Route(V2 + "/orders/{order_id:int}/products", gate.endpoint("v2", order_products), methods=["GET"]),
        Route(V2 + "/store", gate.endpoint("v2", store_info), methods=["GET"]),
        Route("/stores/{store_hash}/v3/tax/settings", gate.endpoint("v3", tax_settings), methods=["GET"]),
        Route("/__sandbox__/bigcommerce/order", checkout, methods=["POST"]),
    ]
