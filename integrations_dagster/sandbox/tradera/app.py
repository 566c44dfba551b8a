"""The Tradera emulator: ``create()`` builds the sandbox and its Starlette app.

Tradera's REST API v4 (beta) lives under ``/v4/`` on ``api.tradera.com`` [doc: rest] [spec ``#/paths``]; the
evidence is ``docs/research/tradera.md``, every guess is in :mod:`.guesses`. Modules: credentials and the
token login (:mod:`.auth`), reference data (:mod:`.reference`), shop items (:mod:`.items`, rules in
:mod:`.listing`, read views in :mod:`.views`), the write queue (:mod:`.queue`), orders and transactions
(:mod:`.orders`), the quota (:mod:`.quota`), validation against the vendor spec (:mod:`.spec`), test
instruments (:mod:`.control`), demo data (:mod:`.demo`).

Credentials: ``app_id``, ``app_key`` (GUID), ``public_key`` (GUID, for the login page), ``user_id``,
``user_token`` (GUID; tokens issued through the login work too).

The generic knobs' answers: the quota is ``rate_limit``/``rate_window_s`` (with ``demo=True`` and no limit
set: 100 per 86 400 s; the window defaults to 24 h whenever the generic 1 s default is left) answered 429 in
the error envelope with no Retry-After or X-RateLimit header (guesses.QUOTA_HEADERS); injected faults are
the envelope with status 5xx. Auth is checked inside the routes, after the quota count, so that 401/403
answers count as calls (guesses.QUOTA_COUNTS_ERRORS): the middleware's own auth hook always passes.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from integrations_dagster.sandbox.base import DocumentStore, Knobs, Sandbox, VendorStyle, build_app
from integrations_dagster.sandbox.tradera import control, guesses, items, reference
from integrations_dagster.sandbox.tradera import demo as demo_data
from integrations_dagster.sandbox.tradera.auth import Auth
from integrations_dagster.sandbox.tradera.orders import Orders
from integrations_dagster.sandbox.tradera.queue import Queue
from integrations_dagster.sandbox.tradera.quota import LoginPagesExempt, QuotaWindow
from integrations_dagster.sandbox.tradera.shop import Shop
from integrations_dagster.sandbox.tradera.wire import Api, Clock, error


def _rate_limited(_seconds: float) -> Response:
    return error(429, guesses.RATE_LIMIT_MESSAGE, headers=dict(guesses.QUOTA_HEADERS))


def _server_error(status: int) -> Response:
    return error(status, guesses.SERVER_ERROR_MESSAGE)


async def _http_error(request: Request, exc) -> Response:
    status = getattr(exc, "status_code", 404)
    if request.url.path.startswith("/v4/"):
        return error(status, "The resource was not found." if status == 404 else "The method is not allowed.")
    return PlainTextResponse(str(getattr(exc, "detail", "")), status_code=status)


def create(*, db_path: str, knobs: Knobs, credentials: dict[str, str], demo: bool) -> tuple[Sandbox, Starlette]:
    clock = Clock()
    holder: dict[str, Shop] = {}
    style = VendorStyle(unauthorized=lambda: error(401, guesses.INVALID_APP_ID), rate_limited=_rate_limited,
                        server_error=_server_error)
    sandbox = Sandbox("tradera", style, DocumentStore(db_path), knobs, lambda _request: True,
                      lambda _sb: demo_data.load(holder["shop"]), load_base=lambda _sb: holder["shop"].load_base())
    quota = sandbox.window = QuotaWindow(clock)  # the generic limiter, on the sandbox clock (quota.py)
    shop = holder["shop"] = Shop(sandbox.store, clock, str(credentials.get("user_id", "")))
    queue, orders = Queue(shop), Orders(shop)
    auth = Auth(credentials, clock, shop.settings)
    api = Api(auth.check, queue.process_due)
    routes = (auth.routes(api) + reference.routes(api, shop, clock) + items.routes(api, shop, queue)
              + queue.routes(api) + orders.routes(api) + control.routes(sandbox, quota, queue, orders, auth))
    app = build_app(sandbox, routes)
    app.add_middleware(LoginPagesExempt)
    app.add_exception_handler(404, _http_error)
    app.add_exception_handler(405, _http_error)
    if knobs.rate_window_s == Knobs().rate_window_s:
        knobs.rate_window_s = guesses.QUOTA_WINDOW_S
    if demo and not knobs.rate_limit:
        knobs.rate_limit = guesses.QUOTA_LIMIT
    sandbox.reset(demo)
    return sandbox, app
