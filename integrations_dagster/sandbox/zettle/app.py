"""The Zettle emulator: ``create()`` builds the sandbox and its Starlette app.

Zettle spreads its API over several hosts [digest §1–§5]; the sandbox serves them on one port, each
host as a path prefix: ``/oauth`` (oauth.zettle.com), ``/products`` (products.izettle.com),
``/inventory`` (inventory.izettle.com), ``/purchase`` (purchase.izettle.com), ``/pusher``
(pusher.izettle.com; signed webhook deliveries: :mod:`.events`). Every route but ``/oauth/token`` needs ``Authorization: Bearer <token>``
from the assertion grant (:mod:`.oauth`). Control routes of a till live under ``/__sandbox__/zettle``.

Vendor errors: the envelope ``{developerMessage, errorType, violations}`` [issue: iZettle/api-documentation#37];
429 "You hit the rate limit" is documented without headers or body [doc: purchase.adoc §Responses], so
the generic limiter answers as the inventory limiter does (guesses.py). The inventory service has
its own documented 4 requests/s limit (:mod:`.inventory`), independent of ``knobs.rate_limit``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import Response

from integrations_dagster.sandbox.base import DocumentStore, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.zettle import demo as demo_data
from integrations_dagster.sandbox.zettle import events, guesses, inventory, oauth, products, purchases, pusher, till
from integrations_dagster.sandbox.zettle.stock import Stock
from integrations_dagster.sandbox.zettle.wire import error


def _server_error(status: int) -> Response:
    return error(status, "Internal server error", guesses.SERVER_ERROR_TYPE)


def create(*, db_path: str, knobs: Knobs, credentials: dict[str, str], demo: bool) -> tuple[Sandbox, Starlette]:
    """``credentials``: ``client_id`` and ``api_key`` (the API key JWT the merchant created); the
    token endpoint accepts exactly this pair."""
    issuer = oauth.TokenIssuer(credentials, knobs)
    bucket = inventory.TokenBucket(guesses.INVENTORY_RATE_PER_S, guesses.INVENTORY_BURST)
    style = VendorStyle(unauthorized=issuer.unauthorized, rate_limited=inventory.rate_limited,
                        server_error=_server_error)

    settings = events.Settings()

    def load_base(_: Sandbox) -> None:
        """A reset also restores the vendor's inventory limit and empties its bucket, and the Pusher
        test instruments (HTTPS-only destinations, the vendor's retry schedule)."""
        bucket.rate, bucket.burst = guesses.INVENTORY_RATE_PER_S, guesses.INVENTORY_BURST
        bucket.clear()
        settings.restore()

    sandbox = Sandbox("zettle", style, DocumentStore(db_path), knobs, issuer.accepts, demo_data.load,
                      load_base=load_base)
    subs = pusher.Subscriptions(sandbox.store, settings)
    publisher = events.Publisher(sandbox.store, sandbox.outbox, settings, subs.all)
    cat = products.Catalog(sandbox.store, publisher)
    stock = Stock(sandbox.store, publisher)
    ledger = purchases.Ledger(sandbox.store)
    routes = (issuer.routes() + products.routes(cat) + inventory.routes(cat, stock, bucket)
              + purchases.routes(ledger) + pusher.routes(subs)
              + till.routes(till.Till(cat, stock, ledger, publisher), bucket))
    app = build_app(sandbox, routes)
    sandbox.reset(demo)
    return sandbox, app
