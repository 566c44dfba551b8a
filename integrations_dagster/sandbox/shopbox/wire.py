"""Shopbox wire conventions shared by every route: base path, errors, collections and their paging, times.

* Base path ``/api/v3`` on ``api.shopbox.com`` / ``api-dev.shopbox.com`` [3p: Danish sales-sync script
  ``shopbox_sync.py``; PHP WooCommerce plugin ``ShopBox\\Api``; KDS app ``shopbox-api``; Flutter ``URL``].
* Collections answer ``{"data": [...], "meta": {"pagination": {...}}}``; the pagination keys ``total``,
  ``per_page``, ``current_page``, ``total_pages`` and ``links`` {``self``, ``next``, ``last``} are in a
  model generated from a real ``GET /products`` answer [3p: Dart ``ProductsModel`` (quicktype)]; the
  ``links`` carry the request's query string, ``accessToken`` included — the sales-sync script scrubs
  ``accessToken=`` out of them before printing [3p: ``_saniter`` over ``pagination.links``]. ``count``, a
  ``prev`` link and page-1 links without ``page`` are guesses (guesses.py).
* The page size has three spellings, ``per-page``, ``per_page`` and ``num_per_page``, and ``-1`` asks for
  everything [3p: PHP plugin ``getTagProducts``/``getStaff``/``getPaymentTypes`` (``per-page => -1``),
  ``CategoriesExporter`` (``per_page => -1``), ``getProductBranchInventory`` (``num_per_page => 100``)].
* Single objects (a product, a basket, a branch) come bare, not in ``data`` [3p: PHP plugin reads
  ``$api->getProduct($id)->product_variances``, ``getBasket($id)->canceled``, ``getBranchDetails()->cash_registers``].
* Errors: only the statuses are evidenced (401 = token rejected [3p: sales-sync script]; 401 and 403 handled
  apart [3p: KDS app]); the body is a GUESS in the shape a Yii2 REST server writes (guesses.ERROR_NAMES), whose
  ``message`` the KDS app reads (``response.message``).
* Times: ``crdate`` / ``tstamp`` epoch seconds plus ``crdate_formatted`` / ``tstamp_formatted``
  [3p: Dart ``ProductsModel``; sales-sync script reads ``crdate`` of baskets]; the formatted text is a GUESS.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from integrations_dagster.sandbox.base import DocumentStore, int_param
from integrations_dagster.sandbox.shopbox import guesses

BASE = "/api/v3"
COPENHAGEN = ZoneInfo(guesses.TIMEZONE)


class Refusal(Exception):
    """A request Shopbox refuses: its status and message (validation refusals carry their field list)."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors, headers or {}

    def response(self) -> Response:
        if self.errors is not None:
            return JSONResponse(self.errors, status_code=self.status, headers=self.headers)
        return error(self.status, self.message, self.headers)


def error_body(status: int, message: str) -> dict[str, Any]:
    """GUESS (guesses.ERROR_NAMES): ``{"name", "message", "code", "status"}``; never holds request values."""
    return {"name": guesses.ERROR_NAMES.get(status, "Error"), "message": message, "code": 0, "status": status}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def invalid(*pairs: tuple[str, str]) -> Refusal:
    """A validation refusal: GUESS 422 with ``[{"field", "message"}]`` (guesses.VALIDATION_STATUS)."""
    return Refusal(guesses.VALIDATION_STATUS, pairs[0][1] if pairs else "Data validation failed",
                   [{"field": field, "message": message} for field, message in pairs])


def not_found(what: str) -> Refusal:
    return Refusal(404, f"{what} not found.")


def handler(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Turn a :class:`Refusal` raised by a route into its response."""
    @wraps(fn)
    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except Refusal as refusal:
            return refusal.response()
    return wrapped


async def json_body(request: Request) -> dict[str, Any]:
    """A JSON object (the evidenced clients send JSON); a form body is read too (GUESS, lenient)."""
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "Invalid JSON data in request body.") from None
    if not isinstance(data, dict):
        raise Refusal(400, "The request body must be a JSON object.")
    return data


# --- numbers ---------------------------------------------------------------------------------------
def minor_units(value: Any, field: str, *, allow_negative: bool = False) -> int:
    """An amount in øre. Integral floats (PHP's ``round()`` sends ``24900.0`` [3p: PHP plugin]) are taken;
    a fraction of an øre is refused (guesses.FRACTIONAL_MINOR_UNITS_REFUSED)."""
    message = f"{field} must be an integer (øre)."
    number = _finite(value, field, message)
    if number != int(number):
        raise invalid((field, message))
    if number < 0 and not allow_negative:
        raise invalid((field, f"{field} must be no less than 0."))
    return int(number)


def quantity(value: Any, field: str) -> int | float:
    """A quantity: integral numbers become ints; fractions are kept (goods sold by weight — GUESS)."""
    number = _finite(value, field, f"{field} must be a number.")
    return int(number) if number == int(number) else number


def _finite(value: Any, field: str, message: str) -> float:
    """A JSON number or numeric text as a finite float; anything else is refused with ``message``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise invalid((field, message))
    try:
        number = float(value)
    except ValueError:
        raise invalid((field, message)) from None
    if not math.isfinite(number):
        raise invalid((field, message))
    return number


def ref(value: Any, field: str, *, required: bool = True) -> int | None:
    """An integer reference (uids are integers [3p: Dart ``ProductsModel`` ``int uid``])."""
    if value in (None, "", 0, "0"):
        if required:
            raise invalid((field, f"{field} cannot be blank."))
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise invalid((field, f"{field} must be an integer.")) from None
    return number


# --- times -----------------------------------------------------------------------------------------
def now() -> int:
    return int(time.time())


def formatted(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, COPENHAGEN).strftime(guesses.TIMESTAMP_FORMAT)


def stamps(crdate: int, tstamp: int) -> dict[str, Any]:
    return {"crdate": crdate, "tstamp": tstamp, "crdate_formatted": formatted(crdate),
            "tstamp_formatted": formatted(tstamp)}


# --- collections -------------------------------------------------------------------------------------
def page_request(request: Request) -> tuple[int, int | None]:
    """(page, per_page or None for everything) from the query string (guesses.PER_PAGE_PARAMS)."""
    page = int_param(request, "page", 1, 1, None, _refuse("page"))
    per_page: int | None = guesses.DEFAULT_PER_PAGE
    for name in guesses.PER_PAGE_PARAMS:
        if request.query_params.get(name) is None:
            continue
        size = int_param(request, name, 0, min(guesses.ALL_ROWS, 1), None, _refuse(name))
        if size == guesses.ALL_ROWS:
            per_page = None
        elif size < 1:
            raise _refuse(name)("range", request.query_params[name])
        else:
            per_page = min(size, guesses.MAX_PER_PAGE)
        break
    return page, per_page


def _refuse(name: str) -> Callable[[str, str], Refusal]:
    """The refusal of a paging parameter that is not an integer ("type") or is below 1 ("range")."""
    def refuse(kind: str, _raw: str) -> Refusal:
        return invalid((name, f"{name} must be an integer." if kind == "type" else f"{name} must be no less than 1."))
    return refuse


def _link(request: Request, page: int) -> str:
    """The request's own URL with ``page`` set: every other parameter, ``accessToken`` included, is kept
    (guesses.LINKS_CARRY_QUERY); page 1 is written without ``page`` (guesses.LINKS_OMIT_PAGE_ONE)."""
    pairs = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "page"]
    if not guesses.LINKS_CARRY_QUERY:
        pairs = [(k, v) for k, v in pairs if k not in ("accessToken", "api-token")]
    if page != 1 or not guesses.LINKS_OMIT_PAGE_ONE:
        pairs.append(("page", str(page)))
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    return f"{base}?{urlencode(pairs)}" if pairs else base


def envelope(request: Request, rows: list[dict[str, Any]], total: int, page: int,
             per_page: int | None) -> dict[str, Any]:
    """``{"data", "meta": {"pagination": …}}`` for one page of ``total`` rows."""
    size = per_page if per_page is not None else max(total, 1)
    total_pages = max(1, math.ceil(total / size)) if total or guesses.EMPTY_TOTAL_PAGES else 0
    links: dict[str, str] = {"self": _link(request, page)}
    if page < total_pages:
        links["next"] = _link(request, page + 1)
    if guesses.PREV_LINK and 1 < page <= total_pages + 1:
        links["prev"] = _link(request, page - 1)
    links["last"] = _link(request, max(total_pages, 1))
    pagination: dict[str, Any] = {"total": total}
    if guesses.PAGINATION_COUNT:
        pagination["count"] = len(rows)
    pagination.update({"per_page": size, "current_page": page, "total_pages": total_pages, "links": links})
    return {"data": rows, "meta": {"pagination": pagination}}


def paged(request: Request, rows: Iterable[dict[str, Any]]) -> JSONResponse:
    """One page of an in-memory list (small collections: tags, branches, products)."""
    page, per_page = page_request(request)
    items = list(rows)
    start = 0 if per_page is None else (page - 1) * per_page
    chunk = items[start:] if per_page is None else items[start:start + per_page]
    if per_page is None and page > 1:
        chunk = []
    return JSONResponse(envelope(request, chunk, len(items), page, per_page))


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document without the sandbox's private keys (``_…``) and the store's own ``id``."""
    return {k: v for k, v in doc.items() if not k.startswith("_") and k != "id"}


@contextmanager
def atomic(store: DocumentStore):
    """A transaction that nests: only the outermost one commits (the store's lock is re-entrant)."""
    with store.lock:
        if store._conn.in_transaction:
            yield store
            return
        with store.transaction():
            yield store
