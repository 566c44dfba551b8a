"""What the shop's staff do in Shopbox, as control routes (test instruments) under ``/__sandbox__/shopbox``.

These need no token and are not vendor behaviour; what they cause is (a receipt in ``/baskets``, stock
drawn at the register's branch, a product in ``/products``, the inventory hook call):

* ``POST /sale`` ``{"cash_register", "lines": [{"product", "product_variance"?, "quantity", "selling_price"?,
  "discount"?, "name"?}], "type"?, "staff"?, "creation_time"?}`` — ring up a sale at a register (the same
  arithmetic as ``POST /api/v3/baskets``; ``basket_items`` is accepted for ``lines``) → 201 + the basket;
  it calls the registered inventory hook (:mod:`.hooks`).
* ``POST /products`` — create (no ``uid``) or edit (``uid``) a product in the back office, same body as
  ``POST /api/v3/products/create-or-update`` → the product (201 when created).
* ``POST /stock`` ``{"branch", "product", "product_variance"?, "quantity" | "delta"}`` — count or adjust the
  stock at a branch → the row; ``GET /stock[?branch=]`` every stock row.
* ``GET|POST /hooks`` ``{"inventory_url": url | null}`` — the inventory hook URL given to Shopbox.
* ``POST /tokens/expire`` — every issued access token expires now (a client must log in again on its 401).

Refusals use the vendor's error shapes (wire.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import SANDBOX_PREFIX
from integrations_dagster.sandbox.shopbox import guesses
from integrations_dagster.sandbox.shopbox.auth import Accounts
from integrations_dagster.sandbox.shopbox.baskets import Ledger
from integrations_dagster.sandbox.shopbox.hooks import InventoryHook
from integrations_dagster.sandbox.shopbox.wire import atomic, error, handler, invalid, json_body, quantity, ref

PREFIX = f"{SANDBOX_PREFIX}/shopbox"


def routes(ledger: Ledger, hook: InventoryHook, accounts: Accounts) -> list[Route]:
    cat, stock = ledger.cat, ledger.stock

    @handler
    async def sale(request: Request) -> Response:
        body = await json_body(request)
        if "lines" in body and guesses.LINES_KEY not in body:
            body = {**body, guesses.LINES_KEY: body.pop("lines")}
        basket, _ = ledger.create(body, source="till")
        return JSONResponse(basket, status_code=201)

    @handler
    async def product(request: Request) -> Response:
        body = await json_body(request)
        with atomic(cat.store):
            doc, created = cat.save(body, body.get("uid"))
        return JSONResponse(cat.public_product(doc), status_code=201 if created else 200)

    @handler
    async def set_stock(request: Request) -> Response:
        body = await json_body(request)
        branch, doc, variance = stock.target(body.get("branch"), body.get("product"), body.get("product_variance"))
        has_quantity, has_delta = body.get("quantity") is not None, body.get("delta") is not None
        if has_quantity == has_delta:
            raise invalid(("quantity", "Give exactly one of quantity, delta."))
        with atomic(stock.store):
            if has_quantity:
                row = stock.set(branch, doc["uid"], variance, quantity(body["quantity"], "quantity"), "counted")
            else:
                row = stock.move(branch, doc["uid"], variance, quantity(body["delta"], "delta"), "adjusted")
        return JSONResponse(stock.public(row, doc))

    @handler
    async def list_stock(request: Request) -> Response:
        branch = ref(request.query_params.get("branch"), "branch", required=False)
        return JSONResponse(stock.rows(branch))

    @handler
    async def hooks(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await json_body(request)
                hook.register(body.get("inventory_url"))
            except ValueError as exc:
                return error(400, str(exc))
        return JSONResponse({"inventory_url": hook.url})

    async def expire_tokens(_: Request) -> Response:
        return JSONResponse({"expired": accounts.expire_all()})

    return [
        Route(f"{PREFIX}/sale", sale, methods=["POST"]),
        Route(f"{PREFIX}/products", product, methods=["POST"]),
        Route(f"{PREFIX}/stock", set_stock, methods=["POST"]),
        Route(f"{PREFIX}/stock", list_stock, methods=["GET"]),
        Route(f"{PREFIX}/hooks", hooks, methods=["GET", "POST"]),
        Route(f"{PREFIX}/tokens/expire", expire_tokens, methods=["POST"]),
    ]
