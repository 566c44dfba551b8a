"""Fortnox wire conventions shared by the sandbox's handlers: errors, wrapped bodies, timestamps.

Errors as recorded traffic spells them [rec: ../shared/api-specs/fortnox/recordings]: a refusal
(400) is ``{"ErrorInformation": {"error", "message", "code"}}`` in lowercase (invoices/filter_invalid.yml:
2000587 "Ett ogiltigt filter har använts."), a record not found (404) the same in capitals
``Error/Message/Code`` with a code per resource (articles/find_failure.yml 2000428 "Kan inte hitta
artikeln.", customers/ 2000433, invoices/ 2000434, orders/ 2000439), and an expired or unknown token
is answered by the gateway as 401 ``{"message": "unauthorized"}`` (authentication/expired_token.yml).
Recorded codes: 2000428/33/34/39, 2000587, 2002649 ("Felaktig datastruktur."), 2001399 ("Felaktigt
fältnamn (price)"); documented: 2000359 (characters not allowed), 2001304 (no account). The other
codes are stand-ins in the same range, so clients must key on the HTTP status, never on a code.

Fortnox timestamps are Stockholm local time (the docs give ``2019-03-10 12:30`` without a zone);
the store keeps UTC and converts at this edge.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import wraps
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CODE_UNAUTHORIZED = 2000311
CODE_BAD_STRUCTURE = 2002649
CODE_NOT_FOUND = 2000428
CODE_INVALID_FIELD = 2001740
CODE_DUPLICATE = 2000637
CODE_INVALID_VALUE = 2000588
CODE_RATE_LIMIT = 2000999
CODE_SERVER = 2000001


CODE_INVALID_FILTER = 2000587
CODE_UNKNOWN_FIELD = 2001399
CODE_CHARACTERS = 2000359
CODE_NO_ACCOUNT = 2001304
CODE_ROW_WITHOUT_TEXT = 2003977
CODE_VAT = 2000640  # stand-in: Fortnox answers "Kunde inte hitta moms" [3p], its code is not documented
# resource -> (message, code) of its 404
NOT_FOUND = {"article": ("Kan inte hitta artikeln.", 2000428), "customer": ("Kan inte hitta kunden.", 2000433),
             "invoice": ("Kan inte hitta fakturan.", 2000434), "order": ("Kan inte hitta ordern.", 2000439),
             "price": ("Kan inte hitta priset.", 2000430), "pricelist": ("Kan inte hitta prislistan.", 2000431)}


class Refusal(Exception):
    """A request Fortnox would refuse: becomes an ErrorInformation response (capitals for a 404)."""

    def __init__(self, status: int, message: str, code: int = CODE_INVALID_VALUE) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error(status: int, message: str, code: int) -> JSONResponse:
    keys = ("Error", "Message", "Code") if status == 404 else ("error", "message", "code")
    return JSONResponse({"ErrorInformation": dict(zip(keys, (1, message, code)))}, status_code=status)


def unauthorized() -> JSONResponse:
    return JSONResponse({"message": "unauthorized"}, status_code=401)


def not_found(resource: str) -> Refusal:
    message, code = NOT_FOUND[resource]
    return Refusal(404, message, code)


def handler(fn: Callable[..., Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """Turn a handler returning ``(status, body)`` or raising :class:`Refusal` into a route endpoint."""

    @wraps(fn)
    async def endpoint(request: Request) -> Response:
        try:
            status, body = await fn(request)
        except Refusal as refusal:
            return error(refusal.status, refusal.message, refusal.code)
        if body is None:
            return Response(status_code=status)
        return JSONResponse(jsonable(body), status_code=status)

    return endpoint


async def wrapped_body(request: Request, wrapper: str) -> dict:
    """The object inside ``{wrapper: {...}}``; anything else is Fortnox's "wrong data structure"."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or set(body) != {wrapper} or not isinstance(body[wrapper], dict):
        raise Refusal(400, "Felaktig datastruktur.", CODE_BAD_STRUCTURE)
    return body[wrapper]


def jsonable(value: Any) -> Any:
    """Numbers the way Fortnox writes them: ``100`` and ``6.25``, never ``100.0``."""
    if isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        number = Decimal(str(value))
        return int(number) if number == number.to_integral_value() else float(number)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def now_utc() -> str:
    """The store's ``modified`` column: sortable UTC text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def today_local() -> str:
    return datetime.now(STOCKHOLM).date().isoformat()


def parse_lastmodified(value: str) -> str:
    """``2019-03-10 12:30`` (or with seconds, or a bare date), Stockholm time -> store text just before it."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            local = datetime.strptime(value.strip(), fmt).replace(tzinfo=STOCKHOLM)
        except ValueError:
            continue
        return (local.astimezone(UTC) - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    raise Refusal(400, f"Ogiltigt värde för lastmodified: {value!r} (format 2019-03-10 12:30).")


def parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Refusal(400, f"Ogiltigt datum för {what}: {value!r}.") from None


def dec(value: Any, what: str = "value") -> Decimal:
    """Parse a number (or a numeric string, as Fortnox quantities are) without float arithmetic."""
    if isinstance(value, bool) or value is None:
        raise Refusal(400, f"Ogiltigt värde för {what}: {value!r}.")
    try:
        result = Decimal(str(value).strip().replace(",", "."))
    except ArithmeticError:
        raise Refusal(400, f"Ogiltigt värde för {what}: {value!r}.") from None
    if not result.is_finite():
        raise Refusal(400, f"Ogiltigt värde för {what}: {value!r}.")
    return result


def money(value: Decimal) -> float:
    """An amount rounded half-up to 2 decimals, as stored (a float carries the rounded value exactly
    enough: ``Decimal(str(x))`` gives it back) and answered (:func:`jsonable`: ``100``, not ``100.0``)."""
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

