"""What a Rackbeat user does in the web UI, as control routes (test instruments) under
``/__sandbox__/rackbeat``. Each goes through the same code as the API and fires the same webhooks (a UI
change is never suppressed), so a connector's test can play the merchant's side:

* ``POST /products`` ``{number, name, group, sales_price, ..}`` — create the product, or edit it when the
  number exists (``product.created`` / ``product.updated``); ``POST /fields/{number}`` ``{"custom_fields":
  [{"id", "value"}]}`` — fill in an item's custom fields;
* ``POST /stock`` ``{"item", "location"?, "quantity" | "delta", "product_variation_id"? | "variations"?}`` —
  count (new quantity) or adjust (signed change) stock at a location, as a booked adjustment would
  (the stock event); answers the item's per-location stock;
* ``POST /orders/{number}/ship`` and ``/cancel`` — the warehouse ships every line (stock drawn) or the
  order is cancelled (reservation released);
* ``GET|POST /clock`` ``{"now": "YYYY-MM-DD HH:MM:SS" | null}`` — pin the account's clock so ``updated_at``
  filters are exact without sleeping (null: follow real time);
* ``GET|POST /settings`` ``{"webhook_payload": "observed" | "documented"}`` — the delivery body shape
  (guesses.WEBHOOK_PAYLOAD_STYLE). A sandbox reset restores both.

Answers are JSON; refusals use the API's 404/422 shapes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import SANDBOX_PREFIX
from integrations_dagster.sandbox.rackbeat.account import Account
from integrations_dagster.sandbox.rackbeat.wire import handler, invalid, json_body, money, not_found, number_out, required

PREFIX = f"{SANDBOX_PREFIX}/rackbeat"


def routes(acc: Account) -> list[Route]:
    cat, stock, sales = acc.catalog, acc.stock, acc.sales

    @handler
    async def product(request: Request) -> Response:
        body = await json_body(request)
        number = str(body.get("number") or "").strip()
        if not number:
            raise required("number")
        with acc.unit():
            item = cat.item(number, "product")
            item = cat.update_item(item, body) if item else cat.create_item("product", body)
        return JSONResponse({"product": cat.render(item)})

    @handler
    async def fields(request: Request) -> Response:
        item = cat.item_by_segment(request.path_params["number"])
        body = await json_body(request)
        with acc.unit():
            cat.set_field_values(item, body)
        return JSONResponse({"field_values": cat.field_values(item)})

    @handler
    async def stock_count(request: Request) -> Response:
        body = await json_body(request)
        ref = body.get("item")
        if not ref:
            raise required("item")
        item = cat.item(str(ref), "product")
        if item is None:
            raise not_found("product", ref)
        has_quantity, has_delta = body.get("quantity") is not None, body.get("delta") is not None
        if has_quantity == has_delta:
            raise invalid({"quantity": "Give exactly one of quantity and delta."})
        loc = stock.resolve_location(item, body.get("location"), "location")
        variation = cat.resolve_variation(item, body, "item")
        with acc.unit():
            change = stock.set_count(item, loc, variation=variation,
                                     quantity=money(body["quantity"], "quantity") if has_quantity else None,
                                     delta=money(body["delta"], "delta") if has_delta else None)
        return JSONResponse({"change": number_out(change), **stock.totals(item),
                             "locations": stock.per_location(item)})

    @handler
    async def order_action(request: Request) -> Response:
        order = sales.order(request.path_params["number"])
        action = request.path_params["action"]
        with acc.unit():
            if action == "ship":
                order = sales.ship(order)
            elif action == "cancel":
                order = sales.cancel(order)
            else:
                raise not_found("order action", action)
        return JSONResponse({"order": sales.render_order(order)})

    @handler
    async def clock(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            acc.clock.pin(body.get("now"))
        return JSONResponse({"now": acc.clock.stamp(), "pinned": acc.clock.pinned is not None})

    @handler
    async def settings(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            style = body.get("webhook_payload", acc.events.payload_style)
            if style not in ("observed", "documented"):
                raise invalid({"webhook_payload": "Use observed or documented."})
            acc.events.payload_style = style
        return JSONResponse({"webhook_payload": acc.events.payload_style})

    return [
        Route(f"{PREFIX}/products", product, methods=["POST"]),
        Route(f"{PREFIX}/fields/{{number:path}}", fields, methods=["POST"]),
        Route(f"{PREFIX}/stock", stock_count, methods=["POST"]),
        Route(f"{PREFIX}/orders/{{number}}/{{action}}", order_action, methods=["POST"]),
        Route(f"{PREFIX}/clock", clock, methods=["GET", "POST"]),
        Route(f"{PREFIX}/settings", settings, methods=["GET", "POST"]),
    ]
