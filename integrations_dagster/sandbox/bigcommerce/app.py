"""The BigCommerce REST API emulator: ``create()`` builds the sandbox and its Starlette app.

Paths mirror ``https://api.bigcommerce.com/stores/{store_hash}`` + ``/v3/...`` and ``/v2/...``
[spec: every file's ``servers``]. ``credentials``: ``store_hash`` and ``access_token`` (sent as
``X-Auth-Token``), optional ``client_secret`` (signs webhook callbacks, :mod:`.events`; falls back to
the access token). Auth and BigCommerce's own per-store quota (150 requests / 30 s, headers on every
answer) are checked per route by :class:`.wire.Gate`, since v2 and v3 spell their errors differently;
the generic knobs (latency, faults, ``knobs.rate_limit``) still apply on top, answered in v3's shape.

Sandbox-only control routes (test instruments, not vendor behaviour):
``POST /__sandbox__/bigcommerce/quota {"requests": N, "window_ms": M}`` and
``POST /__sandbox__/bigcommerce/order`` (a shopper checks out, :mod:`.orders`).
"""

from __future__ import annotations

import math

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations_dagster.sandbox.base import DocumentStore, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.bigcommerce import categories, inventory, orders, products, variants
from integrations_dagster.sandbox.bigcommerce import demo as demo_data
from integrations_dagster.sandbox.bigcommerce.catalog import Catalog
from integrations_dagster.sandbox.bigcommerce.events import Events
from integrations_dagster.sandbox.bigcommerce.quota import StoreQuota
from integrations_dagster.sandbox.bigcommerce.wire import TYPE_SHORT, BcError, Gate


def _v3(status: int, title: str, headers: dict[str, str] | None = None):
    return BcError(status, {"status": status, "title": title, "type": TYPE_SHORT, "errors": {}}).response(headers)


# Generic knobs answered the vendor's way: 429 body [spec: customers.v3.yml#validateCustomerCredentials],
# ``X-Retry-After`` in seconds [doc: BCdocs:docs/start/about/index.mdx]; 5xx bodies are not documented.
STYLE = VendorStyle(
    unauthorized=lambda: _v3(401, "Unauthorized"),  # not used: the Gate answers auth per API
    rate_limited=lambda seconds: _v3(429, "Too many requests", {"X-Retry-After": str(max(1, math.ceil(seconds)))}),
    server_error=lambda status: _v3(status, "Internal Server Error"),
)


def create(*, db_path: str, knobs: Knobs, credentials: dict[str, str], demo: bool) -> tuple[Sandbox, Starlette]:
    quota = StoreQuota()
    store = DocumentStore(db_path)
    catalog = Catalog(store)
    gate = Gate(credentials["store_hash"], credentials["access_token"], quota)
    events: list[Events] = []

    def load_base(_sb: Sandbox) -> None:
        quota.reset()
        for each in events:
            each.forget()

    sandbox = Sandbox("bigcommerce", STYLE, store, knobs, lambda _request: True, demo_data.load, load_base=load_base)
    # Webhook callbacks are signed with the app's client secret (:mod:`.events`); without a
    # ``client_secret`` credential the access token signs (guesses.SIGNING_SECRET_FALLS_BACK_TO_ACCESS_TOKEN).
    secret = credentials.get("client_secret") or credentials["access_token"]
    catalog.events = Events(store, sandbox.outbox, credentials["store_hash"], secret)
    events.append(catalog.events)

    async def set_quota(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            quota.configure(int(body.get("requests", quota.requests)), int(body.get("window_ms", quota.window_ms)))
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"requests": quota.requests, "window_ms": quota.window_ms})

    routes = (products.routes(gate, catalog) + variants.routes(gate, catalog) + categories.routes(gate, catalog)
              + inventory.routes(gate, catalog) + orders.routes(gate, catalog)
              + [Route("/__sandbox__/bigcommerce/quota", set_quota, methods=["POST"])])
    app = build_app(sandbox, routes)
    sandbox.reset(demo)
    return sandbox, app

