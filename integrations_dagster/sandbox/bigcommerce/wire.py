"""BigCommerce wire conventions: auth, error bodies, the per-store quota gate, dates and money.

* Auth: header ``X-Auth-Token`` [spec: products_catalog.v3.yml#components/securitySchemes/X-Auth-Token]
  under ``/stores/{store_hash}`` [spec: every file's ``servers``]; ``X-Auth-Client`` is not needed
  [doc: BCdocs:docs/start/about/index.mdx]. Bodies of the 401 are guesses (:mod:`.guesses`).
* v3 errors ``{status, title, type, errors}`` [spec: products_catalog.v3.yml#components/schemas/errorResponse_409]
  (404: ``{status, title, type, instance}`` [spec: products_catalog.v3.yml#getProduct]); v2 errors are
  a JSON array ``[{"status", "message"}]`` [spec: orders.v2.oas2.yml#updateOrderShippingAddress].
* v3 dates ISO-8601 with offset (``2018-08-24T14:41:00+00:00``) [spec: products_catalog.v3.yml#components/schemas/product_Full];
  v2 dates RFC-2822, UTC [spec: orders.v2.oas2.yml#components/schemas/order_RespOnly]; v2 money
  strings with 4 decimals [spec: orders.v2.oas2.yml#components/responses/order_Resp].
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import format_datetime, parsedate_to_datetime
from functools import wraps
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from integrations_dagster.sandbox.bigcommerce import guesses
from integrations_dagster.sandbox.bigcommerce.quota import StoreQuota

# The v3 catalog's error type URL [doc: BCdocs:docs/start/migration/4_errors.md]; the webhooks and
# customers files use the short form [spec: webhooks.v3.yml#components/responses/401_Unauthorized].
TYPE_URL = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
TYPE_SHORT = "/api-docs/getting-started/api-status-codes"


class BcError(Exception):
    """A refusal with its complete body (a dict for v3, a list for v2)."""

    def __init__(self, status: int, body: Any, media_type: str = "application/json") -> None:
        super().__init__(str(body))
        self.status, self.body, self.media_type = status, body, media_type

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(self.body), status_code=self.status, media_type=self.media_type,
                        headers=headers)


def v3_error(status: int, title: str, errors: dict | None = None, *, type_: str = TYPE_URL) -> BcError:
    """``{status, title, type, errors}`` [spec: products_catalog.v3.yml#components/schemas/errorResponse_422]."""
    return BcError(status, {"status": status, "title": title, "type": type_, "errors": errors or {}})


def not_found(instance: str = "") -> BcError:
    """404 of a catalog read: ``{status, title, type, instance}`` [spec: products_catalog.v3.yml#getProduct]
    ("The requested resource was not found" is the title the example gives)."""
    return BcError(404, {"status": 404, "title": "The requested resource was not found.", "type": TYPE_URL,
                         "instance": instance})


def problem(status: int, title: str, errors: dict | None = None) -> BcError:
    """Inventory errors: ``application/problem+json`` [spec: inventory.v3.yml#components/schemas/ErrorResponse]."""
    return BcError(status, {"status": status, "title": title, "type": TYPE_URL, "errors": errors or {}},
                   "application/problem+json")


def v2_error(status: int, message: str) -> BcError:
    return BcError(status, [{"status": status, "message": message}])


def unauthorized(api: str) -> Response:
    if api == "v2":
        return v2_error(401, guesses.V2_UNAUTHORIZED_MESSAGE).response()
    return BcError(401, {"status": 401, "title": guesses.UNAUTHORIZED_TITLE, "type": TYPE_SHORT}).response()


class Gate:
    """What every vendor request passes before its handler: the store hash and token, then the quota."""

    def __init__(self, store_hash: str, token: str, quota: StoreQuota) -> None:
        self.store_hash, self.token, self.quota = store_hash, token, quota

    def endpoint(self, api: str, fn: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        """``fn`` returns ``(status, body)`` (body None = empty) or raises :class:`BcError`."""

        @wraps(fn)
        async def run(request: Request) -> Response:
            if request.headers.get("x-auth-token") != self.token:
                return unauthorized(api)
            if request.path_params.get("store_hash") != self.store_hash:
                return unauthorized(api) if guesses.WRONG_STORE_STATUS == 401 else not_found().response()
            allowed, headers = self.quota.admit()
            if not allowed:
                return BcError(429, {"status": 429, "title": guesses.RATE_LIMIT_TITLE, "type": TYPE_SHORT,
                                     "errors": {}}).response(headers)
            try:
                status, body = await fn(request)
            except BcError as refusal:
                return refusal.response(headers)
            if body is None:
                return Response(status_code=status, headers=headers)
            return JSONResponse(body, status_code=status, headers=headers)

        return run


async def json_body(request: Request, want: type) -> Any:
    """The request's JSON of the wanted top-level type; anything else is a 422 (title: guess)."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, want):
        raise v3_error(422, guesses.INVALID_FIELD_TITLE, {"body": f"The request body must be a JSON {want.__name__}."})
    return body


def now() -> datetime:
    return datetime.now(UTC)


def store_time(moment: datetime) -> str:
    """The ``modified`` column: sortable UTC text with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def iso(stored: str) -> str:
    """Stored UTC text -> ``2018-08-24T14:41:00+00:00``."""
    return datetime.strptime(stored, "%Y-%m-%dT%H:%M:%S.%f").strftime("%Y-%m-%dT%H:%M:%S+00:00")


def rfc2822(stored: str) -> str:
    """Stored UTC text -> ``Tue, 05 Mar 2019 21:40:11 +0000``."""
    moment = datetime.strptime(stored, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC, microsecond=0)
    return format_datetime(moment).replace("-0000", "+0000")


def parse_any_date(raw: str, *, date_only_gets_now: bool) -> str:
    """ISO-8601 or RFC-2822 (v2 filters accept both [spec: orders.v2.oas2.yml#components/parameters/min_date_modified])
    -> stored UTC text. A bare date gets the current time of the request appended
    [spec: products_catalog.v3.yml#components/parameters/DateModifiedMinParam] (quirk §9.7)."""
    text = raw.strip()
    try:
        if len(text) == 10 and text[4] == "-":
            day = datetime.fromisoformat(text)
            clock = now() if date_only_gets_now else day.replace(tzinfo=UTC)
            moment = day.replace(hour=clock.hour, minute=clock.minute, second=clock.second, tzinfo=UTC)
        elif text[:1].isdigit():
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            moment = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError):
        raise v3_error(422, "Invalid date", {"date": f"{raw!r} is not a date"}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return store_time(moment)


def money4(value: Decimal | float | int | str) -> str:
    """v2 money: a string with 4 decimals (``"62.6793"``)."""
    return str(Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def price4(value: Any) -> float:
    """v3 prices: JSON numbers kept to 4 decimals (``10.99994`` -> ``10.9999``)
    [doc: BCdocs:docs/store-operations/catalog/index.mdx]."""
    return float(Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
