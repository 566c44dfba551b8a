"""The Shopbox emulator: ``create()`` builds the sandbox and its Starlette app.

Shopbox's REST API lives under ``/api/v3`` on ``api.shopbox.com`` (``api-dev.shopbox.com`` for tests)
[3p: sales-sync script, PHP plugin, KDS app]. A client logs in with the merchant's e-mail and password and
sends the ``accessToken`` it gets, with ``client=<shop id>``, in the query string of every call (:mod:`.auth`).
Routes: organisation (:mod:`.org`), catalogue (:mod:`.products`), stock per branch (:mod:`.stock`), sales
receipts (:mod:`.baskets`); the inventory hook Shopbox calls after a till sale (:mod:`.hooks`); what the
staff do, as control routes under ``/__sandbox__/shopbox`` (:mod:`.control`). No official documentation
is public: every guess is in :mod:`.guesses`, the evidence in ``docs/research/shopbox.md``.

The generic knobs' answers (GUESS, nothing documented): 429 with ``Retry-After`` (whole seconds) and the
error body of wire.py for the rate limit, that body with status 5xx for injected faults.
"""

from __future__ import annotations

import math

from starlette.applications import Starlette
from starlette.responses import Response

from integrations_dagster.sandbox.base import DocumentStore, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.shopbox import control, guesses, products, stock as stock_routes
from integrations_dagster.sandbox.shopbox import baskets as basket_routes
from integrations_dagster.sandbox.shopbox import demo as demo_data
from integrations_dagster.sandbox.shopbox.auth import Accounts
from integrations_dagster.sandbox.shopbox.baskets import Ledger
from integrations_dagster.sandbox.shopbox.catalog import Catalog
from integrations_dagster.sandbox.shopbox.hooks import InventoryHook
from integrations_dagster.sandbox.shopbox.org import Org
from integrations_dagster.sandbox.shopbox.stock import Stock
from integrations_dagster.sandbox.shopbox.wire import error


def _server_error(status: int) -> Response:
    return error(status, guesses.SERVER_ERROR_MESSAGE)


def _rate_limited(seconds: float) -> Response:
    return error(429, guesses.RATE_LIMIT_MESSAGE, headers={"Retry-After": str(max(1, math.ceil(seconds)))})


def create(*, db_path: str, knobs: Knobs, credentials: dict[str, str], demo: bool) -> tuple[Sandbox, Starlette]:
    """``credentials``: ``username`` (the login e-mail), ``password``, ``client`` (the shop id, an integer);
    optionally ``api_token`` (a long-lived key accepted as ``api-token``)."""
    accounts = Accounts(credentials, knobs)
    org = Org(accounts.client)
    style = VendorStyle(unauthorized=accounts.unauthorized, rate_limited=_rate_limited, server_error=_server_error)
    holder: dict[str, Ledger] = {}
    hook_holder: dict[str, InventoryHook] = {}
    sandbox = Sandbox("shopbox", style, DocumentStore(db_path), knobs, accounts.accepts,
                      lambda _sb: demo_data.load(holder["ledger"]),
                      load_base=lambda _sb: hook_holder["hook"].restore() if hook_holder else None)
    hook = hook_holder["hook"] = InventoryHook(sandbox.outbox)
    cat = Catalog(sandbox.store, org)
    stock = Stock(sandbox.store, org, cat)
    ledger = holder["ledger"] = Ledger(sandbox.store, org, cat, stock, hook)
    routes = (accounts.routes() + org.routes() + products.routes(cat) + stock_routes.routes(stock)
              + basket_routes.routes(ledger) + control.routes(ledger, hook, accounts))
    app = build_app(sandbox, routes)
    sandbox.reset(demo)
    return sandbox, app
