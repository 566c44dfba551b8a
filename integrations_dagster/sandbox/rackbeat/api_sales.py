"""HTTP routes of the sales side of ``/api``: the account, customers, orders and webhooks.

* ``GET /self`` → ``{"user_account": {id, ..}, "user": {..}}`` [doc: portal intro-to-account-settings]
  [3p: Rackbeat integration-template reads ``user_account.id``];
* ``GET|POST /customers``, ``GET|PUT /customers/{number}`` [spec: swagger CustomersApi];
* ``GET|POST /orders`` (POST books), ``POST /orders/drafts``, ``GET|PUT|DELETE /orders/{number}``, ``POST
  /orders/{number}/book``, ``GET /orders/{number}/lines``, ``GET|PUT /orders/{number}/lines/{id}``
  [source: SDK OrderResource, OrderLineResource] [3p: mother-sku PUT lines] — :mod:`.sales`;
* ``GET|POST /webhooks``, ``GET|PUT|DELETE /webhooks/{id}``, ``GET /webhooks/{id}/logs`` [doc: portal
  intro-to-webhooks, monitoring-security] — :mod:`.events`.

Order lists filter on ``search``, ``updated_at_from/_to`` and ``is_booked`` / ``is_shipped`` /
``is_cancelled`` [source: SDK OrderResource drafts(), booked(), shipped()].
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.rackbeat import events as webhooks
from integrations_dagster.sandbox.rackbeat import guesses
from integrations_dagster.sandbox.rackbeat.account import Account
from integrations_dagster.sandbox.rackbeat.sales import ORDER_FLAGS
from integrations_dagster.sandbox.rackbeat.wire import (filtered, handler, integer, json_body, not_found, one,
                                                        page_response, suppressed, truthy)

API = "/api"


def routes(acc: Account) -> list[Route]:
    sales = acc.sales

    @handler
    async def self_(request: Request) -> Response:
        return JSONResponse({"user_account": {"id": int(acc.account_id) if acc.account_id.isdigit() else acc.account_id,
                                              "name": "Demo Handel AS", "currency": guesses.ACCOUNT_CURRENCY,
                                              "is_ready": True},
                             "user": {"name": "API", "email": "api@example.com"}})

    # ---- customers ---------------------------------------------------------------------------------
    @handler
    async def customers(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = sales.create_customer(body)
            return one(request, "customer", sales.render_customer(doc), 201)
        rows = sorted(acc.store.find("customers"), key=lambda c: c["number"])
        return page_response(request, "customers", filtered(request, rows, "customers", booleans=("is_barred",)),
                             sales.render_customer)

    @handler
    async def customer(request: Request) -> Response:
        doc = sales.customer(request.path_params["number"])
        if doc is None:
            raise not_found("customer", request.path_params["number"])
        if request.method == "PUT":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = sales.update_customer(doc, body)
        return one(request, "customer", sales.render_customer(doc))

    # ---- orders ------------------------------------------------------------------------------------
    @handler
    async def orders(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            book = guesses.ORDERS_POST_BOOKS and truthy(body.pop("book", True))
            with acc.unit(suppressed(request, body)):
                doc = sales.create_order(body, book=book)
            return one(request, "order", sales.render_order(doc), 201)
        rows = filtered(request, [sales.order_row(o) for o in sales.orders()], "orders", booleans=ORDER_FLAGS)
        return page_response(request, "orders", rows, sales.render_order)

    @handler
    async def drafts(request: Request) -> Response:
        body = await json_body(request)
        body.pop("book", None)
        with acc.unit(suppressed(request, body)):
            doc = sales.create_order(body, book=False)
        return one(request, "order", sales.render_order(doc), 201)

    @handler
    async def order(request: Request) -> Response:
        doc = sales.order(request.path_params["number"])
        if request.method == "DELETE":
            with acc.unit(suppressed(request, {})):
                sales.delete_order(doc)
            return Response(status_code=guesses.DELETE_STATUS)
        if request.method == "PUT":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                doc = sales.update_order(doc, body)
        return one(request, "order", sales.render_order(doc))

    @handler
    async def book(request: Request) -> Response:
        doc = sales.order(request.path_params["number"])
        body = await json_body(request)  # {"mail": {"send": bool}} [source: SDK bookOrder]: no mail is sent
        with acc.unit(suppressed(request, body)):
            doc = sales.book(doc)
        return one(request, "order", sales.render_order(doc))

    @handler
    async def lines(request: Request) -> Response:
        doc = sales.order(request.path_params["number"])
        rows = [sales.render_line(doc, line) for line in doc["lines"]]
        return JSONResponse({"order_lines": rows, "total": len(rows), "pages": 1, "limit": max(len(rows), 1),
                             "page": 1}, status_code=guesses.STATUS_WHOLE_SET)

    @handler
    async def line(request: Request) -> Response:
        doc = sales.order(request.path_params["number"])
        if request.method == "PUT":
            body = await json_body(request)
            with acc.unit(suppressed(request, body)):
                stored = sales.update_line(doc, request.path_params["line_id"], body)
            return one(request, "order_line", sales.render_line(doc, stored))
        wanted = integer(request.path_params["line_id"], "line")
        for stored in doc["lines"]:
            if stored["id"] == wanted:
                return one(request, "order_line", sales.render_line(doc, stored))
        raise not_found("order line", wanted)

    # ---- webhooks ----------------------------------------------------------------------------------
    @handler
    async def hooks(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            with acc.store.transaction():
                hook, created = acc.events.subscribe(body)
            return one(request, "webhook", webhooks.render(hook, with_token=created), 201 if created else 200)
        rows = sorted(acc.store.find("webhooks"), key=lambda h: h["id"])
        return page_response(request, "webhooks", filtered(request, rows, "webhooks", booleans=("is_active",)),
                             webhooks.render)

    @handler
    async def hook(request: Request) -> Response:
        doc = acc.store.get("webhooks", integer(request.path_params["id"], "id"))
        if doc is None:
            raise not_found("webhook", request.path_params["id"])
        if request.method == "DELETE":
            acc.store.delete("webhooks", doc["id"])
            return Response(status_code=guesses.DELETE_STATUS)
        if request.method == "PUT":
            body = await json_body(request)
            with acc.store.transaction():
                doc = acc.events.update(doc, body)
        return one(request, "webhook", webhooks.render(doc))

    @handler
    async def hook_logs(request: Request) -> Response:
        doc = acc.store.get("webhooks", integer(request.path_params["id"], "id"))
        if doc is None:
            raise not_found("webhook", request.path_params["id"])
        return page_response(request, "webhook_logs", acc.events.logs(doc["id"]), lambda r: r)

    return [
        Route(f"{API}/self", self_, methods=["GET"]),
        Route(f"{API}/customers", customers, methods=["GET", "POST"]),
        Route(f"{API}/customers/{{number}}", customer, methods=["GET", "PUT"]),
        Route(f"{API}/orders", orders, methods=["GET", "POST"]),
        Route(f"{API}/orders/drafts", drafts, methods=["POST"]),
        Route(f"{API}/orders/{{number}}", order, methods=["GET", "PUT", "DELETE"]),
        Route(f"{API}/orders/{{number}}/book", book, methods=["POST"]),
        Route(f"{API}/orders/{{number}}/lines", lines, methods=["GET"]),
        Route(f"{API}/orders/{{number}}/lines/{{line_id}}", line, methods=["GET", "PUT"]),
        Route(f"{API}/webhooks", hooks, methods=["GET", "POST"]),
        Route(f"{API}/webhooks/{{id}}", hook, methods=["GET", "PUT", "DELETE"]),
        Route(f"{API}/webhooks/{{id}}/logs", hook_logs, methods=["GET"]),
    ]
