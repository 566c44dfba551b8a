"""Test instruments under ``/__sandbox__/tradera`` (no credentials, never counted against the quota).

* ``POST /buy`` ``{"itemId", "quantity"?: 1, "buyer"?: {SellerOrderUser fields}, "shippingOptionId"?,
  "paymentOptionId"?}`` — a buyer purchases a shop item: a paid order (:mod:`.orders`) → the SellerOrder;
  404 unknown item, 409 more than remains or not for sale.
* ``GET|POST /settings`` ``{"queue_delay_s", "max_active_items", "max_inventory_items", "payment_option_ids",
  "accept_url", "reject_url"}`` — the sandbox's settings (shop.DEFAULT_SETTINGS; a reset restores them).
* ``GET|POST /quota`` ``{"used"?: n, "limit"?: n, "window_s"?: s}`` — calls counted in the quota window now
  (``used``), or set: ``used`` fills/empties the window with n calls made now; ``limit``/``window_s`` set the
  generic knobs ``rate_limit``/``rate_window_s`` (0 = no quota).
* ``GET|POST /clock`` ``{"advance_s": s}`` — the sandbox clock (quota window, queue delays, token expiry,
  order dates) moves forward; it never goes back (``/__sandbox__/reset`` leaves it where it is).
* ``POST /process`` — process every queued request now, whatever its delay.
* ``GET /items`` every stored item with its internal state; ``GET /orders`` every order (with ``shipped``);
  ``GET /requests`` the queue; ``POST /tokens/expire`` every token issued through the login expires.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations_dagster.sandbox.base import SANDBOX_PREFIX, Sandbox
from integrations_dagster.sandbox.tradera.auth import Auth
from integrations_dagster.sandbox.tradera.orders import Orders
from integrations_dagster.sandbox.tradera.queue import Queue
from integrations_dagster.sandbox.tradera.quota import QuotaWindow
from integrations_dagster.sandbox.tradera.wire import Refusal, error

PREFIX = f"{SANDBOX_PREFIX}/tradera"


async def _body(request: Request) -> dict:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise Refusal(400, "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise Refusal(400, "The body must be a JSON object.")
    return data


def routes(sandbox: Sandbox, quota: QuotaWindow, queue: Queue, orders: Orders, auth: Auth) -> list[Route]:
    shop, clock, knobs = queue.shop, queue.clock, sandbox.knobs

    def handler(fn):
        async def endpoint(request: Request) -> Response:
            try:
                body = await _body(request) if request.method == "POST" else {}
                queue.process_due()
                return JSONResponse(fn(body))
            except Refusal as refusal:
                return refusal.response()
            except (ValueError, TypeError) as exc:
                return error(400, str(exc))
        return endpoint

    def buy(body: dict) -> dict:
        return orders.buy(body)

    def settings(body: dict) -> dict:
        return shop.update_settings(body) if body else shop.settings()

    def quota_route(body: dict) -> dict:
        if "limit" in body:
            knobs.rate_limit = int(body["limit"])
        if "window_s" in body:
            knobs.rate_window_s = float(body["window_s"])
        if "used" in body:
            quota.fill(int(body["used"]))
        return {"used": quota.used(knobs.rate_window_s), "limit": knobs.rate_limit, "window_s": knobs.rate_window_s}

    def clock_route(body: dict) -> dict:
        if body.get("advance_s"):
            clock.advance(float(body["advance_s"]))
        return {"now": clock.stamp(), "offset_s": clock.offset}

    def process(_: dict) -> dict:
        for request in queue.store.find("requests", key="pending"):
            request["dueAt"] = 0.0
            queue.store.put("requests", request["id"], request, key="pending")
        return {"processed": queue.process_due()}

    return [
        Route(f"{PREFIX}/buy", handler(buy), methods=["POST"]),
        Route(f"{PREFIX}/settings", handler(settings), methods=["GET", "POST"]),
        Route(f"{PREFIX}/quota", handler(quota_route), methods=["GET", "POST"]),
        Route(f"{PREFIX}/clock", handler(clock_route), methods=["GET", "POST"]),
        Route(f"{PREFIX}/process", handler(process), methods=["POST"]),
        Route(f"{PREFIX}/items", handler(lambda _: shop.items()), methods=["GET"]),
        Route(f"{PREFIX}/orders", handler(lambda _: orders.all()), methods=["GET"]),
        Route(f"{PREFIX}/requests", handler(lambda _: queue.all()), methods=["GET"]),
        Route(f"{PREFIX}/tokens/expire", handler(lambda _: {"expired": auth.expire_all()}), methods=["POST"]),
    ]
