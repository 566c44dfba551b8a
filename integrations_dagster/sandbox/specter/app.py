"""The Specter (Specter Business Management) emulator: ``create()`` builds the sandbox and its app.

Specter's web-shop API is two classic-ASP pages on ``https://api.specter.se/`` [3p: PrestaShop module
SpecterConnector `$specter_base_url`]: ``getInfo.asp`` and ``putInfo.asp`` (:mod:`.api`). Every call is
authenticated by an MD5 ``key`` over the account's keys and one value of the request (:mod:`.auth`), so
the generic middleware lets every request through (``check_auth`` is always true) and the API refuses a
wrong key itself, the way Specter answers everything: ``0;<code>;<message>`` with HTTP 200
(guesses.REFUSAL_HTTP_STATUS). The change feeds and their batch protocol are :mod:`.feeds`; the push
callbacks :mod:`.callbacks`; what an ERP user does, the control routes of :mod:`.control`. Every guess is
in :mod:`.guesses`; the evidence is digested in ``docs/research/specter.md``.

The generic knobs' faults answer as IIS would (GUESS, no evidence): 500 with IIS's HTML error page,
and 503 "Service Unavailable" with ``Retry-After`` for the rate limit (no rate limit is documented).
"""

from __future__ import annotations

import math

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response

from integrations_dagster.sandbox.base import DocumentStore, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.specter import control, guesses
from integrations_dagster.sandbox.specter import demo as demo_data
from integrations_dagster.sandbox.specter.api import Api
from integrations_dagster.sandbox.specter.auth import Account
from integrations_dagster.sandbox.specter.callbacks import Callbacks
from integrations_dagster.sandbox.specter.erp import Erp
from integrations_dagster.sandbox.specter.feeds import Feeds, Limits
from integrations_dagster.sandbox.specter.wire import Refusal, refusal_response


def _server_error(status: int) -> Response:
    return HTMLResponse(f"<h2>{status} - Internal server error.</h2>", status_code=status)


def _rate_limited(seconds: float) -> Response:
    return HTMLResponse("<h2>HTTP Error 503. The service is unavailable.</h2>", status_code=503,
                        headers={"Retry-After": str(max(1, math.ceil(seconds)))})


STYLE = VendorStyle(unauthorized=lambda: refusal_response(None, Refusal(guesses.ERR_KEY)),
                    rate_limited=_rate_limited, server_error=_server_error)


def create(*, db_path: str, knobs: Knobs, credentials: dict[str, str], demo: bool) -> tuple[Sandbox, Starlette]:
    """``credentials``: ``sbm_id``, ``api_user_id``, ``user_key`` and, for an API-v2 account (required for
    multishop ``webshopId``), ``integration_key``."""
    account = Account.from_credentials(credentials)
    limits = Limits()
    holder: dict[str, Erp] = {}
    sandbox = Sandbox("specter", STYLE, DocumentStore(db_path), knobs, lambda _request: True,
                      lambda _sb: demo_data.load(holder["erp"]),
                      load_base=lambda _sb: limits.restore())
    feeds = Feeds(sandbox.store, limits)
    erp = holder["erp"] = Erp(sandbox.store, feeds, Callbacks(sandbox.store, sandbox.outbox))
    app = build_app(sandbox, control.routes(erp) + Api(account, erp).routes())
    sandbox.reset(demo)
    return sandbox, app

