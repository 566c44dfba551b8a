"""The Inventory v3 service (inventory.izettle.com/v3, served under ``/inventory/v3``) and its rate limit.

Routes [digest §3.1 table]:

* ``GET /inventories``, ``GET /inventories/{uuid}``, ``POST /inventories`` (STORE, ``Location`` header)
  [doc: …/manage-inventories/fetch-inventories, create-inventories].
* ``POST /products`` start tracking, ``POST /products/status`` stop tracking → 204
  [3p: LauLamanApps InventoryClient.php `POST_PRODUCTS`, `POST_PRODUCTS_STATUS`; doc: …/enable-disable-tracking
  (204)]; ``GET /products`` tracking status. Bodies are guesses (guesses.TRACKING_BODY_KEY).
* ``GET /stock``, ``GET /stock/{inventoryUuid}`` — bare arrays of STORE balances, cursor-paged with
  ``Link: <…?cursor=…&limit=…>; rel="next"`` [doc: …/fetch-inventory-balance; inventory overview §Pagination];
  ``GET /stock/{inventoryUuid}/products/{productUuid}`` one product [3p: LauLamanApps `GET_STOCK_PRODUCT_BALANCE`].
* ``POST /movements`` ``{"movements": [{productUuid, variantUuid, change, from, to}]}`` → 204
  [doc: …/update-inventory-balance].

Rate limit: "By default, V3 allows 4 requests per second … not a hard limit … measures the average
rate in a short time period" [doc: inventory overview §Rate limit]; blocked requests get 429
[contracts: CONTRACTS.md §3]. Modelled as a token bucket on this service only, separate from the
generic ``knobs.rate_limit`` (numbers, headers and body: guesses.INVENTORY_*).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import int_param
from integrations_dagster.sandbox.rest import lookup
from integrations_dagster.sandbox.zettle import guesses
from integrations_dagster.sandbox.zettle.products import Catalog
from integrations_dagster.sandbox.zettle.stock import Stock
from integrations_dagster.sandbox.zettle.wire import (error, handler, invalid, is_uuid, json_body,
                                                      not_found, now, uuid1_at)

PREFIX = "/inventory/v3"


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; a request takes one or is refused."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.tokens, self.stamp = float(self.burst), time.monotonic()

    def take(self) -> float:
        """0 when admitted, else the seconds until a token is available."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            t = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (t - self.stamp) * self.rate)
            self.stamp = t
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


def rate_limited(wait_s: float) -> Response:
    return error(429, "Too many requests", guesses.RATE_LIMITED_ERROR_TYPE,
                 headers={"Retry-After": str(max(1, math.ceil(wait_s)))})


def variants_of(cat: Catalog) -> dict[str, list[str]]:
    return {p["uuid"]: [v["uuid"] for v in p.get("variants", [])] for p in cat.all()}


def routes(cat: Catalog, stock: Stock, bucket: TokenBucket) -> list[Route]:
    def limited(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        inner = handler(fn)

        async def wrapped(request: Request) -> Response:
            wait = bucket.take()
            return rate_limited(wait) if wait else await inner(request)
        return wrapped

    async def _product_uuids(request: Request) -> list[str]:
        body = await json_body(request)
        uuids = body.get(guesses.TRACKING_BODY_KEY) if isinstance(body, dict) else None
        if not isinstance(uuids, list) or not uuids or not all(is_uuid(u) for u in uuids):
            raise invalid(f"{guesses.TRACKING_BODY_KEY} must be a non-empty list of uuids")
        missing = [u for u in uuids if cat.get(u) is None]
        if missing:
            raise not_found(f"Products not found: {', '.join(missing)}")
        return uuids

    @limited
    async def list_inventories(_: Request) -> Response:
        return JSONResponse(stock.inventories())

    get_inventory = limited(lookup(stock.inventory, "inv", lambda: not_found("Inventory not found")))

    @limited
    async def create_inventory(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise invalid("name is required")
        stock.ensure_defaults()
        inv = stock.add_inventory("STORE", body["name"], body.get("description") or "", False,
                                  uuid1_at(now(), len(stock.inventories())))
        return Response(status_code=201, headers={"Location": f"{request.base_url}inventory/v3/inventories/"
                                                              f"{inv['inventoryUuid']}"})

    @limited
    async def start_tracking(request: Request) -> Response:
        stock.set_tracking(await _product_uuids(request), True)
        return Response(status_code=204)

    @limited
    async def stop_tracking(request: Request) -> Response:
        stock.set_tracking(await _product_uuids(request), False)
        return Response(status_code=204)

    @limited
    async def tracking_status(_: Request) -> Response:
        return JSONResponse({"trackedProducts": stock.tracked_products()})  # shape: GUESS (digest §3.2)

    def _page(request: Request, rows: list[dict]) -> Response:
        limit = int_param(request, "limit", guesses.STOCK_PAGE_DEFAULT, 1, guesses.STOCK_PAGE_MAX,
                          lambda kind, raw: invalid(f"limit: invalid value {raw!r}"))
        cursor = request.query_params.get("cursor")
        if cursor:
            rows = [r for r in rows if r["variantUuid"] > cursor]
        page, more = rows[:limit], len(rows) > limit
        headers = {}
        if more:
            url = request.url.include_query_params(cursor=page[-1]["variantUuid"], limit=limit)
            headers["Link"] = f'<{url}>; rel="next"'
        return JSONResponse(page, headers=headers)

    def _store_inventories(only: str | None) -> list[str]:
        invs = [i for i in stock.inventories() if i["inventoryType"] == "STORE"]
        if only is not None:
            inv = stock.inventory(only)
            if inv is None:
                raise not_found("Inventory not found")
            invs = [inv]
        return [i["inventoryUuid"] for i in invs]

    @limited
    async def all_stock(request: Request) -> Response:
        variants = variants_of(cat)
        rows = [r for inv in _store_inventories(None)
                for r in stock.stock_rows(inv, variants, guesses.LOW_STOCK_LEVEL)]
        return _page(request, sorted(rows, key=lambda r: (r["variantUuid"], r["inventoryUuid"])))

    @limited
    async def inventory_stock(request: Request) -> Response:
        (inv,) = _store_inventories(request.path_params["inv"])
        return _page(request, stock.stock_rows(inv, variants_of(cat), guesses.LOW_STOCK_LEVEL))

    @limited
    async def product_stock(request: Request) -> Response:
        (inv,) = _store_inventories(request.path_params["inv"])
        product_uuid = request.path_params["product"]
        if cat.get(product_uuid) is None:
            raise not_found("Product not found")
        if not stock.tracked(product_uuid):
            raise invalid("Inventory tracking is not enabled for the product")  # GUESS (digest §3.1)
        rows = stock.stock_rows(inv, {product_uuid: variants_of(cat)[product_uuid]}, guesses.LOW_STOCK_LEVEL)
        return JSONResponse(rows)

    @limited
    async def movements(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise invalid("The body must be a JSON object")
        stock.move(body.get("movements"), {k: set(v) for k, v in variants_of(cat).items()},
                   external_uuid=body.get("externalUuid"))
        return Response(status_code=204)

    return [
        Route(f"{PREFIX}/inventories", list_inventories, methods=["GET"]),
        Route(f"{PREFIX}/inventories", create_inventory, methods=["POST"]),
        Route(f"{PREFIX}/inventories/{{inv}}", get_inventory, methods=["GET"]),
        Route(f"{PREFIX}/products", start_tracking, methods=["POST"]),
        Route(f"{PREFIX}/products", tracking_status, methods=["GET"]),
        Route(f"{PREFIX}/products/status", stop_tracking, methods=["POST"]),
        Route(f"{PREFIX}/stock", all_stock, methods=["GET"]),
        Route(f"{PREFIX}/stock/{{inv}}", inventory_stock, methods=["GET"]),
        Route(f"{PREFIX}/stock/{{inv}}/products/{{product}}", product_stock, methods=["GET"]),
        Route(f"{PREFIX}/movements", movements, methods=["POST"]),
    ]
