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
from integrations_dagster.sandbox.rackbeat.endpoints import action, deleted, existing, listing, record
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
    def customer_rows(request: Request) -> list[dict]:
        rows = sorted(acc.store.find("customers"), key=lambda c: c["number"])
        return filtered(request, rows, "customers", booleans=("is_barred",))

    customers = listing(acc, "customer", "customers", sales.render_customer, customer_rows, sales.create_customer)
    customer = record(acc, "customer", "number", existing(sales.customer, "customer"), sales.render_customer,
                      update=sales.update_customer)

    # ---- orders ------------------------------------------------------------------------------------
    def order_rows(request: Request) -> list[dict]:
        return filtered(request, [sales.order_row(o) for o in sales.orders()], "orders", booleans=ORDER_FLAGS)

    def create_order(body: dict) -> dict:
        return sales.create_order(body, book=guesses.ORDERS_POST_BOOKS and truthy(body.pop("book", True)))

    def create_draft(body: dict) -> dict:
        body.pop("book", None)
        return sales.create_order(body, book=False)

    orders = listing(acc, "order", "orders", sales.render_order, order_rows, create_order)
    drafts = listing(acc, "order", "orders", sales.render_order, order_rows, create_draft)  # routed for POST only

    order = record(acc, "order", "number", sales.order, sales.render_order, update=sales.update_order,
                   delete=sales.delete_order)
    # The body of a booking, {"mail": {"send": bool}} [source: SDK bookOrder], is read: no mail is sent.
    book = action(acc, "order", "number", sales.order, sales.render_order, sales.book)

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

    webhook = existing(lambda key: acc.store.get("webhooks", integer(key, "id")), "webhook")

    @handler
    async def hook(request: Request) -> Response:
        doc = webhook(request.path_params["id"])
        if request.method == "DELETE":
            acc.store.delete("webhooks", doc["id"])
            return deleted()
        if request.method == "PUT":
            body = await json_body(request)
            with acc.store.transaction():
                doc = acc.events.update(doc, body)
        return one(request, "webhook", webhooks.render(doc))

    @handler
    async def hook_logs(request: Request) -> Response:
        doc = webhook(request.path_params["id"])
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
