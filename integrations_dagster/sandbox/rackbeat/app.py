"""The Rackbeat emulator: ``create()`` builds the sandbox and its Starlette app.

Rackbeat (Danish inventory/ERP) is a JSON REST API under ``https://app.rackbeat.com/api`` [source: SDK
config/rackbeat.php]; every request carries ``Authorization: Bearer <API key>`` [doc: portal
authentication-1]. ``credentials``: ``api_key`` and, optionally, ``account_id`` (sent in
``Rackbeat-Account-Id`` on webhook deliveries; default guesses.ACCOUNT_ID).

Modules: :mod:`.wire` (errors, paging, filters, keys in URLs), :mod:`.account` (the account's records),
:mod:`.catalog` / :mod:`.stock` / :mod:`.sales` (the records' rules), :mod:`.events` (webhooks),
:mod:`.api_items` / :mod:`.api_sales` (routes), :mod:`.control` (what a Rackbeat user does, for tests),
:mod:`.demo`. Every guess is in :mod:`.guesses`; the evidence is digested in ``docs/research/rackbeat.md``.

The generic knobs answer the Laravel way (guesses): 401 ``{"message": "Unauthenticated."}``, 429
``{"message": "Too Many Attempts."}`` with ``Retry-After`` and ``X-RateLimit-Limit`` /
``X-RateLimit-Remaining`` headers (the two kg-bot reads), 5xx ``{"message": "Server Error"}``. No rate
limit is documented, so none applies unless ``knobs.rate_limit`` is set.
"""

from __future__ import annotations

import hmac
import math

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from integrations_dagster.sandbox.base import DocumentStore, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.rackbeat import api_items, api_sales, control, guesses
from integrations_dagster.sandbox.rackbeat import demo as demo_data
from integrations_dagster.sandbox.rackbeat.account import Account


def _rate_limited(seconds: float) -> JSONResponse:
    return JSONResponse(guesses.RATE_LIMITED_BODY, status_code=429,
                        headers={"Retry-After": str(max(1, math.ceil(seconds))), "X-RateLimit-Remaining": "0"})


STYLE = VendorStyle(
    unauthorized=lambda: JSONResponse(guesses.UNAUTHENTICATED_BODY, status_code=401),
    rate_limited=_rate_limited,
    server_error=lambda status: JSONResponse(guesses.SERVER_ERROR_BODY, status_code=status),
    rate_limit_headers=lambda limit, left, _reset: {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(left)},
)


def create(*, db_path: str, knobs: Knobs, credentials: dict[str, str], demo: bool) -> tuple[Sandbox, Starlette]:
    api_key = credentials["api_key"]
    holder: dict[str, Account] = {}

    def check_auth(request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            return False
        holder["account"].base_url = str(request.base_url).rstrip("/") + "/api"  # for ``self`` links
        return True

    sandbox = Sandbox("rackbeat", STYLE, DocumentStore(db_path), knobs, check_auth,
                      lambda _sb: demo_data.load(holder["account"]),
                      load_base=lambda _sb: holder["account"].reset_settings())
    account = holder["account"] = Account(sandbox.store, sandbox.outbox,
                                          str(credentials.get("account_id") or guesses.ACCOUNT_ID))
    app = build_app(sandbox, control.routes(account) + api_items.routes(account) + api_sales.routes(account))
    sandbox.reset(demo)
    return sandbox, app
