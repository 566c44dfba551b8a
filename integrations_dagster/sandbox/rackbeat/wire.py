"""Rackbeat wire conventions: errors, JSON bodies, paging, filters, timestamps and item keys in URLs.

* Base path ``/api`` (``https://app.rackbeat.com/api``) [source: SDK config/rackbeat.php] [doc: portal
  authentication-1]; JSON in and out.
* 422 validation errors ``{"errors": {"<field>": ["<message>"]}}``, nested fields dotted
  (``lines.0.item_id``) [doc: portal errors]; other error bodies are Laravel-style guesses (:mod:`.guesses`).
* Lists: the collection under its plural key plus ``total``, ``pages``, ``limit`` (default 20), ``page``;
  206 for a page of a larger set [doc: portal pagination, errors] [spec: swagger InlineResponse206]; the
  status of a list that fits one page is guesses.STATUS_WHOLE_SET.
* Filters: ``search``, ``updated_at_from`` / ``updated_at_to`` as ``YYYY-MM-DD HH:MM:SS`` [doc: portal
  filtering]; ``fields=a,b`` sparse top-level fields, ``order_by`` / ``order_direction`` and boolean
  equality filters (``is_barred=false``, ``is_booked=true``) [source: SDK BaseResource, OrderResource]
  [3p: core-suite ``/items?is_barred=false``].
* Single records under their singular key (``{"product": {..}}``) [source: SDK BaseResource::find/create].
* Timestamps ``"2025-01-08 10:30:00"`` without zone [doc: portal intro-to-webhooks]; zone: guesses.TIMEZONE.
* Item keys in paths: the number URL-encoded once, or ``urlfriendly_number`` encoded once more
  (guesses.URLFRIENDLY_IS_RAWURLENCODE); read from the raw path so an encoded "/" stays inside its segment.
"""

from __future__ import annotations

import json
import math
import threading
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import wraps
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from integrations_dagster.sandbox.rackbeat import guesses

ZONE = ZoneInfo(guesses.TIMEZONE)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class RbError(Exception):
    """A refusal carrying its complete answer."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(json.dumps(body))
        self.status, self.body = status, body

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status)


def handler(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A route whose refusals (:class:`RbError`) become their answers."""
    @wraps(fn)
    async def run(request: Request) -> Response:
        try:
            return await fn(request)
        except RbError as error:
            return error.response()
    return run


def invalid(errors: dict[str, str | list[str]]) -> RbError:
    """422 ``{"errors": {field: [message, ..]}}`` [doc: portal errors]."""
    return RbError(422, {"errors": {k: v if isinstance(v, list) else [v] for k, v in errors.items()}})


def not_found(what: str, key: Any) -> RbError:
    return RbError(404, {"message": guesses.NOT_FOUND_MESSAGE.format(what=what, key=key)})


def required(field: str) -> RbError:
    return invalid({field: guesses.MSG_REQUIRED.format(field=field.replace("_", " "))})


class Clock:
    """The account's wall clock; a test may pin it (``/__sandbox__/rackbeat/clock``) to make
    ``updated_at`` filters exact without sleeping."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.pinned or datetime.now(ZONE).replace(tzinfo=None, microsecond=0)

    def stamp(self) -> str:
        return self.now().strftime(TIME_FORMAT)

    def today(self) -> str:
        return self.now().strftime("%Y-%m-%d")

    def pin(self, value: str | None) -> None:
        with self._lock:
            self.pinned = parse_time(value, "now") if value else None


def parse_time(raw: str, field: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` (or ``YYYY-MM-DD``, its midnight) [doc: portal filtering]."""
    for fmt in (TIME_FORMAT, "%Y-%m-%d"):
        try:
            return datetime.strptime(raw.strip(), fmt)
        except ValueError:
            continue
    raise invalid({field: f"The {field} does not match the format Y-m-d H:i:s."})


# --- request bodies --------------------------------------------------------------------------------------
async def json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise RbError(400, {"message": "The request body is not valid JSON."}) from None
    if not isinstance(body, dict):
        raise RbError(400, {"message": "The request body must be a JSON object."})
    return body


def suppressed(request: Request, body: dict) -> bool:
    """``suppress_webhooks=true`` in the query or the body [doc: portal monitoring-security]."""
    return truthy(request.query_params.get("suppress_webhooks")) or truthy(body.pop("suppress_webhooks", None))


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on") if value is not None else False


def money(value: Any, field: str) -> Decimal:
    """A JSON number (or numeric text) in major units; a comma is refused [spec: swagger "must not use
    comma (,) but instead a period (.) for decimals"]."""
    if isinstance(value, bool) or value is None:
        raise invalid({field: guesses.MSG_NUMERIC.format(field=field)})
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid({field: guesses.MSG_NUMERIC.format(field=field)}) from None
    if not number.is_finite():
        raise invalid({field: guesses.MSG_NUMERIC.format(field=field)})
    return number


def number_out(value: Decimal | int | float) -> float | int:
    """A JSON number: integers stay integers, the rest floats."""
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() and abs(d) < 2 ** 53 else float(d)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-guesses.MONEY_DECIMALS), rounding=ROUND_HALF_UP)


def integer(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise invalid({field: guesses.MSG_INTEGER.format(field=field)})
    try:
        return int(str(value))
    except ValueError:
        raise invalid({field: guesses.MSG_INTEGER.format(field=field)}) from None


# --- item keys -----------------------------------------------------------------------------------------
def urlfriendly(number: str) -> str:
    """PHP rawurlencode (guesses.URLFRIENDLY_IS_RAWURLENCODE)."""
    return quote(number, safe="-_.~")


def raw_segments(request: Request, prefix: str) -> list[str]:
    """The path after ``prefix`` split on "/" *before* percent-decoding, each segment decoded once."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    rest = path[len(prefix):] if path.startswith(prefix) else path
    return [unquote(seg, encoding="utf-8", errors="replace") for seg in rest.strip("/").split("/") if seg != ""]


def key_candidates(segment: str) -> list[str]:
    """A path segment decoded once is the number, or the urlfriendly_number (decode once more)."""
    again = unquote(segment)
    return [segment] if again == segment else [segment, again]


# --- lists ---------------------------------------------------------------------------------------------
def paging(request: Request) -> tuple[int, int]:
    q = request.query_params
    page = _positive(q.get("page"), "page", 1)
    limit = min(_positive(q.get("limit"), "limit", guesses.DEFAULT_LIMIT), guesses.MAX_LIMIT)
    return page, limit


def _positive(raw: str | None, field: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid({field: guesses.MSG_INTEGER.format(field=field)}) from None
    if value < 1:
        raise invalid({field: f"The {field} must be at least 1."})
    return value


def page_response(request: Request, plural: str, rows: list[dict], render: Callable[[dict], dict]) -> Response:
    """One page of ``rows`` (already filtered and sorted) under ``plural`` with the paging metadata."""
    page, limit = paging(request)
    total = len(rows)
    pages = max(1, math.ceil(total / limit)) if total else 1
    chosen = [sparse(request, render(r)) for r in rows[(page - 1) * limit: page * limit]]
    status = guesses.STATUS_PART_OF_SET if total > limit else guesses.STATUS_WHOLE_SET
    return JSONResponse({plural: chosen, "total": total, "pages": pages, "limit": limit, "page": page},
                        status_code=status)


def one(request: Request, key: str, doc: dict, status: int = 200) -> Response:
    return JSONResponse({key: sparse(request, doc)}, status_code=status)


def sparse(request: Request, doc: dict) -> dict:
    """``fields=number,lines(id,quantity),name``: keep the named top-level fields (a parenthesised
    sub-selection keeps the whole field) [source: SDK BaseResource ``fields``] [3p: Rackbeat
    integration-template WebhooksController]."""
    raw = request.query_params.get("fields")
    if not raw:
        return doc
    names, depth, current = [], 0, ""
    for ch in raw:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            names.append(current)
            current = ""
        elif depth == 0:
            current += ch
    names.append(current)
    wanted = {n.strip() for n in names if n.strip()}
    return {k: v for k, v in doc.items() if k in wanted}


def filtered(request: Request, rows: Iterable[dict], kind: str, *, booleans: Iterable[str] = (),
             stamp: Callable[[dict], str] = lambda r: r.get("updated_at", "")) -> list[dict]:
    """Apply ``search``, ``updated_at_from/_to`` and boolean equality filters; then ``order_by``."""
    q = request.query_params
    out = list(rows)
    text = (q.get("search") or "").strip().lower()
    if text:
        fields = guesses.SEARCH_FIELDS.get(kind, ("number", "name"))
        out = [r for r in out if any(text in str(r.get(f) or "").lower() for f in fields)]
    for bound, keep in (("updated_at_from", lambda s, b: s >= b), ("updated_at_to", lambda s, b: s <= b)):
        if q.get(bound):
            limit = parse_time(q[bound], bound).strftime(TIME_FORMAT)
            out = [r for r in out if keep(stamp(r), limit)]
    for name in booleans:
        if q.get(name) is not None:
            want = truthy(q[name])
            out = [r for r in out if bool(r.get(name)) == want]
    order_by = q.get("order_by")
    if order_by:
        reverse = (q.get("order_direction") or "asc").lower() == "desc"
        out.sort(key=lambda r: (r.get(order_by) is None, _sort_key(r.get(order_by))), reverse=reverse)
    return out


def _sort_key(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value or ""))
